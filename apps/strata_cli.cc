// strata: the command-line client and REPL.
//
//   strata repl (--data-dir DIR | --url http://HOST:PORT)
//   strata get KEY | put KEY VALUE | del KEY | scan [--start S] [--end E] [--limit N] | stats
//          (--data-dir DIR | --url URL; default --url http://127.0.0.1:8000)
//
// REPL commands (case-insensitive, TinyLSM's): SET key value, GET key, DELETE key,
// SCAN [start] [end] [limit], STATS, HELP, EXIT/QUIT. In SET the value is the rest of the line;
// keys and values may be double-quoted with \" \\ \n \t escapes ("a key" "two\nlines").
// Works with a pipe as stdin (no prompt then), so it is scriptable; exits non-zero if any command
// failed when stdin is not a terminal.
#include <boost/program_options.hpp>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "apps/cli_backend.h"

namespace po = boost::program_options;
using namespace strata;
using namespace strata::cli;

namespace {

constexpr const char* kHelp =
    "Commands (case-insensitive):\n"
    "  SET key value            store value (the rest of the line, or a \"quoted string\")\n"
    "  GET key                  print the value, or (nil)\n"
    "  DELETE key               remove the key\n"
    "  SCAN [start] [end] [limit]  list pairs with start <= key < end (default limit 100)\n"
    "  STATS                    print the database statistics\n"
    "  HELP                     this text\n"
    "  EXIT | QUIT              leave\n"
    "Quote keys or values with spaces: \"my key\"; escapes: \\\" \\\\ \\n \\t\n";

// Reads one token at `*pos` of `line`: a "quoted string" with escapes, or a run of non-spaces.
// Returns false (with *error) on an unterminated quote or unknown escape; skips leading spaces.
bool next_token(const std::string& line, size_t* pos, std::string* out, std::string* error) {
  size_t i = *pos;
  while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
  out->clear();
  if (i >= line.size()) {
    *pos = i;
    return false;
  }
  if (line[i] == '"') {
    ++i;
    for (;;) {
      if (i >= line.size()) {
        *error = "unterminated quoted string";
        return false;
      }
      char c = line[i++];
      if (c == '"') break;
      if (c == '\\') {
        if (i >= line.size()) {
          *error = "unterminated escape";
          return false;
        }
        char e = line[i++];
        switch (e) {
          case '"': out->push_back('"'); break;
          case '\\': out->push_back('\\'); break;
          case 'n': out->push_back('\n'); break;
          case 't': out->push_back('\t'); break;
          case 'r': out->push_back('\r'); break;
          case '0': out->push_back('\0'); break;
          default:
            *error = std::string("unknown escape \\") + e;
            return false;
        }
      } else {
        out->push_back(c);
      }
    }
  } else {
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) out->push_back(line[i++]);
  }
  *pos = i;
  return true;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool parse_size(const std::string& s, size_t* out) {
  if (s.empty() || s.size() > 18) return false;
  size_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  *out = v;
  return true;
}

void print_pairs(const std::vector<KeyValue>& rows) {
  for (const auto& kv : rows) {
    std::fwrite(kv.key.data(), 1, kv.key.size(), stdout);
    std::fputs(" = ", stdout);
    std::fwrite(kv.value.data(), 1, kv.value.size(), stdout);
    std::fputc('\n', stdout);
  }
  std::printf("(%zu item%s)\n", rows.size(), rows.size() == 1 ? "" : "s");
}

enum class Outcome { ok, failed, quit };

Outcome fail(const std::string& msg) {
  std::fprintf(stdout, "ERROR: %s\n", msg.c_str());
  return Outcome::failed;
}

// Runs one REPL line.
Outcome run_line(CliBackend& backend, const std::string& line) {
  size_t pos = 0;
  std::string word;
  std::string error;
  if (!next_token(line, &pos, &word, &error)) {
    if (!error.empty()) return fail(error);
    return Outcome::ok;  // blank line
  }
  std::string cmd = upper(word);
  if (cmd == "EXIT" || cmd == "QUIT") return Outcome::quit;
  if (cmd == "HELP") {
    std::fputs(kHelp, stdout);
    return Outcome::ok;
  }
  if (cmd == "SET" || cmd == "PUT") {
    std::string key;
    if (!next_token(line, &pos, &key, &error)) return fail(error.empty() ? "usage: SET key value" : error);
    // The value is the rest of the line after one separating space, or one quoted string.
    size_t v = pos;
    while (v < line.size() && (line[v] == ' ' || line[v] == '\t')) ++v;
    if (v >= line.size()) return fail("usage: SET key value");
    std::string value;
    if (line[v] == '"') {
      size_t p = v;
      if (!next_token(line, &p, &value, &error)) return fail(error);
      size_t rest = p;
      while (rest < line.size() && std::isspace(static_cast<unsigned char>(line[rest]))) ++rest;
      if (rest != line.size()) return fail("unexpected text after the quoted value");
    } else {
      value = line.substr(v);
    }
    auto r = backend.put(key, value);
    if (!r) return fail(r.error().message);
    std::puts("OK");
    return Outcome::ok;
  }
  if (cmd == "GET" || cmd == "DELETE" || cmd == "DEL") {
    std::string key;
    if (!next_token(line, &pos, &key, &error)) return fail(error.empty() ? "usage: " + cmd + " key" : error);
    std::string extra;
    if (next_token(line, &pos, &extra, &error)) return fail("usage: " + cmd + " key (quote keys with spaces)");
    if (cmd == "GET") {
      auto r = backend.get(key);
      if (!r) return fail(r.error().message);
      if (!*r) {
        std::puts("(nil)");
      } else {
        std::fwrite((*r)->data(), 1, (*r)->size(), stdout);
        std::fputc('\n', stdout);
      }
      return Outcome::ok;
    }
    auto r = backend.del(key);
    if (!r) return fail(r.error().message);
    std::puts("OK");
    return Outcome::ok;
  }
  if (cmd == "SCAN") {
    std::vector<std::string> args;
    std::string tok;
    while (next_token(line, &pos, &tok, &error)) args.push_back(tok);
    if (!error.empty()) return fail(error);
    if (args.size() > 3) return fail("usage: SCAN [start] [end] [limit]");
    size_t limit = 100;
    if (args.size() == 3 && !parse_size(args[2], &limit)) return fail("limit must be a number");
    auto r = backend.scan(args.size() > 0 ? args[0] : "", args.size() > 1 ? args[1] : "", limit);
    if (!r) return fail(r.error().message);
    print_pairs(*r);
    return Outcome::ok;
  }
  if (cmd == "STATS") {
    auto r = backend.stats();
    if (!r) return fail(r.error().message);
    std::puts(r->c_str());
    return Outcome::ok;
  }
  return fail("unknown command '" + word + "' (try HELP)");
}

int repl(CliBackend& backend) {
  bool tty = ::isatty(STDIN_FILENO);
  if (tty) std::puts("strata REPL. Type HELP for commands, EXIT to leave.");
  bool any_failed = false;
  std::string line;
  for (;;) {
    if (tty) {
      std::fputs("strata> ", stdout);
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    Outcome o = run_line(backend, line);
    std::fflush(stdout);
    if (o == Outcome::quit) break;
    if (o == Outcome::failed) any_failed = true;
  }
  return (!tty && any_failed) ? 1 : 0;
}

void usage() {
  std::fputs(
      "usage: strata <command> [args] (--url http://HOST:PORT | --data-dir DIR)\n"
      "commands:\n"
      "  repl                          interactive shell (HELP inside for its commands)\n"
      "  get KEY                       print the value (exit 1 if absent)\n"
      "  put KEY VALUE                 store a value\n"
      "  del KEY                       delete a key\n"
      "  scan [--start S] [--end E] [--limit N]\n"
      "  stats                         print statistics (JSON)\n"
      "options:\n"
      "  --url URL       a running strata-server (default http://127.0.0.1:8000)\n"
      "  --data-dir DIR  open the database in DIR in this process (the server must not run on it)\n",
      stderr);
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  std::string data_dir;
  std::string start;
  std::string end;
  size_t limit = 100;
  std::vector<std::string> args;
  po::options_description desc;
  desc.add_options()("help,h", "")("version", "")("url", po::value(&url), "")("data-dir", po::value(&data_dir), "")(
      "start", po::value(&start), "")("end", po::value(&end), "")("limit", po::value(&limit), "")(
      "args", po::value(&args), "");
  po::positional_options_description pos;
  pos.add("args", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "strata: %s\n", e.what());
    usage();
    return 2;
  }
  if (vm.count("version")) {
    std::puts("strata 0.1.0");
    return 0;
  }
  if (vm.count("help") || args.empty()) {
    usage();
    return vm.count("help") ? 0 : 2;
  }
  if (!url.empty() && !data_dir.empty()) {
    std::fprintf(stderr, "strata: give either --url or --data-dir, not both\n");
    return 2;
  }
  std::string cmd = args[0];
  size_t want = 0;
  if (cmd == "repl" || cmd == "stats" || cmd == "scan") want = 1;
  else if (cmd == "get" || cmd == "del" || cmd == "delete") want = 2;
  else if (cmd == "put" || cmd == "set") want = 3;
  else {
    std::fprintf(stderr, "strata: unknown command '%s'\n", cmd.c_str());
    usage();
    return 2;
  }
  if (args.size() != want) {
    std::fprintf(stderr, "strata: %s expects %zu argument(s)\n", cmd.c_str(), want - 1);
    usage();
    return 2;
  }

  auto opened = data_dir.empty() ? open_http(url.empty() ? "http://127.0.0.1:8000" : url) : open_embedded(data_dir);
  if (!opened) {
    std::fprintf(stderr, "strata: %s\n", opened.error().message.c_str());
    return 1;
  }
  CliBackend& backend = **opened;
  int rc = 0;
  auto report = [&rc](const CliError& e) {
    std::fprintf(stderr, "strata: %s\n", e.message.c_str());
    rc = 1;
  };
  if (cmd == "repl") {
    rc = repl(backend);
  } else if (cmd == "get") {
    auto r = backend.get(args[1]);
    if (!r) {
      report(r.error());
    } else if (!*r) {
      std::fprintf(stderr, "strata: key not found\n");
      rc = 1;
    } else {
      std::fwrite((*r)->data(), 1, (*r)->size(), stdout);
      if ((*r)->empty() || (*r)->back() != '\n') std::fputc('\n', stdout);
    }
  } else if (cmd == "put" || cmd == "set") {
    auto r = backend.put(args[1], args[2]);
    if (!r) report(r.error());
  } else if (cmd == "del" || cmd == "delete") {
    auto r = backend.del(args[1]);
    if (!r) report(r.error());
  } else if (cmd == "scan") {
    auto r = backend.scan(start, end, limit);
    if (!r) report(r.error());
    else print_pairs(*r);
  } else if (cmd == "stats") {
    auto r = backend.stats();
    if (!r) report(r.error());
    else std::puts(r->c_str());
  }
  auto closed = backend.close();
  if (!closed) report(closed.error());
  return rc;
}
