// Workloads of strata-bench: what each benchmark does, its keys and its values (db_bench's names
// and semantics, after RocksDB's tools/db_bench_tool.cc).
//
//   fillseq            put keys 0..num-1 in order into a fresh DB (no sync)
//   fillrandom         put num uniformly random keys from [0, num) into a fresh DB (no sync)
//   overwrite          fillrandom on the existing DB
//   readrandom         get num uniformly random keys from [0, num) (after fillrandom ~63% exist)
//   readmissing        get num keys that are never present (last byte replaced by '.')
//   readrandom[:T]     with :T, on T threads (the peers' reader threads; Strata's executor threads,
//                      still running --concurrency coroutines)
//   multireadrandom[:T] readrandom in batches of kMultiGetKeys keys per call (Strata's multi_get,
//                      RocksDB's MultiGet, LevelDB's Get in a loop); ops are keys
//   seekrandom[:N]     seek to num random keys and read that entry plus the next N (default 10)
//   scan               one forward scan of the whole DB by one reader; ops are entries, and the
//                      report adds MB/s of keys and values
//   readwhilewriting   readrandom from the workers while one more writer puts random keys;
//                      throughput counts the reads only
//   fillsync[:W]       put num random keys from W concurrent writers, each write synced
//                      (fdatasync before acknowledgement), into a fresh DB
//
// Keys are --key-size bytes: the decimal key number zero-padded on the left (so that byte order
// is numeric order). Values are slices of a 1 MiB buffer in which every 100-byte piece is half
// random printable bytes and half a repetition of them, so they compress about 2x (db_bench's
// RandomGenerator with compression_ratio 0.5).
// Thread-safety: BenchmarkSpec and ValueBuffer are immutable after construction; KeyMaker and
// ValueCursor are per worker.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/util/random.h"

namespace strata::bench {

enum class Workload {
  fillseq,
  fillrandom,
  overwrite,
  readrandom,
  multireadrandom,
  readmissing,
  seekrandom,
  scan,
  readwhilewriting,
  fillsync
};

enum class OpKind { put, get, multiget, seek, scan };

struct BenchmarkSpec {
  Workload workload = Workload::fillrandom;
  int writers = 0;      // fillsync: concurrent writers (0: the engine's default concurrency)
  int threads = 0;      // readrandom, multireadrandom: reader threads (0: --threads)
  int seek_nexts = 10;  // seekrandom: entries read after the seek
  std::string label;    // as printed and in JSON: "fillrandom", "fillsync:8"

  // Starts from an empty DB (db_bench's fresh_db).
  bool fresh_db() const;
  // Reads the DB a previous fill wrote (needs the DB filled with the same --num).
  bool needs_data() const;
  OpKind op() const;
  bool sync() const { return workload == Workload::fillsync; }
};

// Parses "fillrandom", "fillsync:64", ... nullopt for an unknown name or a bad writer count.
std::optional<BenchmarkSpec> parse_benchmark(std::string_view text);
// Parses a comma-separated list; the error names the bad item.
bool parse_benchmark_list(std::string_view list, std::vector<BenchmarkSpec>* out, std::string* error);

// Keys per multireadrandom call (RocksDB's db_bench multireadrandom default batch is 1024 with
// 32 used by many of its published runs; the issue asks for 32).
constexpr int kMultiGetKeys = 32;

// Makes the key of the i-th operation of a workload.
class KeyMaker {
 public:
  // REQUIRES: key_size >= 8 and key_space >= 1.
  KeyMaker(size_t key_size, uint64_t key_space, uint64_t seed)
      : key_size_(key_size), key_space_(key_space), rnd_(seed) {}

  // Writes the key of operation `i` of `w` into *key (resized to key_size).
  void make(Workload w, uint64_t i, std::string* key);
  // A uniformly random existing-range key (the writer of readwhilewriting).
  void make_random(std::string* key) { format(rnd_.uniform(key_space_), key); }

  void format(uint64_t k, std::string* key) const;

 private:
  size_t key_size_;
  uint64_t key_space_;
  Random rnd_;
};

// The shared 1 MiB value source.
class ValueBuffer {
 public:
  static constexpr size_t kBytes = 1 << 20;
  explicit ValueBuffer(uint64_t seed, double compression_ratio = 0.5);
  std::string_view data() const { return data_; }

 private:
  std::string data_;
};

// A worker's position in the ValueBuffer.
class ValueCursor {
 public:
  // REQUIRES: value_size <= ValueBuffer::kBytes.
  ValueCursor(const ValueBuffer& buffer, size_t value_size, size_t start)
      : data_(buffer.data()), size_(value_size), pos_(start % (ValueBuffer::kBytes - value_size + 1)) {}
  // The next value; valid as long as the ValueBuffer.
  std::string_view next() {
    if (pos_ + size_ > data_.size()) pos_ = 0;
    std::string_view v = data_.substr(pos_, size_);
    pos_ += size_;
    return v;
  }

 private:
  std::string_view data_;
  size_t size_;
  size_t pos_;
};

}  // namespace strata::bench
