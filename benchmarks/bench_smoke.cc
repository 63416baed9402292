// bench_smoke: runs strata-bench (path in argv[1]) on Strata alone with --num 2000 --json over
// every benchmark, and checks that stdout is one valid JSON object per line with one line per
// benchmark, the documented fields, ops_per_sec > 0, ordered percentiles, no errors, and reads
// that found what the fill wrote. Exit status 0 on success; prints what failed otherwise.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace json = boost::json;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "bench_smoke: FAIL: %s\n", what.c_str());
    ++failures;
  }
}

double number(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) {
    check(false, std::string("missing or non-numeric field ") + key);
    return -1;
  }
  return v->to_number<double>();
}

}  // namespace

int main(int argc, char** argv) {
  constexpr const char* kUsage =
      "usage: bench_smoke PATH_TO_STRATA_BENCH\n"
      "Runs every strata-bench workload on Strata at --num 2000 and checks its JSON lines.\n";
  if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (argc == 2 && std::string_view(argv[1]) == "--version") {
    std::puts("bench_smoke " STRATA_VERSION);
    return 0;
  }
  if (argc != 2 || argv[1][0] == '-') {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string db = std::string(tmp ? tmp : "/tmp") + "/strata-bench-smoke-" + std::to_string(getpid());
  const std::set<std::string> expected{"fillseq",     "fillrandom", "overwrite",        "readrandom",
                                       "readmissing", "seekrandom", "readwhilewriting", "fillsync:4"};
  std::string cmd = std::string(argv[1]) + " --engines strata --num 2000 --json --db " + db +
                    " --benchmarks fillseq,fillrandom,overwrite,readrandom,readmissing,seekrandom,readwhilewriting,"
                    "fillsync:4 2>/dev/null";
  FILE* out = popen(cmd.c_str(), "r");
  if (out == nullptr) {
    std::perror("popen");
    return 1;
  }
  std::map<std::string, json::object> seen;
  char line[4096];
  int lines = 0;
  while (std::fgets(line, sizeof line, out) != nullptr) {
    ++lines;
    std::error_code ec;
    json::value v = json::parse(line, ec);
    check(!ec && v.is_object(), std::string("not a JSON object: ") + line);
    if (ec || !v.is_object()) continue;
    const json::object& o = v.as_object();
    const json::value* engine = o.if_contains("engine");
    const json::value* bench = o.if_contains("benchmark");
    check(engine != nullptr && engine->is_string() && engine->as_string() == "strata", "engine is \"strata\"");
    if (bench == nullptr || !bench->is_string()) {
      check(false, "benchmark field missing");
      continue;
    }
    std::string name(bench->as_string());
    check(expected.count(name) == 1, "unexpected benchmark " + name);
    check(seen.count(name) == 0, "benchmark printed twice: " + name);
    seen[name] = o;
    double ops = number(o, "ops_per_sec"), p50 = number(o, "p50_us"), p99 = number(o, "p99_us"),
           p999 = number(o, "p999_us"), cpu = number(o, "cpu_us_per_op");
    check(ops > 0, name + ": ops_per_sec > 0");
    check(p50 > 0 && p50 <= p99 && p99 <= p999, name + ": 0 < p50 <= p99 <= p999");
    check(cpu > 0, name + ": cpu_us_per_op > 0");
    check(number(o, "errors") == 0, name + ": errors == 0");
  }
  int status = pclose(out);
  std::error_code ec;
  std::filesystem::remove_all(db, ec);
  check(status == 0, "strata-bench exit status " + std::to_string(status));
  check(lines == static_cast<int>(expected.size()), "one line per benchmark, got " + std::to_string(lines));
  for (const auto& name : expected) check(seen.count(name) == 1, "no line for " + name);
  if (seen.count("readrandom")) {
    // After overwrite of 2000 random keys on top of fillrandom, at least half of [0, 2000) exist.
    check(number(seen["readrandom"], "found") > 1000, "readrandom found keys the fills wrote");
  }
  if (seen.count("readmissing")) check(number(seen["readmissing"], "found") == 0, "readmissing found nothing");
  if (seen.count("seekrandom")) check(number(seen["seekrandom"], "found") > 2000, "seekrandom read entries");
  std::printf("bench_smoke: lines=%d failures=%d\n", lines, failures);
  return failures == 0 ? 0 : 1;
}
