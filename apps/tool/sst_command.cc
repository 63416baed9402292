#include "apps/tool/sst_command.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "lib/sstable/block.h"
#include "lib/sstable/bloom.h"
#include "lib/sstable/table_reader.h"
#include "lib/util/coding.h"
#include "lib/util/crc32c.h"
#include "lib/util/internal_key.h"

namespace strata::tool {

namespace {

using sstable::Block;
using sstable::BlockHandle;
using sstable::BlockIterator;
using sstable::kBlockTrailerSize;
using sstable::KeyOrder;
using sstable::kFooterSize;

// Whether `h` and its trailer lie before the footer (TableReader's check).
bool handle_in_file(BlockHandle h, uint64_t file_size) {
  uint64_t end = file_size - kFooterSize;
  return h.offset <= end && h.size <= end - h.offset && kBlockTrailerSize <= end - h.offset - h.size;
}

// Says why read_block() refused the block at `h`: reads its raw bytes again and checks them.
asio::awaitable<std::string> diagnose_block(io::File& file, BlockHandle h, ErrorCode ec) {
  if (ec != make_error_code(Errc::corruption)) co_return "read error: " + ec.message();
  std::string buf(h.size + kBlockTrailerSize, '\0');
  auto n = co_await file.read_at(h.offset, std::span<char>(buf.data(), buf.size()));
  if (!n) co_return "read error: " + n.error().message();
  if (*n != buf.size()) {
    co_return "truncated block: " + std::to_string(*n) + " of " + std::to_string(buf.size()) + " bytes in the file";
  }
  uint32_t expected = crc32c::unmask(decode_fixed32(buf.data() + h.size + 1));
  uint32_t actual = crc32c::value(buf.data(), h.size + 1);
  if (expected != actual) {
    co_return "block checksum mismatch (block of " + std::to_string(h.size) + " bytes): expected " + hex32(expected) +
        " actual " + hex32(actual);
  }
  co_return "block does not decompress (compression type " +
      std::to_string(static_cast<unsigned>(static_cast<uint8_t>(buf[h.size]))) + ")";
}

// Why Footer::decode refused `bytes` (the same checks, in its order), for the message.
std::string diagnose_footer(std::string_view bytes) {
  uint64_t magic = decode_fixed64(bytes.data() + kFooterSize - 8);
  if (magic != sstable::kTableMagicNumber) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "bad magic number 0x%016" PRIx64 ": not an SSTable, or truncated", magic);
    return buf;
  }
  uint32_t expected = crc32c::unmask(decode_fixed32(bytes.data() + kFooterSize - 12));
  uint32_t actual = crc32c::value(bytes.data(), kFooterSize - 12);
  if (expected != actual) return "footer checksum mismatch: expected " + hex32(expected) + " actual " + hex32(actual);
  uint32_t version = decode_fixed32(bytes.data() + kFooterSize - 16);
  if (version != sstable::kFormatVersion) {
    return "format version " + std::to_string(version) + " is not supported (this build reads " +
           std::to_string(sstable::kFormatVersion) + ")";
  }
  return "malformed block handles in the footer";
}

// The encoding and size of a filter block (docs/format/sstable.md, "Filter block").
SstReport::Bloom describe_bloom(std::string_view f) {
  SstReport::Bloom b;
  b.bytes = f.size();
  if (f.size() < 2) {
    b.encoding = "unknown";
    return b;
  }
  auto last = static_cast<uint8_t>(f.back());
  if (last == sstable::kCacheLocalMarker) {
    b.encoding = "cache_local";
    b.probes = static_cast<uint8_t>(f[f.size() - 2]);
    b.bits = (f.size() - 2) / sstable::kBloomLineBytes * sstable::kBloomLineBytes * 8;
  } else if (last >= 1 && last <= 30) {
    b.encoding = "standard";
    b.probes = last;
    b.bits = (f.size() - 1) * 8;
  } else {
    b.encoding = "unknown";
  }
  return b;
}

// One table's scan: the file, the report it fills, and what the scan carries from one data
// block to the next.
class SstScan {
 public:
  SstScan(io::File& file, SstReport* r, SstScanOptions options) : file_(file), r_(*r), options_(options) {}

  // Reads and verifies the block at `h`; on failure sets the problem (at `handle_offset`, where
  // the handle was read, if the handle itself is bad) and returns nullopt.
  asio::awaitable<std::optional<std::string>> read_verified(BlockHandle h, const char* what, uint64_t handle_offset) {
    if (!handle_in_file(h, r_.file_size)) {
      r_.problem = corruption(r_.path, handle_offset,
                              std::string(what) + " block handle (offset " + std::to_string(h.offset) + ", size " +
                                  std::to_string(h.size) + ") lies outside the file");
      co_return std::nullopt;
    }
    auto contents = co_await sstable::read_block(file_, h);
    if (!contents) {
      std::string why = co_await diagnose_block(file_, h, contents.error());
      r_.problem = corruption(r_.path, h.offset, std::string(what) + " block: " + why);
      co_return std::nullopt;
    }
    ++r_.blocks_verified;
    co_return std::move(*contents);
  }

  // Every data block named by the index, in order.
  asio::awaitable<void> scan_data_blocks(const Block& index, uint64_t index_offset) {
    BlockIterator idx = index.new_iterator();
    for (idx.seek_to_first(); idx.valid() && !r_.problem; idx.next()) {
      ++r_.index_entries;
      std::string separator(idx.key());
      std::string_view hv = idx.value();
      BlockHandle h;
      if (!h.decode_from(&hv) || !hv.empty()) {
        r_.problem = corruption(r_.path, index_offset,
                                "index entry " + std::to_string(r_.index_entries - 1) + ": malformed block handle");
        co_return;
      }
      auto contents = co_await read_verified(h, "data", index_offset);
      if (!contents) co_return;
      co_await note_block_type(h);
      auto block = Block::parse(std::move(*contents), KeyOrder::internal);
      if (!block) {
        r_.problem = corruption(r_.path, h.offset, "data block: malformed restart array");
        co_return;
      }
      ++r_.data_blocks;
      r_.data_block_bytes += h.size + kBlockTrailerSize;
      r_.largest_block_bytes = std::max<uint64_t>(r_.largest_block_bytes, h.size + kBlockTrailerSize);
      scan_block(*block, h, separator, index_offset);
    }
    if (!r_.problem && !idx.status()) r_.problem = corruption(r_.path, index_offset, "malformed index block entry");
  }

  void set_filter(std::string contents) {
    filter_ = sstable::FilterBlock(contents);
    filter_offset_ = r_.footer->filter_handle.offset;
  }

 private:
  // Counts the block as compressed when its trailer's type byte says so.
  asio::awaitable<void> note_block_type(BlockHandle h) {
    char type = 0;
    auto n = co_await file_.read_at(h.offset + h.size, std::span<char>(&type, 1));
    if (n && *n == 1 && type != 0) ++r_.compressed_blocks;
  }

  void scan_block(const Block& block, BlockHandle h, const std::string& separator, uint64_t index_offset) {
    BlockIterator it = block.new_iterator();
    bool first_in_block = true;
    for (it.seek_to_first(); it.valid(); it.next()) {
      std::string_view key = it.key();
      ParsedInternalKey p;
      if (!parse_internal_key(key, &p)) {
        r_.problem = corruption(r_.path, h.offset, "data block: malformed internal key " + escape_bytes(key));
        return;
      }
      if (r_.entries > 0 && compare_internal_keys(r_.largest_key, key) >= 0) {
        r_.problem = corruption(r_.path, h.offset,
                                "data block: entries out of order: " + describe_internal_key(r_.largest_key) +
                                    " then " + describe_internal_key(key));
        return;
      }
      if (first_in_block && !prev_separator_.empty() && compare_internal_keys(key, prev_separator_) <= 0) {
        r_.problem = corruption(r_.path, index_offset,
                                "index separator " + describe_internal_key(prev_separator_) +
                                    " is not below the next block's first key " + describe_internal_key(key));
        return;
      }
      first_in_block = false;
      count_entry(key, p, it.value());
      if (r_.problem) return;
    }
    if (!it.status()) {
      r_.problem = corruption(r_.path, h.offset, "data block: malformed entry");
      return;
    }
    if (r_.entries > 0 && compare_internal_keys(r_.largest_key, separator) > 0) {
      r_.problem = corruption(r_.path, index_offset,
                              "index separator " + describe_internal_key(separator) +
                                  " sorts before its block's last key " + describe_internal_key(r_.largest_key));
      return;
    }
    prev_separator_ = separator;
  }

  void count_entry(std::string_view key, const ParsedInternalKey& p, std::string_view value) {
    if (r_.entries == 0 || extract_user_key(r_.largest_key) != p.user_key) {
      ++r_.user_keys;
      if (!filter_.empty() && !filter_.may_contain(p.user_key)) {
        r_.problem =
            corruption(r_.path, filter_offset_, "bloom filter: false negative for key " + escape_bytes(p.user_key));
        return;
      }
    }
    if (r_.entries == 0) {
      r_.smallest_key.assign(key);
      r_.smallest_seq = r_.largest_seq = p.sequence;
    }
    r_.largest_key.assign(key);
    ++r_.entries;
    if (p.type == ValueType::deletion) ++r_.deletions;
    r_.raw_key_bytes += key.size();
    r_.raw_value_bytes += value.size();
    r_.smallest_seq = std::min(r_.smallest_seq, p.sequence);
    r_.largest_seq = std::max(r_.largest_seq, p.sequence);
    if (options_.watch != nullptr && p.user_key == options_.watch->user_key) {
      options_.watch->offer(p.sequence, value, p.type == ValueType::deletion);
    }
    if (options_.collect_entries && r_.listed.size() < options_.limit) {
      SstReport::Entry e{std::string(key), value.size(), std::nullopt};
      if (options_.collect_values) e.value.emplace(value);
      r_.listed.push_back(std::move(e));
    }
  }

  io::File& file_;
  SstReport& r_;
  SstScanOptions options_;
  sstable::FilterBlock filter_;
  uint64_t filter_offset_ = 0;
  std::string prev_separator_;
};

// The properties block must agree with what the data blocks hold (TableBuilder computes both).
void check_properties(SstReport& r) {
  const auto& p = *r.properties;
  const auto& f = *r.footer;
  auto mismatch = [&](const char* name, uint64_t stored, uint64_t counted) {
    if (r.problem || stored == counted) return;
    r.problem = corruption(r.path, f.properties_handle.offset,
                           std::string("properties: ") + name + " is " + std::to_string(stored) +
                               " but the table holds " + std::to_string(counted));
  };
  mismatch("strata.num_entries", p.num_entries, r.entries);
  mismatch("strata.num_deletions", p.num_deletions, r.deletions);
  mismatch("strata.raw_key_bytes", p.raw_key_bytes, r.raw_key_bytes);
  mismatch("strata.raw_value_bytes", p.raw_value_bytes, r.raw_value_bytes);
  mismatch("strata.data_bytes", p.data_bytes, r.data_block_bytes);
  mismatch("strata.index_bytes", p.index_bytes, f.index_handle.size + kBlockTrailerSize);
  mismatch("strata.filter_bytes", p.filter_bytes,
           f.filter_handle.size == 0 ? 0 : f.filter_handle.size + kBlockTrailerSize);
  if (r.entries > 0) {
    mismatch("strata.smallest_seq", p.smallest_seq, r.smallest_seq);
    mismatch("strata.largest_seq", p.largest_seq, r.largest_seq);
  }
}

// Footer, index, filter and properties; false (problem set) if the table cannot be read further.
asio::awaitable<bool> read_meta_blocks(io::File& file, SstReport& r, SstScan& scan, std::optional<Block>* index) {
  uint64_t footer_offset = r.file_size - kFooterSize;
  std::string footer_bytes(kFooterSize, '\0');
  auto n = co_await file.read_at(footer_offset, std::span<char>(footer_bytes.data(), kFooterSize));
  if (!n || *n != kFooterSize) {
    r.problem =
        corruption(r.path, footer_offset, n ? "short read of the footer" : "read error: " + n.error().message());
    co_return false;
  }
  auto footer = sstable::Footer::decode(footer_bytes, r.path);
  if (!footer) {
    r.problem = corruption(r.path, footer_offset, diagnose_footer(footer_bytes));
    co_return false;
  }
  r.footer = *footer;

  auto index_contents = co_await scan.read_verified(footer->index_handle, "index", footer_offset);
  if (!index_contents) co_return false;
  auto parsed = Block::parse(std::move(*index_contents), KeyOrder::internal);
  if (!parsed) {
    r.problem = corruption(r.path, footer->index_handle.offset, "index block: malformed restart array");
    co_return false;
  }
  index->emplace(std::move(*parsed));

  if (footer->filter_handle.size > 0) {
    auto filter = co_await scan.read_verified(footer->filter_handle, "filter", footer_offset);
    if (!filter) co_return false;
    r.bloom = describe_bloom(*filter);
    scan.set_filter(std::move(*filter));
  }

  auto props_contents = co_await scan.read_verified(footer->properties_handle, "properties", footer_offset);
  if (!props_contents) co_return false;
  auto props_block = Block::parse(std::move(*props_contents), KeyOrder::bytewise);
  Result<sstable::TableProperties> props = make_error_code(Errc::corruption);
  if (props_block) props = sstable::TableProperties::decode(*props_block);
  if (!props) {
    r.problem = corruption(r.path, footer->properties_handle.offset, "properties block: malformed");
    co_return false;
  }
  r.properties = *props;
  co_return true;
}

}  // namespace

asio::awaitable<SstReport> inspect_sst(io::FileSystem& fs, std::string path, SstScanOptions options) {
  SstReport r;
  r.path = path;
  auto opened = co_await open_read_only(fs, path);
  if (!opened) {
    r.problem = corruption(path, std::nullopt, "cannot open: " + opened.error().message());
    co_return r;
  }
  std::shared_ptr<io::File> file = std::move(*opened);
  auto size = file->size();
  if (!size) {
    r.problem = corruption(path, std::nullopt, "cannot stat: " + size.error().message());
    co_return r;
  }
  r.file_size = *size;
  if (r.file_size < kFooterSize) {
    r.problem = corruption(path, 0,
                           "file of " + std::to_string(r.file_size) + " bytes is too short for the " +
                               std::to_string(kFooterSize) + "-byte footer");
    co_return r;
  }
  SstScan scan(*file, &r, options);
  std::optional<Block> index;
  bool meta_ok = co_await read_meta_blocks(*file, r, scan, &index);
  if (!meta_ok) co_return r;
  co_await scan.scan_data_blocks(*index, r.footer->index_handle.offset);
  if (r.problem) co_return r;
  if (r.bloom.encoding != "none" && r.user_keys > 0) {
    r.bloom.bits_per_key = static_cast<double>(r.bloom.bits) / static_cast<double>(r.user_keys);
  }
  check_properties(r);
  if (r.problem) co_return r;
  // Last, the engine's own open: what the DB does when it first reads the table.
  auto reader = co_await sstable::TableReader::open(file, r.file_size, sstable::TableReadOptions{});
  r.engine_open_ok = static_cast<bool>(reader);
  if (!reader) r.problem = corruption(path, 0, "TableReader::open refuses the table: " + reader.error().message());
  co_return r;
}

boost::json::object sst_report_json(const SstReport& r, bool with_entries) {
  boost::json::object o;
  o["file"] = r.path;
  o["file_size"] = r.file_size;
  o["status"] = r.ok() ? "ok" : "corrupt";
  if (r.footer) {
    auto handle = [](BlockHandle h) { return boost::json::object{{"offset", h.offset}, {"size", h.size}}; };
    o["footer"] = boost::json::object{{"format_version", r.footer->format_version},
                                      {"index", handle(r.footer->index_handle)},
                                      {"filter", handle(r.footer->filter_handle)},
                                      {"properties", handle(r.footer->properties_handle)}};
  }
  if (r.properties) {
    const auto& p = *r.properties;
    o["properties"] =
        boost::json::object{{"num_entries", p.num_entries},     {"num_deletions", p.num_deletions},
                            {"raw_key_bytes", p.raw_key_bytes}, {"raw_value_bytes", p.raw_value_bytes},
                            {"data_bytes", p.data_bytes},       {"index_bytes", p.index_bytes},
                            {"filter_bytes", p.filter_bytes},   {"compression", sstable::to_string(p.compression)},
                            {"smallest_seq", p.smallest_seq},   {"largest_seq", p.largest_seq}};
  }
  o["index"] = boost::json::object{{"entries", r.index_entries}};
  o["data_blocks"] = boost::json::object{{"count", r.data_blocks},
                                         {"bytes", r.data_block_bytes},
                                         {"compressed", r.compressed_blocks},
                                         {"largest_bytes", r.largest_block_bytes}};
  o["bloom"] = boost::json::object{{"encoding", r.bloom.encoding},
                                   {"bytes", r.bloom.bytes},
                                   {"probes", r.bloom.probes},
                                   {"bits", r.bloom.bits},
                                   {"bits_per_key", r.bloom.bits_per_key}};
  o["checksums"] = boost::json::object{{"blocks_verified", r.blocks_verified}, {"ok", r.ok()}};
  o["entries"] = r.entries;
  o["deletions"] = r.deletions;
  o["user_keys"] = r.user_keys;
  if (r.entries > 0) {
    o["smallest"] = internal_key_json(r.smallest_key);
    o["largest"] = internal_key_json(r.largest_key);
  }
  o["engine_open_ok"] = r.engine_open_ok;
  if (with_entries) {
    boost::json::array list;
    for (const auto& e : r.listed) {
      boost::json::object row = internal_key_json(e.internal_key);
      row["value_bytes"] = e.value_bytes;
      if (e.value) row["value"] = escape_bytes(*e.value);
      list.push_back(std::move(row));
    }
    o["listed"] = std::move(list);
  }
  if (r.problem) o["problem"] = r.problem->to_json();
  return o;
}

void print_sst_report(const SstReport& r, bool with_entries) {
  std::printf("sstable %s (%" PRIu64 " bytes)\n", r.path.c_str(), r.file_size);
  if (r.footer) {
    const auto& f = *r.footer;
    std::printf("  footer: format version %u; index at %" PRIu64 " (%" PRIu64 " bytes), filter at %" PRIu64 " (%" PRIu64
                " bytes), properties at %" PRIu64 " (%" PRIu64 " bytes)\n",
                f.format_version, f.index_handle.offset, f.index_handle.size, f.filter_handle.offset,
                f.filter_handle.size, f.properties_handle.offset, f.properties_handle.size);
  }
  if (r.properties) {
    const auto& p = *r.properties;
    std::printf("  properties: %" PRIu64 " entries (%" PRIu64 " deletions), raw keys %" PRIu64 " B, raw values %" PRIu64
                " B, data %" PRIu64 " B, index %" PRIu64 " B, filter %" PRIu64 " B, compression %s, sequence %" PRIu64
                "..%" PRIu64 "\n",
                p.num_entries, p.num_deletions, p.raw_key_bytes, p.raw_value_bytes, p.data_bytes, p.index_bytes,
                p.filter_bytes, std::string(sstable::to_string(p.compression)).c_str(), p.smallest_seq, p.largest_seq);
  }
  if (!r.footer) {
    std::printf("%s\n", r.problem ? r.problem->to_text().c_str() : "ok");
    return;
  }
  std::printf("  index: %" PRIu64 " entries; data blocks: %" PRIu64 " (%" PRIu64 " B, %" PRIu64
              " compressed, largest %" PRIu64 " B)\n",
              r.index_entries, r.data_blocks, r.data_block_bytes, r.compressed_blocks, r.largest_block_bytes);
  std::printf("  bloom: %s, %" PRIu64 " B, %d probes, %.1f bits per key\n", r.bloom.encoding.c_str(), r.bloom.bytes,
              r.bloom.probes, r.bloom.bits_per_key);
  std::printf("  entries read: %" PRIu64 " (%" PRIu64 " user keys, %" PRIu64 " deletions)\n", r.entries, r.user_keys,
              r.deletions);
  if (r.entries > 0) {
    std::printf("  smallest: %s\n  largest:  %s\n", describe_internal_key(r.smallest_key).c_str(),
                describe_internal_key(r.largest_key).c_str());
  }
  if (with_entries) {
    for (const auto& e : r.listed) {
      if (e.value) {
        std::printf("  %s => %s\n", describe_internal_key(e.internal_key).c_str(), escape_bytes(*e.value).c_str());
      } else {
        std::printf("  %s (%" PRIu64 " value bytes)\n", describe_internal_key(e.internal_key).c_str(), e.value_bytes);
      }
    }
  }
  std::printf("  checksums: %" PRIu64 " blocks verified\n", r.blocks_verified);
  if (r.problem)
    std::printf("%s\n", r.problem->to_text().c_str());
  else
    std::printf("ok\n");
}

int run_sst_command(io::FileSystem& fs, const std::vector<std::string>& args, const ToolFlags& flags) {
  SstScanOptions options{.collect_entries = flags.entries, .collect_values = flags.values};
  if (flags.limit) options.limit = *flags.limit;
  SstReport r = run_sync(inspect_sst(fs, args.at(0), options));
  if (flags.json)
    print_json(sst_report_json(r, flags.entries));
  else
    print_sst_report(r, flags.entries);
  return r.ok() ? kExitClean : kExitCorrupt;
}

}  // namespace strata::tool
