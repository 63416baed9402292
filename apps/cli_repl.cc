#include "apps/cli_repl.h"

#include <editline/readline.h>
#include <unistd.h>

#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "apps/cli_output.h"
#include "lib/util/key_prefix.h"

namespace strata::cli {

namespace {

constexpr const char* kHelp =
    "Commands (case-insensitive):\n"
    "  SET key value               store value (the rest of the line, or a \"quoted string\")\n"
    "  GET key [AT seq]            print the value (as of sequence number seq), or (nil)\n"
    "  DELETE key                  remove the key\n"
    "  SCAN [start] [end] [limit] [REVERSE]\n"
    "                              list pairs with start <= key < end (default limit 100);\n"
    "                              REVERSE lists them from the last key down\n"
    "  RSCAN [start] [end] [limit] SCAN ... REVERSE\n"
    "  KEYS [prefix] [limit]       list the keys that start with prefix (default limit 100)\n"
    "  STATS                       levels, amplification, caches, bloom filters, compactions\n"
    "  TRACE key [AT seq]          where a lookup of key went (memtables, SSTables, bloom, cache)\n"
    "  CONFIG                      list the options and their values\n"
    "  CONFIG SET name value       change a runtime-mutable option (not persisted)\n"
    "  FLUSH                       write the memtables to SSTables\n"
    "  COMPACT [start end]         compact the key range [start, end] (default: everything)\n"
    "  HELP                        this text\n"
    "  CLEAR                       clear the screen\n"
    "  EXIT | QUIT                 leave\n"
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
          default: *error = std::string("unknown escape \\") + e; return false;
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

bool parse_u64(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// Splits "key [AT seq]" (GET, TRACE). False with *error on bad syntax.
bool key_and_sequence(const std::vector<std::string>& args, std::optional<uint64_t>* seq, std::string* error) {
  if (args.size() == 1) return true;
  if (args.size() == 3 && upper(args[1]) == "AT") {
    uint64_t v = 0;
    if (!parse_u64(args[2], &v)) {
      *error = "AT needs a sequence number";
      return false;
    }
    *seq = v;
    return true;
  }
  *error = "expected: key [AT seq] (quote keys with spaces)";
  return false;
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
  // The remaining tokens of the line.
  std::vector<std::string> args;
  {
    std::string tok;
    while (next_token(line, &pos, &tok, &error)) args.push_back(tok);
    if (!error.empty()) return fail(error);
  }
  if (cmd == "GET") {
    std::optional<uint64_t> seq;
    if (args.empty()) return fail("usage: GET key [AT seq]");
    if (!key_and_sequence(args, &seq, &error)) return fail("usage: GET key [AT seq]: " + error);
    auto r = seq ? backend.get_at(args[0], *seq) : backend.get(args[0]);
    if (!r) return fail(r.error().message);
    if (!*r) {
      std::puts("(nil)");
    } else {
      put_bytes(**r);
      std::fputc('\n', stdout);
    }
    return Outcome::ok;
  }
  if (cmd == "DELETE" || cmd == "DEL") {
    if (args.size() != 1) return fail("usage: " + cmd + " key (quote keys with spaces)");
    auto r = backend.del(args[0]);
    if (!r) return fail(r.error().message);
    std::puts("OK");
    return Outcome::ok;
  }
  if (cmd == "SCAN" || cmd == "RSCAN") {
    bool reverse = cmd == "RSCAN";
    if (!reverse && !args.empty() && upper(args.back()) == "REVERSE") {
      reverse = true;
      args.pop_back();
    }
    if (args.size() > 3) return fail("usage: SCAN [start] [end] [limit] [REVERSE]");
    size_t limit = 100;
    if (args.size() == 3 && !parse_size(args[2], &limit)) return fail("limit must be a number");
    // One row past the limit tells whether the range holds more (limit 0: all of it).
    auto r = backend.scan(args.size() > 0 ? args[0] : "", args.size() > 1 ? args[1] : "", limit == 0 ? 0 : limit + 1,
                          reverse);
    if (!r) return fail(r.error().message);
    bool more = limit != 0 && r->size() > limit;
    if (more) r->resize(limit);
    print_pairs(*r, more);
    return Outcome::ok;
  }
  if (cmd == "KEYS") {
    if (args.size() > 2) return fail("usage: KEYS [prefix] [limit]");
    size_t limit = 100;
    if (args.size() == 2 && !parse_size(args[1], &limit)) return fail("limit must be a number");
    const std::string prefix = args.empty() ? "" : args[0];
    auto r = backend.scan(prefix, prefix_successor(prefix), limit == 0 ? 0 : limit + 1, false);
    if (!r) return fail(r.error().message);
    const bool more = limit != 0 && r->size() > limit;
    if (more) r->resize(limit);
    for (const auto& kv : *r) {
      put_bytes(kv.key);
      std::fputc('\n', stdout);
    }
    std::printf("(%zu key%s%s)\n", r->size(), r->size() == 1 ? "" : "s",
                more ? "; more keys match: raise the limit" : "");
    return Outcome::ok;
  }
  if (cmd == "CLEAR") {
    if (!args.empty()) return fail("usage: CLEAR");
    // On a terminal: cursor home, erase the screen. Into a pipe: nothing (no escape bytes).
    if (::isatty(STDOUT_FILENO) != 0) std::fputs("\x1b[H\x1b[2J", stdout);
    return Outcome::ok;
  }
  if (cmd == "STATS") {
    if (!args.empty()) return fail("usage: STATS");
    auto r = backend.stats();
    if (!r) return fail(r.error().message);
    print_stats(*r);
    return Outcome::ok;
  }
  if (cmd == "TRACE") {
    std::optional<uint64_t> seq;
    if (args.empty()) return fail("usage: TRACE key [AT seq]");
    if (!key_and_sequence(args, &seq, &error)) return fail("usage: TRACE key [AT seq]: " + error);
    auto r = backend.trace(args[0], seq);
    if (!r) return fail(r.error().message);
    print_trace(*r);
    return Outcome::ok;
  }
  if (cmd == "CONFIG") {
    if (args.empty()) {
      auto r = backend.options();
      if (!r) return fail(r.error().message);
      print_options(*r);
      return Outcome::ok;
    }
    if (upper(args[0]) != "SET" || args.size() != 3) return fail("usage: CONFIG | CONFIG SET name value");
    auto r = backend.set_option(args[1], args[2]);
    if (!r) return fail(r.error().message);
    for (const auto& o : *r) {
      if (o.name == args[1]) {
        std::printf("OK %s = %s (until the DB is reopened: runtime changes are not persisted)\n", o.name.c_str(),
                    o.value.c_str());
      }
    }
    return Outcome::ok;
  }
  if (cmd == "FLUSH") {
    if (!args.empty()) return fail("usage: FLUSH");
    auto r = backend.flush();
    if (!r) return fail(r.error().message);
    std::puts("OK");
    return Outcome::ok;
  }
  if (cmd == "COMPACT") {
    if (args.size() != 0 && args.size() != 2) return fail("usage: COMPACT [start end]");
    if (args.size() == 2 && !args[0].empty() && !args[1].empty() && args[0] > args[1]) {
      return fail("COMPACT: start must not be greater than end");
    }
    auto r = backend.compact(args.empty() ? "" : args[0], args.empty() ? "" : args[1]);
    if (!r) return fail(r.error().message);
    std::puts("OK");
    return Outcome::ok;
  }
  return fail("unknown command '" + word + "' (try HELP)");
}

// The REPL's commands, for Tab completion of a line's first word.
constexpr const char* kCommands[] = {"SET",   "PUT",    "GET",   "DELETE",  "DEL",  "SCAN",  "RSCAN", "KEYS", "STATS",
                                     "TRACE", "CONFIG", "FLUSH", "COMPACT", "HELP", "CLEAR", "EXIT",  "QUIT"};

// libedit's generator: the commands that start with `text` (case-insensitive), one per call.
char* command_generator(const char* text, int state) {
  static size_t next;
  if (state == 0) next = 0;
  const std::string prefix = upper(text);
  while (next < std::size(kCommands)) {
    const char* c = kCommands[next++];
    if (std::string_view(c).starts_with(prefix)) return ::strdup(c);
  }
  return nullptr;
}

char** complete_command(const char* text, int start, int /*end*/) {
  if (start != 0) return nullptr;  // only the command word; keys are not completed
  return rl_completion_matches(text, command_generator);
}

// ~/.strata_history ("" without $HOME).
std::string history_path() {
  const char* home = std::getenv("HOME");
  return home != nullptr && *home != '\0' ? std::string(home) + "/.strata_history" : std::string();
}

// On a terminal: libedit (line editing, the arrow keys, history kept in ~/.strata_history, Tab
// completion of commands) with the target in the prompt. From a pipe: plain lines, no prompt.
}  // namespace

int repl(CliBackend& backend, const std::string& target) {
  bool tty = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
  const std::string prompt = "strata " + target + "> ";
  const std::string history = history_path();
  if (tty) {
    std::puts("strata REPL. Type HELP for commands, EXIT to leave; Tab completes a command.");
    rl_readline_name = "strata";
    rl_attempted_completion_function = complete_command;
    stifle_history(1000);
    if (!history.empty()) read_history(history.c_str());
  }
  bool any_failed = false;
  std::string line;
  for (;;) {
    if (tty) {
      char* read = readline(prompt.c_str());
      if (read == nullptr) break;  // Ctrl-D
      line = read;
      std::free(read);
      if (line.find_first_not_of(" \t") != std::string::npos) {
        add_history(line.c_str());
        if (!history.empty()) write_history(history.c_str());
      }
    } else if (!std::getline(std::cin, line)) {
      break;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    Outcome o = run_line(backend, line);
    std::fflush(stdout);
    if (o == Outcome::quit) break;
    if (o == Outcome::failed) any_failed = true;
  }
  return (!tty && any_failed) ? 1 : 0;
}

}  // namespace strata::cli
