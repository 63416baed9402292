// TableProperties: statistics about one SSTable, stored in its properties block so that tools
// and the DB can read them without scanning the table.
//
// On disk the properties block is an ordinary block (block_builder.h) with bytewise-sorted
// names ("strata.num_entries", ...) as keys and varint64 values. Readers ignore names they do not
// know and leave missing ones at 0, so properties can be added without a format version bump.
// Thread-safety: plain value.
#pragma once

#include <cstdint>
#include <string>

#include "lib/sstable/block.h"
#include "lib/sstable/format.h"
#include "strata/result.h"

namespace strata::sstable {

struct TableProperties {
  uint64_t num_entries = 0;
  uint64_t num_deletions = 0;  // tombstones
  uint64_t raw_key_bytes = 0;  // internal keys, before prefix compression
  uint64_t raw_value_bytes = 0;
  uint64_t data_bytes = 0;                      // data blocks as stored, with trailers
  uint64_t index_bytes = 0;                     // the index block as stored, with its trailer
  uint64_t filter_bytes = 0;                    // the filter block as stored, with its trailer (0: no filter)
  Compression compression = Compression::none;  // the option the data blocks were written with
  uint64_t smallest_seq = 0;                    // 0 when the table is empty
  uint64_t largest_seq = 0;

  bool operator==(const TableProperties&) const = default;

  // The properties block's contents (uncompressed).
  std::string encode() const;
  // Errors: corruption if the block or a value is malformed.
  static Result<TableProperties> decode(const Block& block);
};

}  // namespace strata::sstable
