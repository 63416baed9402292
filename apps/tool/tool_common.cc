#include "apps/tool/tool_common.h"

#include <boost/json/serialize.hpp>

#include <cinttypes>
#include <cstdio>

#include "lib/util/internal_key.h"

namespace strata::tool {

boost::json::object Finding::to_json() const {
  boost::json::object o;
  o["severity"] = corrupt() ? "corruption" : "warning";
  o["file"] = file;
  if (offset)
    o["offset"] = *offset;
  else
    o["offset"] = nullptr;
  o["message"] = message;
  return o;
}

std::string Finding::to_text() const {
  std::string s = corrupt() ? "corruption: " : "warning: ";
  s += file;
  if (offset) s += " at offset " + std::to_string(*offset);
  s += ": " + message;
  return s;
}

Finding corruption(std::string file, std::optional<uint64_t> offset, std::string message) {
  return Finding{Finding::Severity::corruption, std::move(file), offset, std::move(message)};
}

Finding warning(std::string file, std::optional<uint64_t> offset, std::string message) {
  return Finding{Finding::Severity::warning, std::move(file), offset, std::move(message)};
}

std::string escape_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (u >= 0x20 && u < 0x7f) {
      out.push_back(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  return out;
}

std::string describe_internal_key(std::string_view ikey) {
  ParsedInternalKey p;
  if (!parse_internal_key(ikey, &p)) return "<malformed internal key " + escape_bytes(ikey) + ">";
  return escape_bytes(p.user_key) + " @ " + std::to_string(p.sequence) +
         (p.type == ValueType::value ? " value" : " deletion");
}

boost::json::object internal_key_json(std::string_view ikey) {
  boost::json::object o;
  ParsedInternalKey p;
  if (!parse_internal_key(ikey, &p)) {
    o["malformed"] = escape_bytes(ikey);
    return o;
  }
  o["key"] = escape_bytes(p.user_key);
  o["sequence"] = p.sequence;
  o["type"] = p.type == ValueType::value ? "value" : "deletion";
  return o;
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

namespace {
ErrorCode refused() { return make_error_code(Errc::read_only); }
}  // namespace

asio::awaitable<Result<std::unique_ptr<io::File>>> ReadOnlyFileSystem::open(std::string path, io::OpenOptions options) {
  if (!options.read_only || options.create || options.truncate || options.exclusive) co_return refused();
  co_return co_await base_.open(std::move(path), options);
}

asio::awaitable<Result<void>> ReadOnlyFileSystem::rename(std::string, std::string) { co_return refused(); }
asio::awaitable<Result<void>> ReadOnlyFileSystem::remove(std::string) { co_return refused(); }
asio::awaitable<Result<void>> ReadOnlyFileSystem::create_dir(std::string) { co_return refused(); }
asio::awaitable<Result<std::vector<std::string>>> ReadOnlyFileSystem::list_dir(std::string path) {
  co_return co_await base_.list_dir(std::move(path));
}
asio::awaitable<Result<void>> ReadOnlyFileSystem::sync_dir(std::string) { co_return refused(); }
asio::awaitable<Result<bool>> ReadOnlyFileSystem::exists(std::string path) {
  co_return co_await base_.exists(std::move(path));
}
Result<std::unique_ptr<io::FileLock>> ReadOnlyFileSystem::lock(std::string) { return refused(); }

asio::awaitable<Result<std::unique_ptr<io::File>>> open_read_only(io::FileSystem& fs, std::string path) {
  co_return co_await fs.open(std::move(path), io::OpenOptions{.read_only = true});
}

void print_json(const boost::json::object& o) { std::puts(boost::json::serialize(o).c_str()); }

}  // namespace strata::tool
