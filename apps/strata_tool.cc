// strata-tool: offline inspection and verification of a Strata data directory (issue 16), after
// RocksDB's sst_dump/ldb and etcd's etcdutl. One subcommand per kind of file, each in its own
// file under apps/tool/: sst, manifest, wal, raft-log, and verify over a whole directory. Every
// command reads through the engine's own readers and a file system that refuses writes
// (apps/tool/tool_common.h), so it never changes the files it reads.
#include <boost/program_options.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/tool/manifest_command.h"
#include "apps/tool/raft_log_command.h"
#include "apps/tool/sst_command.h"
#include "apps/tool/tool_common.h"
#include "apps/tool/verify_command.h"
#include "apps/tool/wal_command.h"
#include "lib/io/posix_file_system.h"
#include "lib/util/logging.h"

namespace po = boost::program_options;
using namespace strata::tool;

namespace {

// The help text: on stdout for --help, on stderr after a usage error.
void usage(FILE* to = stderr) {
  std::fputs(
      "usage: strata-tool <command> PATH [options]\n"
      "Reads Strata's files offline with the engine's own readers and checks every checksum.\n"
      "\n"
      "commands:\n"
      "  sst FILE        an SSTable: footer, properties, index, bloom filter, every block's checksum,\n"
      "                  the order of every entry; --entries lists them\n"
      "  manifest PATH   a MANIFEST-NNNNNN file, or a DB directory (the manifest CURRENT names):\n"
      "                  every version edit in order and the resulting files per level\n"
      "  wal FILE        a WAL segment (wal/NNNNNN.log): every write batch with its sequence number\n"
      "                  and operation counts, and where reading stops and why; --entries lists the\n"
      "                  operations\n"
      "  raft-log DIR    a cluster node's Raft log (DIR is its --data-dir, or DIR/raft): every entry\n"
      "                  (index, term, type, size, what it carries), the snapshot and the hard state\n"
      "  verify DIR      a whole data directory (a single node's, or a cluster node's with db/ and\n"
      "                  raft/): CURRENT, the MANIFEST replayed, every live SSTable present and read\n"
      "                  in full, the WAL segments recovery would replay, the Raft log. Reports the\n"
      "                  first corruption with its file and offset\n"
      "options:\n"
      "  --json              one JSON object on stdout instead of text\n"
      "  --entries           sst, wal: list every entry / operation (keys escaped: \\xNN for bytes\n"
      "                      outside printable ASCII, \\\\ for a backslash)\n"
      "  --values            with --entries: print values (escaped), not only their lengths\n"
      "  --limit N           sst, wal, raft-log: list at most N entries / batches (all are still checked)\n"
      "  --log-number N      wal, manifest: the file's number, when its name does not carry it (a copy)\n"
      "  -v, --verbose       also print the engine's log lines (stderr)\n"
      "  -h, --help          this text\n"
      "  --version           the version\n"
      "\n"
      "exit status: 0 clean (warnings such as a torn WAL tail allowed), 1 corruption found or a file\n"
      "that cannot be read, 2 usage error.\n"
      "\n"
      "Read-only: files are opened read-only and nothing in the directory is created, renamed or\n"
      "removed, so it is safe on a stopped node's directory or a copy. On a live node it reads files\n"
      "that the node may be appending to or replacing (a WAL tail, a MANIFEST being rolled, SSTables\n"
      "removed by compaction): it may report a torn tail or a missing file that is not a fault;\n"
      "verify warns when a process holds the DB's LOCK. Stop the node, or verify a checkpoint\n"
      "(strata checkpoint) or a copy.\n",
      to);
}

// Which flags each command takes; the others are usage errors.
bool flag_allowed(const std::string& cmd, const std::string& flag) {
  if (flag == "json" || flag == "verbose") return true;
  if (flag == "entries" || flag == "values") return cmd == "sst" || cmd == "wal";
  if (flag == "limit") return cmd == "sst" || cmd == "wal" || cmd == "raft-log";
  if (flag == "log-number") return cmd == "wal" || cmd == "manifest";
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  ToolFlags flags;
  uint64_t limit = 0;
  uint64_t log_number = 0;
  std::vector<std::string> args;
  po::options_description desc;
  desc.add_options()("help,h", "")("version", "")("json", "")("entries", "")("values", "")(
      "limit", po::value(&limit), "")("log-number", po::value(&log_number), "")("verbose,v", "")("args",
                                                                                                 po::value(&args), "");
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
    std::fprintf(stderr, "strata-tool: %s\n", e.what());
    usage();
    return kExitUsage;
  }
  if (vm.count("version")) {
    std::puts("strata-tool " STRATA_VERSION);  // meson.build's project version
    return kExitClean;
  }
  if (vm.count("help")) {
    usage(stdout);
    return kExitClean;
  }
  if (args.empty()) {
    usage();
    return kExitUsage;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd != "sst" && cmd != "manifest" && cmd != "wal" && cmd != "raft-log" && cmd != "verify") {
    std::fprintf(stderr, "strata-tool: unknown command '%s'\n", cmd.c_str());
    usage();
    return kExitUsage;
  }
  if (args.size() != 1) {
    if (args.empty()) {
      std::fprintf(stderr, "strata-tool: %s needs a PATH\n", cmd.c_str());
    } else {
      std::fprintf(stderr, "strata-tool: %s takes one PATH; stray argument '%s'\n", cmd.c_str(), args[1].c_str());
    }
    usage();
    return kExitUsage;
  }
  for (const char* flag : {"json", "entries", "values", "limit", "log-number", "verbose"}) {
    if (vm.count(flag) && !flag_allowed(cmd, flag)) {
      std::fprintf(stderr, "strata-tool: --%s is not an option of %s\n", flag, cmd.c_str());
      return kExitUsage;
    }
  }
  flags.json = vm.count("json") > 0;
  flags.entries = vm.count("entries") > 0;
  flags.values = vm.count("values") > 0;
  if (flags.values && !flags.entries) {
    std::fprintf(stderr, "strata-tool: --values goes with --entries\n");
    return kExitUsage;
  }
  if (vm.count("limit")) flags.limit = limit;
  if (vm.count("log-number")) flags.log_number = log_number;
  std::error_code ec;
  if (!std::filesystem::exists(args[0], ec)) {
    std::fprintf(stderr, "strata-tool: %s: no such file or directory\n", args[0].c_str());
    return kExitUsage;
  }
  if ((cmd == "sst" || cmd == "wal") && !std::filesystem::is_regular_file(args[0], ec)) {
    std::fprintf(stderr, "strata-tool: %s is not a file\n", args[0].c_str());
    return kExitUsage;
  }
  // The engine logs what its readers find (file, offset, checksums) at warn and error; the tool
  // reports the same itself, so those lines are only for --verbose. (No level is above error:
  // one past it silences the log.)
  strata::set_log_level(vm.count("verbose")
                            ? strata::LogLevel::debug
                            : static_cast<strata::LogLevel>(static_cast<int>(strata::LogLevel::error) + 1));
  strata::io::PosixFileSystem posix(strata::io::PosixFileSystem::Options{.pool_threads = 1});
  ReadOnlyFileSystem fs(posix);
  if (cmd == "sst") return run_sst_command(fs, args, flags);
  if (cmd == "manifest") return run_manifest_command(fs, args, flags);
  if (cmd == "wal") return run_wal_command(fs, args, flags);
  if (cmd == "raft-log") return run_raft_log_command(fs, args, flags);
  return run_verify_command(fs, args, flags);
}
