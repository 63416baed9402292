// Options for building (TableOptions) and reading (TableReadOptions) one SSTable.
//
// The DB fills these from its Options (include/strata/options.h); units are in the names.
// Thread-safety: plain values.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/sstable/format.h"
#include "lib/sstable/read_stats.h"

namespace strata::cache {
class LruCache;
}

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
  // The cache of parsed data blocks, usually shared by every table of a DB; nullptr: none (every
  // data block is read from the file). Values are shared_ptr<const Block>, charged their size in
  // bytes. REQUIRES: outlives the reader.
  cache::LruCache* block_cache = nullptr;
  // Names this table's blocks in block_cache (the SSTable's file number): unique among the tables
  // that share the cache. The cache key is fixed64(cache_id) | fixed64(block offset).
  uint64_t cache_id = 0;
  // Where the reader counts bloom checks, cache hits and block reads; usually one ReadStats shared
  // by every table of a DB. nullptr: a ReadStats private to the reader. REQUIRES: outlives it.
  ReadStats* stats = nullptr;
  // Serve uncompressed data blocks from a read-only memory mapping of the file, as LevelDB does
  // on 64-bit hosts: no copy, no system call, no block cache insert. A block is read from the
  // file (checksum verified, io_uring when not page-cached) the first time it is needed; only
  // then is it served from the mapping, so a block is never used unverified and the first touch
  // of a page never waits for the disk on the reading thread. A page the OS evicts later faults
  // back in on the reading thread (as in LevelDB): for data sets much larger than memory turn
  // this off. Tables with compression, and files that cannot be mapped, use the block cache.
  bool mmap_reads = false;
};

}  // namespace strata::sstable
