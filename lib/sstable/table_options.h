// Options for building (TableOptions) and reading (TableReadOptions) one SSTable.
//
// The DB fills these from its Options (lib/db/options.h); units are in the names.
// Thread-safety: plain values.
#pragma once

#include <cstddef>

#include "lib/sstable/format.h"

namespace strata::sstable {

struct TableOptions {
  // Target uncompressed size of a data block. A block is cut after the entry that reaches it, so
  // a block holding one large value can be much larger.
  size_t block_size_bytes = 4096;
  // Entries between restart points in data blocks (index blocks always use 1).
  int block_restart_interval = 16;
  // Bloom filter bits per user key; 0 builds no filter.
  int bloom_bits_per_key = 10;
  // For data blocks. A block that does not shrink by at least 12.5% is stored uncompressed.
  Compression compression = Compression::none;
};

struct TableReadOptions {
  // Consult the bloom filter in TableReader::get (tests turn it off to exercise the index path).
  bool use_bloom_filter = true;
  // Next issue: a block cache (lib/cache) and the file number that keys it go here.
};

}  // namespace strata::sstable
