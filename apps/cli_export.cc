#include "apps/cli_export.h"

#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <system_error>

#include "lib/replication/command.h"
#include "lib/util/key_prefix.h"
#include "net/http/json_codec.h"

namespace strata::cli {

CliResult<void> export_jsonl(CliBackend& backend, const std::string& path, const ExportOptions& options,
                             ExportReport* report) {
  *report = {};
  const auto start_time = std::chrono::steady_clock::now();
  auto finish = [&] {
    report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  };
  if (options.page_keys == 0) return CliError{"the page size must be positive"};
  // A replicated DB: its user keys are "u" + key, next to the metadata under "m".
  if (options.detect_cluster_layout && !options.raw) {
    auto applied = backend.get(std::string(replication::kAppliedKey));
    if (!applied) return applied.error();
    auto bootstrap = backend.get(std::string(replication::kBootstrapKey));
    if (!bootstrap) return bootstrap.error();
    report->cluster_layout = applied->has_value() && bootstrap->has_value();
  }
  const std::string prefix = report->cluster_layout ? std::string(replication::kUserPrefix) : std::string();
  std::string begin = prefix;
  const std::string end = prefix.empty() ? std::string() : prefix_successor(prefix);

  std::unique_ptr<FILE, int (*)(FILE*)> owned(nullptr, &std::fclose);
  FILE* out = stdout;
  if (path != "-") {
    owned.reset(std::fopen(path.c_str(), "wb"));
    if (!owned) return CliError{"cannot write " + path + ": " + std::generic_category().message(errno)};
    out = owned.get();
  }
  while (true) {
    auto page = backend.scan(begin, end, options.page_keys, false);
    if (!page) {
      finish();
      return page.error();
    }
    for (const auto& kv : *page) {
      boost::json::object o;
      std::string_view key = kv.key;
      key.remove_prefix(prefix.size());
      net::http::put_key_value(o, key, kv.value, /*force_base64=*/false);
      std::string line = boost::json::serialize(o);
      line.push_back('\n');
      if (std::fwrite(line.data(), 1, line.size(), out) != line.size()) {
        finish();
        return CliError{"cannot write " + path + " (" + std::to_string(report->records) + " records written)"};
      }
      ++report->records;
      report->bytes += key.size() + kv.value.size();
    }
    if (page->size() < options.page_keys) break;
    begin = page->back().key;
    begin.push_back('\0');  // the smallest key after the last one
  }
  if (std::fflush(out) != 0 || (owned && std::fclose(owned.release()) != 0)) {
    finish();
    return CliError{"cannot write " + path};
  }
  finish();
  return {};
}

}  // namespace strata::cli
