// strata: the command-line client and REPL.
//
//   strata repl (--data-dir DIR | --url http://HOST:PORT)
//   strata get KEY [--at SEQ] | put KEY VALUE | del KEY
//          | scan [--start S] [--end E] [--limit N] [--reverse]
//          | stats | trace KEY [--at SEQ] | config | config set NAME VALUE | flush
//          | compact [--start S] [--end E] | checkpoint TARGET | restore CHECKPOINT
//          | import FILE [--batch-bytes N]   (JSON lines {"key","value"}; .zst read as zstd)
//          (--data-dir DIR | --url URL; default --url http://127.0.0.1:8000)
//
// REPL commands (case-insensitive, TinyLSM's plus the admin ones): SET key value, GET key
// [AT seq], DELETE key, SCAN [start] [end] [limit] [REVERSE], RSCAN [start] [end] [limit], STATS,
// TRACE key [AT seq], CONFIG, CONFIG SET name value, FLUSH, COMPACT [start end], HELP,
// EXIT/QUIT. In SET the value is the rest of the line; keys and values may be double-quoted with
// \" \\ \n \t escapes ("a key" "two\nlines").
// Works with a pipe as stdin (no prompt then), so it is scriptable; exits non-zero if any command
// failed when stdin is not a terminal.
#include <editline/readline.h>

#include <boost/json/serialize.hpp>
#include <boost/program_options.hpp>
#include <unistd.h>

#include <cctype>
#include <cinttypes>
#include <filesystem>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "apps/cli_backend.h"
#include "apps/cli_import.h"
#include "lib/util/logging.h"
#include "net/http/json_codec.h"

namespace po = boost::program_options;
using namespace strata;
using namespace strata::cli;

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
    "  STATS                       levels, amplification, caches, bloom filters, compactions\n"
    "  TRACE key [AT seq]          where a lookup of key went (memtables, SSTables, bloom, cache)\n"
    "  CONFIG                      list the options and their values\n"
    "  CONFIG SET name value       change a runtime-mutable option (not persisted)\n"
    "  FLUSH                       write the memtables to SSTables\n"
    "  COMPACT [start end]         compact the key range [start, end] (default: everything)\n"
    "  HELP                        this text\n"
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

// `more`: the range holds more rows than the limit let through.
// Writes a key or value to stdout: byte for byte into a pipe or file (scripts get exact bytes);
// on a terminal, control bytes other than newline and tab as \xNN, so that a stored escape
// sequence cannot drive the terminal.
void put_bytes(std::string_view bytes) {
  static const bool tty = ::isatty(STDOUT_FILENO) != 0;
  if (!tty) {
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    return;
  }
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f) {
      std::printf("\\x%02x", u);
    } else {
      std::fputc(c, stdout);
    }
  }
}

void print_pairs(const std::vector<KeyValue>& rows, bool more = false) {
  for (const auto& kv : rows) {
    put_bytes(kv.key);
    std::fputs(" = ", stdout);
    put_bytes(kv.value);
    std::fputc('\n', stdout);
  }
  std::printf("(%zu item%s%s)\n", rows.size(), rows.size() == 1 ? "" : "s",
              more ? "; the range holds more: raise the limit, or scan on from past the last key" : "");
}

// "1.5 KiB" etc. (binary units).
std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%" PRIu64 " B", n);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  }
  return buf;
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", fraction * 100);
  return buf;
}

// Bytes as they print: printable ASCII as is, anything else as \xNN, quoted.
std::string escaped(std::string_view bytes) {
  std::string out = "\"";
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u >= 0x20 && u < 0x7f) {
      out.push_back(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  out.push_back('"');
  return out;
}

void print_stats(const DbStats& s) {
  std::printf("Contents\n");
  std::printf("  last_sequence         %" PRIu64 "\n", s.last_sequence);
  std::printf("  memtable              %" PRIu64 " keys, %s (memtable_keys, memtable_size_bytes); immutable: %" PRIu64
              "\n",
              s.memtable_keys, human_bytes(s.memtable_size_bytes).c_str(), s.immutable_memtables);
  std::printf("  sstables              %" PRIu64 " files, %s (sstable_count, total_size_bytes)\n", s.sstable_count,
              human_bytes(s.total_sstable_size_bytes).c_str());
  std::printf("Levels\n");
  std::printf("  %-5s %7s %12s %12s %7s\n", "level", "files", "size", "target", "score");
  for (const auto& l : s.levels) {
    std::string target = l.level == 0 ? "-" : human_bytes(l.target_bytes);
    std::printf("  L%-4d %7" PRIu64 " %12s %12s %7.2f\n", l.level, l.file_count, human_bytes(l.size_bytes).c_str(),
                target.c_str(), l.compaction_score);
  }
  std::printf("Amplification\n");
  std::printf("  write                 %.2f  (%s written to disk / %s by the user)\n", s.write_amplification(),
              human_bytes(s.bytes_written_disk()).c_str(), human_bytes(s.bytes_written_user).c_str());
  std::printf("  read                  %.2f  (SSTables consulted per get)\n", s.read_amplification());
  std::printf("  space                 %.2f  (SSTable bytes / deepest level's bytes)\n", s.space_amplification());
  std::printf("Traffic\n");
  std::printf("  puts %" PRIu64 ", deletes %" PRIu64 ", gets %" PRIu64 ", scans %" PRIu64 "\n", s.puts, s.deletes,
              s.gets, s.scans);
  std::printf("  written: WAL %s, flush %s, compaction %s; WAL syncs %" PRIu64 ", write groups %" PRIu64 "\n",
              human_bytes(s.bytes_written_wal).c_str(), human_bytes(s.bytes_written_flush).c_str(),
              human_bytes(s.bytes_written_compaction).c_str(), s.wal_syncs, s.write_groups);
  std::printf("Caches and filters\n");
  std::printf("  block cache           hit rate %s (%" PRIu64 " hits, %" PRIu64 " misses), %s of %s\n",
              percent(s.block_cache_hit_rate()).c_str(), s.block_cache_hits, s.block_cache_misses,
              human_bytes(s.block_cache_usage_bytes).c_str(), human_bytes(s.block_cache_capacity_bytes).c_str());
  std::printf("  table cache           hit rate %s (%" PRIu64 " hits, %" PRIu64 " misses), %" PRIu64 " open tables\n",
              percent(s.table_cache_hit_rate()).c_str(), s.table_cache_hits, s.table_cache_misses, s.open_tables);
  std::printf("  bloom filters         negative rate %s (%" PRIu64 " of %" PRIu64 " checks ruled the table out)\n",
              percent(s.bloom_negative_rate()).c_str(), s.bloom_negatives, s.bloom_checks);
  std::printf("  blocks read           %" PRIu64 " (%s)\n", s.block_reads, human_bytes(s.block_read_bytes).c_str());
  std::printf("Background work\n");
  std::printf("  flushes               %" PRIu64 "\n", s.flushes);
  std::printf("  compactions           %" PRIu64 " (+%" PRIu64
              " trivial moves), read %s, written %s, %.3f s, "
              "%" PRIu64 " entries dropped, %" PRIu64 " running\n",
              s.compactions, s.trivial_moves, human_bytes(s.bytes_read_compaction).c_str(),
              human_bytes(s.bytes_written_compaction).c_str(), static_cast<double>(s.compaction_micros) / 1e6,
              s.compaction_dropped_entries, s.running_compactions);
  std::printf("  write stalls          %.3f s\n", static_cast<double>(s.stall_micros) / 1e6);
  std::printf("sync policy %s; %s\n", s.sync_policy.c_str(),
              s.read_only ? ("READ-ONLY: " + s.read_only_reason).c_str() : "writable");
}

void print_trace(const LookupTrace& t) {
  std::printf("TRACE %s at sequence %" PRIu64 " (%" PRIu64 " us)\n", escaped(t.key).c_str(), t.read_sequence, t.micros);
  int i = 0;
  for (const auto& st : t.steps) {
    std::string detail;
    if (st.bloom_checked) detail += "bloom checked";
    if (st.level >= 0 && st.outcome != "bloom_negative") {
      if (!detail.empty()) detail += ", ";
      detail += std::to_string(st.block_cache_hits) + " cache hit(s), " + std::to_string(st.blocks_read) +
                " block(s) read (" + human_bytes(st.bytes_read) + ")";
    }
    std::printf("  %2d. %-24s %-15s %s\n", ++i, st.source.c_str(), st.outcome.c_str(), detail.c_str());
  }
  if (t.found && t.value) {
    std::printf("result: found %s", escaped(*t.value).c_str());
    if (t.found_sequence) std::printf(" (sequence %" PRIu64 ")", *t.found_sequence);
    std::printf("\n");
  } else {
    std::printf("result: not found\n");
  }
  std::printf("%" PRIu64 " SSTable(s) consulted, %" PRIu64 " bloom negative(s), %" PRIu64
              " block cache hit(s), %" PRIu64 " block(s) read\n",
              t.sstables_consulted(), t.bloom_negatives(), t.block_cache_hits(), t.blocks_read());
}

void print_options(const std::vector<OptionInfo>& options) {
  std::printf("%-32s %-20s %s\n", "name", "value", "mutable");
  for (const auto& o : options) {
    std::printf("%-32s %-20s %s\n", o.name.c_str(), o.value.c_str(), o.mutable_at_runtime ? "yes" : "no");
  }
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
constexpr const char* kCommands[] = {"SET",   "PUT",    "GET",   "DELETE",  "DEL",  "SCAN", "RSCAN", "STATS",
                                     "TRACE", "CONFIG", "FLUSH", "COMPACT", "HELP", "EXIT", "QUIT"};

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

// strata restore CHECKPOINT --data-dir DIR: copies a checkpoint (strata checkpoint, or a
// server's --backup-dir/NAME) into DIR, which must not exist or be empty, then opens it to check
// that it is a whole DB. Returns the exit status.
int restore(const std::string& checkpoint, const std::string& data_dir) {
  namespace fs = std::filesystem;
  if (data_dir.empty()) {
    std::fprintf(stderr, "strata: restore needs --data-dir DIR (the new database directory)\n");
    return 2;
  }
  std::error_code ec;
  if (!fs::exists(fs::path(checkpoint) / "CURRENT", ec)) {
    std::fprintf(stderr, "strata: %s is not a checkpoint (no CURRENT file)\n", checkpoint.c_str());
    return 1;
  }
  if (fs::exists(data_dir, ec) && !fs::is_empty(data_dir, ec)) {
    std::fprintf(stderr, "strata: %s is not empty; restore into a new directory\n", data_dir.c_str());
    return 1;
  }
  fs::create_directories(data_dir, ec);
  if (!ec) fs::copy(checkpoint, data_dir, fs::copy_options::recursive, ec);
  if (ec) {
    std::fprintf(stderr, "strata: cannot copy %s to %s: %s\n", checkpoint.c_str(), data_dir.c_str(),
                 ec.message().c_str());
    return 1;
  }
  auto opened = open_embedded(data_dir, /*create=*/false);
  if (!opened) {
    std::fprintf(stderr, "strata: the copy in %s does not open: %s\n", data_dir.c_str(),
                 opened.error().message.c_str());
    return 1;
  }
  auto closed = (*opened)->close();
  if (!closed) {
    std::fprintf(stderr, "strata: %s\n", closed.error().message.c_str());
    return 1;
  }
  std::printf("restored %s into %s\n", checkpoint.c_str(), data_dir.c_str());
  return 0;
}

// The help text: on stdout for --help (it was asked for), on stderr after a usage error.
void usage(FILE* to = stderr) {
  std::fputs(
      "usage: strata <command> [args] (--url http[s]://HOST:PORT | --data-dir DIR)\n"
      "commands:\n"
      "  repl                          interactive shell (HELP inside for its commands)\n"
      "  get KEY [--at SEQ]            print the value (exit 1 if absent)\n"
      "  put KEY VALUE                 store a value (VALUE - : read it from standard input)\n"
      "  del KEY                       delete a key\n"
      "  scan [--start S] [--end E] [--limit N] [--reverse]\n"
      "  stats                         print statistics\n"
      "  trace KEY [--at SEQ]          where a lookup of KEY went\n"
      "  config                        list the options\n"
      "  config set NAME VALUE         change a runtime-mutable option\n"
      "  flush                         write the memtables to SSTables\n"
      "  compact [--start S] [--end E] compact a key range (default: everything)\n"
      "  checkpoint TARGET             a consistent copy: with --data-dir, into the new directory\n"
      "                                TARGET; with --url, named TARGET in the server's --backup-dir\n"
      "  restore CHECKPOINT            copy a checkpoint into --data-dir DIR (new) and check it opens\n"
      "  import FILE [--batch-bytes N] load JSON lines {\"key\": K, \"value\": V} (\"encoding\":\"base64\"\n"
      "                                for bytes) from FILE (- : standard input; .zst: zstd) in atomic\n"
      "                                batches of N bytes (default 1 MiB); stops at the first bad line\n"
      "options:\n"
      "  --url URL       a running strata-server (default: $STRATA_URL, else http://127.0.0.1:8000)\n"
      "  --cacert FILE   https: the PEM CA the server's certificate must chain to (default: the system's)\n"
      "  --cert FILE     https: a PEM client certificate (for a server with --client-cert-auth)\n"
      "  --key FILE      https: the PEM private key of --cert\n"
      "  -v, --verbose   also print the engine's informational log lines (to stderr)\n"
      "  -o, --output text|json  one-shot commands: json prints one JSON object (the HTTP API's\n"
      "                  shapes: get {key,value}, scan {count,items,more}, stats, trace, config;\n"
      "                  others {\"ok\":true}); errors stay text on stderr with exit 1\n"
      "  --data-dir DIR  open the database in DIR in this process (the server must not run on it)\n",
      to);
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  cli::TlsClientOptions tls;
  std::string data_dir;
  std::string start;
  std::string end;
  size_t limit = 100;
  size_t batch_bytes = cli::ImportOptions{}.batch_bytes;
  uint64_t at = 0;
  std::string output = "text";
  std::vector<std::string> args;
  po::options_description desc;
  desc.add_options()("help,h", "")("version", "")("url", po::value(&url), "")("data-dir", po::value(&data_dir), "")(
      "cacert", po::value(&tls.ca_file), "")("cert", po::value(&tls.cert_file), "")(
      "key", po::value(&tls.key_file), "")("verbose,v", "")("start", po::value(&start), "")("end", po::value(&end), "")(
      "limit", po::value(&limit), "")("at", po::value(&at), "")("reverse", "")(
      "batch-bytes", po::value(&batch_bytes), "")("output,o", po::value(&output), "")("args", po::value(&args), "");
  po::positional_options_description pos;
  pos.add("args", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv)
                  .options(desc)
                  .positional(pos)
                  .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
                  .run(),
              vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "strata: %s\n", e.what());
    usage();
    return 2;
  }
  // The engine's informational lines (an embedded DB opening) are noise for a one-shot command:
  // warnings and errors only, unless --verbose.
  set_log_level(vm.count("verbose") ? LogLevel::info : LogLevel::warn);
  if (vm.count("version")) {
    std::puts("strata 0.1.0");
    return 0;
  }
  if (vm.count("help")) {
    usage(stdout);
    return 0;
  }
  if (args.empty()) {
    usage();
    return 2;
  }
  if (!url.empty() && !data_dir.empty()) {
    std::fprintf(stderr, "strata: give either --url or --data-dir, not both\n");
    return 2;
  }
  std::string cmd = args[0];
  bool arity_ok = false;
  if (cmd == "repl" || cmd == "stats" || cmd == "scan" || cmd == "flush" || cmd == "compact") {
    arity_ok = args.size() == 1;
  } else if (cmd == "get" || cmd == "del" || cmd == "delete" || cmd == "trace" || cmd == "checkpoint" ||
             cmd == "restore" || cmd == "import") {
    arity_ok = args.size() == 2;
  } else if (cmd == "put" || cmd == "set") {
    arity_ok = args.size() == 3;
  } else if (cmd == "config") {
    arity_ok = args.size() == 1 || (args.size() == 4 && args[1] == "set");
  } else {
    std::fprintf(stderr, "strata: unknown command '%s'\n", cmd.c_str());
    usage();
    return 2;
  }
  if (!arity_ok) {
    std::fprintf(stderr, "strata: wrong number of arguments for %s\n", cmd.c_str());
    usage();
    return 2;
  }
  if (vm.count("batch-bytes") && (cmd != "import" || batch_bytes == 0)) {
    std::fprintf(stderr, "strata: --batch-bytes is a positive byte count for import only\n");
    return 2;
  }
  std::optional<uint64_t> seq;
  if (vm.count("at")) seq = at;
  if (output != "text" && output != "json") {
    std::fprintf(stderr, "strata: --output expects text or json, got '%s'\n", output.c_str());
    return 2;
  }
  const bool as_json = output == "json";
  if (as_json && (cmd == "repl" || cmd == "restore")) {
    std::fprintf(stderr, "strata: -o json is for the one-shot commands, not %s\n", cmd.c_str());
    return 2;
  }
  auto emit = [](const boost::json::object& o) { std::puts(boost::json::serialize(o).c_str()); };
  auto done = [&](bool ok) {
    if (ok && as_json) emit(boost::json::object{{"ok", true}});
  };

  if (!data_dir.empty() && (!tls.ca_file.empty() || !tls.cert_file.empty() || !tls.key_file.empty())) {
    std::fprintf(stderr, "strata: --cacert, --cert and --key are for --url https://..., not --data-dir\n");
    return 2;
  }
  if (cmd == "restore") return restore(args[1], data_dir);
  // Only commands that may write create an embedded DB: `strata get --data-dir <typo>` must not.
  const bool may_write = cmd == "repl" || cmd == "put" || cmd == "set" || cmd == "del" || cmd == "delete" ||
                         cmd == "flush" || cmd == "compact" || cmd == "import" || (cmd == "config" && args.size() == 4);
  // --url, else $STRATA_URL, else the local default.
  if (url.empty()) {
    const char* from_env = std::getenv("STRATA_URL");
    url = from_env != nullptr && *from_env != '\0' ? from_env : "http://127.0.0.1:8000";
  }
  auto opened = data_dir.empty() ? open_http(url, tls) : open_embedded(data_dir, may_write);
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
    rc = repl(backend, data_dir.empty() ? url : data_dir);
  } else if (cmd == "get") {
    auto r = seq ? backend.get_at(args[1], *seq) : backend.get(args[1]);
    if (!r) {
      report(r.error());
    } else if (as_json) {
      // Absent: {"key": ..., "value": null} and exit 1, as the text form's exit status.
      boost::json::object o;
      net::http::put_key_value(o, args[1], *r, false);
      emit(o);
      if (!*r) rc = 1;
    } else if (!*r) {
      std::fprintf(stderr, "strata: key not found\n");
      rc = 1;
    } else {
      std::fwrite((*r)->data(), 1, (*r)->size(), stdout);
      if ((*r)->empty() || (*r)->back() != '\n') std::fputc('\n', stdout);
    }
  } else if (cmd == "put" || cmd == "set") {
    // "-": the value is standard input, byte for byte (binary values, large files).
    std::string value = args[2];
    if (value == "-") {
      value.clear();
      char buf[65536];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) value.append(buf, n);
      if (std::ferror(stdin)) {
        std::fprintf(stderr, "strata: cannot read the value from standard input\n");
        return 1;
      }
    }
    auto r = backend.put(args[1], value);
    if (!r) report(r.error());
    done(r.has_value());
  } else if (cmd == "del" || cmd == "delete") {
    auto r = backend.del(args[1]);
    if (!r) report(r.error());
    done(r.has_value());
  } else if (cmd == "scan") {
    // One row past the limit tells whether the range holds more (limit 0: all of it).
    auto r = backend.scan(start, end, limit == 0 ? 0 : limit + 1, vm.count("reverse") > 0);
    bool more = r && limit != 0 && r->size() > limit;
    if (more) r->resize(limit);
    if (!r) {
      report(r.error());
    } else if (as_json) {
      boost::json::array items;
      for (const auto& kv : *r) {
        boost::json::object item;
        net::http::put_key_value(item, kv.key, kv.value, false);
        items.push_back(std::move(item));
      }
      emit(boost::json::object{{"count", items.size()}, {"items", std::move(items)}, {"more", more}});
    } else {
      print_pairs(*r, more);
    }
  } else if (cmd == "stats") {
    auto r = backend.stats();
    if (!r)
      report(r.error());
    else if (as_json)
      emit(net::http::stats_to_json(*r));
    else
      print_stats(*r);
  } else if (cmd == "trace") {
    auto r = backend.trace(args[1], seq);
    if (!r)
      report(r.error());
    else if (as_json)
      emit(net::http::trace_to_json(*r));
    else
      print_trace(*r);
  } else if (cmd == "config") {
    auto r = args.size() == 1 ? backend.options() : backend.set_option(args[2], args[3]);
    if (!r)
      report(r.error());
    else if (as_json)
      emit(net::http::options_to_json(*r));
    else
      print_options(*r);
  } else if (cmd == "flush") {
    auto r = backend.flush();
    if (!r) report(r.error());
    done(r.has_value());
  } else if (cmd == "compact") {
    auto r = backend.compact(start, end);
    if (!r) report(r.error());
    done(r.has_value());
  } else if (cmd == "import") {
    cli::ImportOptions io{.batch_bytes = batch_bytes, .progress = !as_json && ::isatty(STDERR_FILENO) == 1};
    cli::ImportReport ir;
    auto r = cli::import_jsonl(backend, args[1], io, &ir);
    if (!r) {
      report(CliError{r.error().message + " (" + std::to_string(ir.records) + " records imported before it)"});
    } else if (as_json) {
      emit(boost::json::object{
          {"ok", true}, {"records", ir.records}, {"bytes", ir.bytes}, {"lines", ir.lines}, {"seconds", ir.seconds}});
    } else {
      std::printf("imported %" PRIu64 " records (%" PRIu64 " bytes of keys and values) in %.1f s\n", ir.records,
                  ir.bytes, ir.seconds);
    }
  } else if (cmd == "checkpoint") {
    auto r = backend.checkpoint(args[1]);
    if (!r)
      report(r.error());
    else if (as_json)
      emit(boost::json::object{{"ok", true}, {"checkpoint", *r}});
    else
      std::printf("checkpoint: %s\n", r->c_str());
  }
  auto closed = backend.close();
  if (!closed) report(closed.error());
  return rc;
}
