#include "apps/cli_import.h"

#include <boost/json/parse.hpp>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <system_error>
#include <cstdio>
#include <memory>
#include <string_view>
#include <vector>

#include "net/http/json_codec.h"

namespace strata::cli {

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxBatchRecords = 10000;  // well under the server's max_batch_ops

// Reads a file (or stdin) in chunks, decompressing .zst; position() is in input (file) bytes.
class LineSource {
 public:
  ~LineSource() {
    if (file_ != nullptr && file_ != stdin) std::fclose(file_);
    if (zstd_ != nullptr) ZSTD_freeDStream(zstd_);
  }

  CliResult<void> open(const std::string& path) {
    if (path == "-") {
      file_ = stdin;
    } else {
      file_ = std::fopen(path.c_str(), "rb");
      if (file_ == nullptr) return CliError{"cannot read " + path + ": " + std::generic_category().message(errno)};
      if (std::fseek(file_, 0, SEEK_END) == 0) {
        long size = std::ftell(file_);
        if (size > 0) size_ = static_cast<uint64_t>(size);
        if (std::fseek(file_, 0, SEEK_SET) != 0) return CliError{"cannot read " + path + ": cannot seek"};
      }
    }
    if (path.ends_with(".zst")) {
      zstd_ = ZSTD_createDStream();
      if (zstd_ == nullptr) return CliError{"cannot create a zstd decompression stream"};
      ZSTD_initDStream(zstd_);
    }
    path_ = path;
    return {};
  }

  // The next line without its "\n"; false at the end of the input. Errors: read or zstd.
  CliResult<bool> next(std::string* line) {
    while (true) {
      size_t nl = buffer_.find('\n', scan_from_);
      if (nl != std::string::npos) {
        line->assign(buffer_, consumed_, nl - consumed_);
        consumed_ = scan_from_ = nl + 1;
        return true;
      }
      scan_from_ = buffer_.size();
      if (eof_) {
        if (consumed_ < buffer_.size()) {
          line->assign(buffer_, consumed_, std::string::npos);
          consumed_ = scan_from_ = buffer_.size();
          return true;
        }
        return false;
      }
      buffer_.erase(0, consumed_);
      scan_from_ -= consumed_;
      consumed_ = 0;
      auto filled = fill();
      if (!filled) return filled.error();
    }
  }

  uint64_t position() const { return position_; }
  uint64_t size() const { return size_; }

 private:
  CliResult<void> fill() {
    char in[1 << 16];
    size_t n = std::fread(in, 1, sizeof in, file_);
    if (n == 0) {
      if (std::ferror(file_)) return CliError{"cannot read " + path_};
      if (zstd_ != nullptr && frame_open_) return CliError{path_ + ": the zstd stream ends in the middle of a frame"};
      eof_ = true;
      return {};
    }
    position_ += n;
    if (zstd_ == nullptr) {
      buffer_.append(in, n);
      return {};
    }
    ZSTD_inBuffer input{in, n, 0};
    std::string out(ZSTD_DStreamOutSize(), '\0');
    while (input.pos < input.size) {
      ZSTD_outBuffer output{out.data(), out.size(), 0};
      size_t rc = ZSTD_decompressStream(zstd_, &output, &input);
      if (ZSTD_isError(rc)) return CliError{path_ + ": not a valid zstd stream (" + ZSTD_getErrorName(rc) + ")"};
      frame_open_ = rc != 0;
      buffer_.append(out.data(), output.pos);
    }
    return {};
  }

  std::string path_;
  FILE* file_ = nullptr;
  ZSTD_DStream* zstd_ = nullptr;
  bool frame_open_ = false;
  bool eof_ = false;
  uint64_t size_ = 0;
  uint64_t position_ = 0;
  std::string buffer_;
  size_t consumed_ = 0;   // bytes of buffer_ already returned as lines
  size_t scan_from_ = 0;  // where to look for the next '\n'
};

// One record of a line, or why the line is bad.
CliResult<KeyValue> parse_record(std::string_view line) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  if (ec) return CliError{"not JSON (" + ec.message() + ")"};
  if (!v.is_object()) return CliError{"not a JSON object"};
  const auto& o = v.as_object();
  bool base64 = false;
  for (const auto& [name, value] : o) {
    if (name == "key" || name == "value") {
      if (!value.is_string()) return CliError{"\"" + std::string(name) + "\" must be a string"};
    } else if (name == "encoding") {
      if (!value.is_string() || value.get_string() != "base64") {
        return CliError{"\"encoding\" must be \"base64\" when given"};
      }
      base64 = true;
    } else {
      return CliError{"unknown member \"" + std::string(name) + "\" (expected key, value and optionally encoding)"};
    }
  }
  if (!o.contains("key") || !o.contains("value")) return CliError{"expected {\"key\": ..., \"value\": ...}"};
  KeyValue kv{std::string(o.at("key").get_string()), std::string(o.at("value").get_string())};
  if (base64) {
    auto k = net::http::base64_decode(kv.key);
    auto val = net::http::base64_decode(kv.value);
    if (!k || !val) return CliError{"\"encoding\": \"base64\" but the key or value is not base64"};
    kv.key = std::move(*k);
    kv.value = std::move(*val);
  }
  if (kv.key.empty()) return CliError{"empty key"};
  return kv;
}

std::string with_commas(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

void draw_progress(const ImportReport& r, const LineSource& src, Clock::time_point start, bool last) {
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  double rate = secs > 0 ? static_cast<double>(r.records) / secs : 0;
  std::string line = "\rimported " + with_commas(r.records) + " records, " + std::to_string(r.bytes >> 20) + " MiB, " +
                     with_commas(static_cast<uint64_t>(rate)) + " records/s";
  if (src.size() > 0) {
    double share = std::min(1.0, static_cast<double>(src.position()) / static_cast<double>(src.size()));
    int filled = static_cast<int>(share * 30);
    line += " [" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(30 - filled), '.') +
            "] " + std::to_string(static_cast<int>(share * 100)) + "%";
  }
  line += "   ";
  std::fputs(line.c_str(), stderr);
  if (last) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace

CliResult<void> import_jsonl(CliBackend& backend, const std::string& path, const ImportOptions& options,
                             ImportReport* report) {
  *report = {};
  const auto start = Clock::now();
  auto finish = [&] { report->seconds = std::chrono::duration<double>(Clock::now() - start).count(); };
  auto fail = [&](CliError e) -> CliResult<void> {
    finish();
    return e;
  };
  LineSource src;
  if (auto opened = src.open(path); !opened) return opened.error();
  std::vector<KeyValue> batch;
  size_t batch_bytes = 0;
  auto last_draw = start;
  auto flush = [&]() -> CliResult<void> {
    if (batch.empty()) return {};
    auto r = backend.put_batch(batch);
    if (!r) return r.error();
    report->records += batch.size();
    report->bytes += batch_bytes;
    batch.clear();
    batch_bytes = 0;
    if (options.progress && Clock::now() - last_draw > std::chrono::milliseconds(200)) {
      last_draw = Clock::now();
      draw_progress(*report, src, start, false);
    }
    return {};
  };
  std::string line;
  while (true) {
    auto more = src.next(&line);
    if (!more) {
      if (auto f = flush(); !f) return fail(f.error());
      return fail(more.error());
    }
    if (!*more) break;
    ++report->lines;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto kv = parse_record(line);
    if (!kv) {
      // What came before the bad line goes in; nothing after it.
      if (auto f = flush(); !f) return fail(f.error());
      return fail(CliError{"line " + std::to_string(report->lines) + ": " + kv.error().message});
    }
    batch_bytes += kv->key.size() + kv->value.size();
    batch.push_back(std::move(*kv));
    if (batch_bytes >= options.batch_bytes || batch.size() >= kMaxBatchRecords) {
      if (auto f = flush(); !f) return fail(f.error());
    }
  }
  if (auto f = flush(); !f) return fail(f.error());
  finish();
  if (options.progress) draw_progress(*report, src, start, true);
  return {};
}

}  // namespace strata::cli
