#include "apps/tool/wal_command.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "lib/memtable/write_batch_internal.h"

namespace strata::tool {

bool WalReport::corrupt() const {
  for (const auto& f : findings) {
    if (f.corrupt()) return true;
  }
  return false;
}

namespace {

// Counts (and lists) the operations of one batch.
struct OpCounter : WriteBatch::Handler {
  WalReport::Batch* batch = nullptr;
  const WalScanOptions* options = nullptr;
  uint64_t min_seq = UINT64_MAX;
  uint64_t max_seq = 0;

  void note(SequenceNumber seq) {
    min_seq = std::min(min_seq, seq);
    max_seq = std::max(max_seq, seq);
  }
  void put(SequenceNumber seq, std::string_view key, std::string_view value) override {
    ++batch->puts;
    note(seq);
    if (options->watch != nullptr && key == options->watch->user_key) options->watch->offer(seq, value, false);
    if (options->list_ops) {
      WalReport::Op op{true, seq, std::string(key), value.size(), std::nullopt};
      if (options->values) op.value.emplace(value);
      batch->ops.push_back(std::move(op));
    }
  }
  void del(SequenceNumber seq, std::string_view key) override {
    ++batch->deletes;
    note(seq);
    if (options->watch != nullptr && key == options->watch->user_key) options->watch->offer(seq, {}, true);
    if (options->list_ops) batch->ops.push_back(WalReport::Op{false, seq, std::string(key), 0, std::nullopt});
  }
};

}  // namespace

asio::awaitable<WalReport> inspect_wal(io::FileSystem& fs, std::string path, uint64_t log_number,
                                       WalScanOptions options) {
  WalReport r;
  r.path = path;
  r.log_number = log_number;
  auto opened = co_await open_read_only(fs, path);
  if (!opened) {
    r.findings.push_back(corruption(path, std::nullopt, "cannot open: " + opened.error().message()));
    co_return r;
  }
  auto file = std::move(*opened);
  auto size = file->size();
  r.file_size = size ? *size : 0;
  auto on_record = [&](LogRecord& rec) {
    auto batch = WriteBatchInternal::from_contents(std::move(rec.payload));
    if (!batch) {
      r.findings.push_back(corruption(path, rec.offset, "record is not a write batch (shorter than its header)"));
      return false;
    }
    WalReport::Batch b;
    b.offset = rec.offset;
    b.end_offset = rec.end_offset;
    b.bytes = WriteBatchInternal::contents(*batch).size();
    b.sequence = WriteBatchInternal::sequence(*batch);
    b.count = batch->count();
    OpCounter counter;
    counter.batch = &b;
    counter.options = &options;
    auto walked = batch->iterate(counter);
    if (!walked) {
      r.findings.push_back(corruption(path, rec.offset, "malformed write batch (a record or the count is wrong)"));
      return false;
    }
    ++r.records;
    r.puts += b.puts;
    r.deletes += b.deletes;
    if (b.count > 0) {
      if (r.first_sequence == 0) r.first_sequence = counter.min_seq;
      r.last_sequence = std::max(r.last_sequence, counter.max_seq);
    }
    if (options.list_batches && r.listed.size() < options.limit) r.listed.push_back(std::move(b));
    return true;
  };
  auto end = co_await read_log(*file, log_number, on_record);
  if (!end) {
    r.findings.push_back(corruption(path, std::nullopt, "read error: " + end.error().message()));
    co_return r;
  }
  r.end = *end;
  if (auto f = end->finding(path)) r.findings.push_back(std::move(*f));
  co_return r;
}

boost::json::object wal_report_json(const WalReport& r) {
  boost::json::object o{{"file", r.path},
                        {"log_number", r.log_number},
                        {"file_size", r.file_size},
                        {"status", r.corrupt() ? "corrupt" : "ok"},
                        {"records", r.records},
                        {"puts", r.puts},
                        {"deletes", r.deletes},
                        {"first_sequence", r.first_sequence},
                        {"last_sequence", r.last_sequence}};
  boost::json::array batches;
  for (const auto& b : r.listed) {
    boost::json::object row{{"offset", b.offset},     {"end_offset", b.end_offset}, {"bytes", b.bytes},
                            {"sequence", b.sequence}, {"count", b.count},           {"puts", b.puts},
                            {"deletes", b.deletes}};
    if (!b.ops.empty()) {
      boost::json::array ops;
      for (const auto& op : b.ops) {
        boost::json::object e{
            {"op", op.put ? "put" : "delete"}, {"sequence", op.sequence}, {"key", escape_bytes(op.key)}};
        if (op.put) e["value_bytes"] = op.value_bytes;
        if (op.value) e["value"] = escape_bytes(*op.value);
        ops.push_back(std::move(e));
      }
      row["ops"] = std::move(ops);
    }
    batches.push_back(std::move(row));
  }
  o["batches"] = std::move(batches);
  if (r.end) o["end"] = r.end->to_json();
  boost::json::array findings;
  for (const auto& f : r.findings) findings.push_back(f.to_json());
  o["findings"] = std::move(findings);
  return o;
}

void print_wal_report(const WalReport& r) {
  std::printf("wal %s (log number %" PRIu64 ", %" PRIu64 " bytes)\n", r.path.c_str(), r.log_number, r.file_size);
  for (const auto& b : r.listed) {
    std::printf("  offset %" PRIu64 ": batch of %" PRIu64 " (%" PRIu64 " puts, %" PRIu64 " deletes), sequence %" PRIu64
                ", %" PRIu64 " bytes\n",
                b.offset, b.count, b.puts, b.deletes, b.sequence, b.bytes);
    for (const auto& op : b.ops) {
      if (!op.put) {
        std::printf("    %" PRIu64 " delete %s\n", op.sequence, escape_bytes(op.key).c_str());
      } else if (op.value) {
        std::printf("    %" PRIu64 " put %s => %s\n", op.sequence, escape_bytes(op.key).c_str(),
                    escape_bytes(*op.value).c_str());
      } else {
        std::printf("    %" PRIu64 " put %s (%" PRIu64 " value bytes)\n", op.sequence, escape_bytes(op.key).c_str(),
                    op.value_bytes);
      }
    }
  }
  std::printf("  %" PRIu64 " records: %" PRIu64 " puts, %" PRIu64 " deletes, sequence %" PRIu64 "..%" PRIu64 "\n",
              r.records, r.puts, r.deletes, r.first_sequence, r.last_sequence);
  if (r.end) std::printf("  %s\n", r.end->to_text().c_str());
  for (const auto& f : r.findings) std::printf("%s\n", f.to_text().c_str());
  if (!r.corrupt()) std::printf("ok\n");
}

int run_wal_command(io::FileSystem& fs, const std::vector<std::string>& args, const ToolFlags& flags) {
  const std::string& path = args.at(0);
  std::optional<uint64_t> number = flags.log_number ? flags.log_number : log_number_from_path(path);
  if (!number) {
    std::fprintf(stderr, "strata-tool: %s is not named NNNNNN.log; give its file number with --log-number N\n",
                 path.c_str());
    return kExitUsage;
  }
  WalScanOptions options{.list_batches = true, .list_ops = flags.entries, .values = flags.values};
  if (flags.limit) options.limit = *flags.limit;
  WalReport r = run_sync(inspect_wal(fs, path, *number, options));
  if (flags.json)
    print_json(wal_report_json(r));
  else
    print_wal_report(r);
  return r.corrupt() ? kExitCorrupt : kExitClean;
}

}  // namespace strata::tool
