// strata: the command-line client and REPL.
//
//   strata repl (--data-dir DIR | --url http://HOST:PORT)
//   strata get KEY [--at SEQ] | put KEY VALUE | del KEY
//          | scan [--start S] [--end E] [--limit N] [--reverse]
//          | stats | trace KEY [--at SEQ] | config | config set NAME VALUE | flush
//          | compact [--start S] [--end E] | checkpoint TARGET | restore CHECKPOINT
//          | import FILE [--batch-bytes N]   (JSON lines {"key","value"}; .zst read as zstd)
//          | export FILE [--raw]               (the same JSON lines; a cluster checkpoint's user keys)
//          (--data-dir DIR | --url URL; default --url http://127.0.0.1:8000)
//
// REPL commands (case-insensitive, TinyLSM's plus the admin ones): SET key value, GET key
// [AT seq], DELETE key, SCAN [start] [end] [limit] [REVERSE], RSCAN [start] [end] [limit],
// KEYS [prefix] [limit], STATS, TRACE key [AT seq], CONFIG, CONFIG SET name value, FLUSH,
// COMPACT [start end], HELP, CLEAR, EXIT/QUIT (apps/cli_repl.cc). In SET the value is the rest of the line; keys and
// values may be double-quoted with
// \" \\ \n \t escapes ("a key" "two\nlines").
// Works with a pipe as stdin (no prompt then), so it is scriptable; exits non-zero if any command
// failed when stdin is not a terminal.
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
#include "apps/cli_export.h"
#include "apps/cli_import.h"
#include "apps/cli_output.h"
#include "apps/cli_repl.h"
#include "lib/util/logging.h"
#include "net/http/json_codec.h"

namespace po = boost::program_options;
using namespace strata;
using namespace strata::cli;

namespace {

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
      "  export FILE [--raw]           write every pair as those JSON lines (- : standard output); a\n"
      "                                --data-dir holding a cluster node's DB (a cluster checkpoint)\n"
      "                                gives its user keys, --raw every key as stored\n"
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
      "limit", po::value(&limit), "")("at", po::value(&at), "")("reverse", "")("raw", "")(
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
    std::puts("strata " STRATA_VERSION);
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
             cmd == "restore" || cmd == "import" || cmd == "export") {
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
  if (cmd == "export" && args[1] == "-" && output == "json") {
    std::fprintf(stderr, "strata: -o json needs export FILE (with -, standard output carries the data)\n");
    return 2;
  }
  if (vm.count("raw") && cmd != "export") {
    std::fprintf(stderr, "strata: --raw is for export only\n");
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
  } else if (cmd == "export") {
    cli::ExportOptions eo{.detect_cluster_layout = !data_dir.empty(), .raw = vm.count("raw") > 0};
    cli::ExportReport er;
    auto r = cli::export_jsonl(backend, args[1], eo, &er);
    if (!r) {
      report(r.error());
    } else if (as_json) {
      emit(boost::json::object{{"ok", true},
                               {"records", er.records},
                               {"bytes", er.bytes},
                               {"cluster_layout", er.cluster_layout},
                               {"seconds", er.seconds}});
    } else if (args[1] != "-") {
      std::printf("exported %" PRIu64 " records (%" PRIu64 " bytes of keys and values%s) in %.1f s\n", er.records,
                  er.bytes, er.cluster_layout ? "; the user keys of a cluster node's DB" : "", er.seconds);
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
