#include "lib/version/file_names.h"

#include <charconv>
#include <cstdio>

#include "lib/io/file_system.h"

namespace strata {
namespace {

std::string numbered(uint64_t number, const char* suffix) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%06llu%s", static_cast<unsigned long long>(number), suffix);
  return buf;
}

std::optional<uint64_t> parse_number(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string wal_dir_name(std::string_view db) { return io::join_path(db, "wal"); }
std::string wal_file_name(std::string_view db, uint64_t number) {
  return io::join_path(wal_dir_name(db), numbered(number, ".log"));
}
std::string table_file_name(std::string_view db, uint64_t number) {
  return io::join_path(db, numbered(number, ".sst"));
}
std::string manifest_file_name(std::string_view db, uint64_t number) {
  return io::join_path(db, "MANIFEST-" + numbered(number, ""));
}
std::string current_file_name(std::string_view db) { return io::join_path(db, "CURRENT"); }
std::string lock_file_name(std::string_view db) { return io::join_path(db, "LOCK"); }

std::optional<ParsedFileName> parse_file_name(std::string_view name) {
  if (name == "CURRENT") return ParsedFileName{FileKind::current};
  if (name == "LOCK") return ParsedFileName{FileKind::lock};
  if (name.ends_with(".tmp")) return ParsedFileName{FileKind::temp};
  if (name.starts_with("MANIFEST-")) {
    auto n = parse_number(name.substr(9));
    if (!n) return std::nullopt;
    return ParsedFileName{FileKind::manifest, *n};
  }
  auto suffixed = [&](std::string_view suffix, FileKind kind) -> std::optional<ParsedFileName> {
    if (!name.ends_with(suffix)) return std::nullopt;
    auto n = parse_number(name.substr(0, name.size() - suffix.size()));
    if (!n) return std::nullopt;
    return ParsedFileName{kind, *n};
  };
  if (auto p = suffixed(".log", FileKind::wal)) return p;
  if (auto p = suffixed(".sst", FileKind::table)) return p;
  return std::nullopt;
}

}  // namespace strata
