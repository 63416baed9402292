// Loads ../shared/data/debian-packages.jsonl.zst: 63,436 real records, one JSON object per line
// ({"key": "pkg/<name>", "value": "<Debian control stanza>"}), decompressed with libzstd's
// streaming API and parsed with Boost.JSON. Shared by the system tests.
#pragma once

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <zstd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace strata::testing {

constexpr size_t kDataSetRecords = 63436;

// The records as a sorted map, or nullopt with *error set.
inline std::optional<std::map<std::string, std::string>> load_data_set(const std::string& path, std::string* error) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    *error = "cannot open " + path;
    return std::nullopt;
  }
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
  std::vector<char> in(ZSTD_DStreamInSize()), out(ZSTD_DStreamOutSize());
  std::map<std::string, std::string> records;
  std::string pending;
  auto take_line = [&](std::string_view line) -> bool {
    if (line.empty()) return true;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    if (ec || !v.is_object() || !v.as_object().contains("key") || !v.as_object().contains("value")) {
      *error = "malformed record: " + std::string(line.substr(0, 80));
      return false;
    }
    records[std::string(v.at("key").as_string())] = std::string(v.at("value").as_string());
    return true;
  };
  size_t got = 0;
  while ((got = std::fread(in.data(), 1, in.size(), f.get())) > 0) {
    ZSTD_inBuffer input{in.data(), got, 0};
    while (input.pos < input.size) {
      ZSTD_outBuffer output{out.data(), out.size(), 0};
      size_t rc = ZSTD_decompressStream(dctx.get(), &output, &input);
      if (ZSTD_isError(rc)) {
        *error = std::string("zstd: ") + ZSTD_getErrorName(rc);
        return std::nullopt;
      }
      pending.append(out.data(), output.pos);
      size_t start = 0, nl;
      while ((nl = pending.find('\n', start)) != std::string::npos) {
        if (!take_line(std::string_view(pending).substr(start, nl - start))) return std::nullopt;
        start = nl + 1;
      }
      pending.erase(0, start);
    }
  }
  if (!take_line(pending)) return std::nullopt;
  return records;
}

}  // namespace strata::testing
