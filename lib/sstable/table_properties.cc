#include "lib/sstable/table_properties.h"

#include <map>
#include <utility>

#include "lib/sstable/block_builder.h"
#include "lib/util/coding.h"

namespace strata::sstable {

namespace {

// Every property as (name, pointer to its field); one list for encode and decode.
template <class P>
auto fields(P& p) {
  return std::map<std::string_view, decltype(&p.num_entries)>{
      {"strata.data_bytes", &p.data_bytes},       {"strata.filter_bytes", &p.filter_bytes},
      {"strata.index_bytes", &p.index_bytes},     {"strata.largest_seq", &p.largest_seq},
      {"strata.num_deletions", &p.num_deletions}, {"strata.num_entries", &p.num_entries},
      {"strata.raw_key_bytes", &p.raw_key_bytes}, {"strata.raw_value_bytes", &p.raw_value_bytes},
      {"strata.smallest_seq", &p.smallest_seq},
  };
}
constexpr std::string_view kCompressionName = "strata.compression";

}  // namespace

std::string TableProperties::encode() const {
  std::map<std::string_view, uint64_t> sorted;
  for (auto [name, field] : fields(*this)) sorted[name] = *field;
  sorted[kCompressionName] = static_cast<uint64_t>(compression);
  BlockBuilder builder(1);
  std::string value;
  for (auto [name, v] : sorted) {
    value.clear();
    put_varint64(&value, v);
    builder.add(name, value);
  }
  return std::string(builder.finish());
}

Result<TableProperties> TableProperties::decode(const Block& block) {
  TableProperties p;
  auto map = fields(p);
  BlockIterator it = block.new_iterator();
  for (it.seek_to_first(); it.valid(); it.next()) {
    std::string_view in = it.value();
    uint64_t v = 0;
    if (!get_varint64(&in, &v)) return make_error_code(Errc::corruption);
    if (it.key() == kCompressionName) {
      p.compression = static_cast<Compression>(v);
    } else if (auto f = map.find(it.key()); f != map.end()) {
      *f->second = v;
    }
  }
  if (!it.status()) return it.status().error();
  return p;
}

}  // namespace strata::sstable
