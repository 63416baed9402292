#include "apps/tool/log_records.h"

#include <cctype>

#include "lib/wal/wal_format.h"

namespace strata::tool {

const char* LogEnd::verdict() const { return clean() ? "clean" : corrupt() ? "corrupt" : "torn_tail"; }

boost::json::object LogEnd::to_json() const {
  boost::json::object o{{"reason", wal::WalReader::reason_name(stop.reason)},
                        {"offset", stop.offset},
                        {"verdict", verdict()},
                        {"records", records},
                        {"last_record_end", last_record_end_offset}};
  if (valid_after)
    o["valid_fragment_at"] = *valid_after;
  else
    o["valid_fragment_at"] = nullptr;
  return o;
}

std::string LogEnd::to_text() const {
  std::string s = "stopped at offset " + std::to_string(stop.offset) + ": " + wal::WalReader::reason_name(stop.reason);
  if (corrupt()) {
    s += " (corrupt: a valid record follows at offset " + std::to_string(*valid_after) + ")";
  } else if (torn()) {
    s += " (torn tail: nothing valid follows; recovery drops it)";
  }
  return s;
}

std::optional<Finding> LogEnd::finding(const std::string& path) const {
  if (clean()) return std::nullopt;
  std::string reason = wal::WalReader::reason_name(stop.reason);
  if (corrupt()) {
    return corruption(path, stop.offset, reason + ", with a valid record at offset " + std::to_string(*valid_after));
  }
  return warning(path, stop.offset, "torn tail (" + reason + "): recovery drops the record");
}

namespace {

// Where the record after one ending at `end` starts: the writer pads a block's last
// kHeaderSize - 1 bytes or fewer and goes on in the next block.
uint64_t next_record_start(uint64_t end) {
  uint64_t left = wal::kBlockSize - end % wal::kBlockSize;
  return left < wal::kHeaderSize ? end + left : end;
}

}  // namespace

asio::awaitable<Result<LogEnd>> read_log(io::File& file, uint64_t log_number,
                                         const std::function<bool(LogRecord&)>& on_record) {
  wal::WalReader reader(file, log_number);
  LogEnd end;
  for (;;) {
    uint64_t start = next_record_start(reader.last_record_end_offset());
    STRATA_CO_TRY_ASSIGN(auto rec, co_await reader.read_record());
    if (!rec) break;
    LogRecord r{start, reader.last_record_end_offset(), std::move(*rec)};
    ++end.records;
    end.last_record_end_offset = r.end_offset;
    if (!on_record(r)) {
      end.stop = {wal::WalReader::Stop::clean_end, r.end_offset};
      co_return end;
    }
  }
  end.stop = *reader.stop();
  if (!end.clean()) {
    STRATA_CO_TRY_ASSIGN(end.valid_after, co_await reader.find_valid_fragment_after_stop());
  }
  co_return end;
}

std::optional<uint64_t> log_number_from_path(std::string_view path) {
  std::string_view name = path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  std::string_view digits;
  if (name.starts_with("MANIFEST-")) {
    digits = name.substr(9);
  } else if (name.ends_with(".log")) {
    digits = name.substr(0, name.size() - 4);
  }
  if (digits.empty() || digits.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : digits) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace strata::tool
