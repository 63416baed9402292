// WriteBatch: a list of puts and deletes applied atomically, in order, with consecutive sequence
// numbers. Its byte representation is the WAL record payload (docs/format/wal.md):
//
//   rep := sequence (fixed64) | count (fixed32) | record*
//   record := kTypeValue (1) | varint key_len | key | varint value_len | value
//           | kTypeDeletion (0) | varint key_len | key
//
// (the layout of LevelDB's db/write_batch.cc).
// Thread-safety: none; a batch is built by one caller and then handed to the DB.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "strata/types.h"
#include "strata/result.h"

namespace strata {

class WriteBatch {
 public:
  WriteBatch() { clear(); }

  void put(std::string_view key, std::string_view value);
  void del(std::string_view key);
  void clear();

  uint32_t count() const;
  bool empty() const { return count() == 0; }
  // Size of the representation in bytes (what the batch costs in the WAL, before framing).
  size_t byte_size() const { return rep_.size(); }

  // Appends every record of `other` to this batch.
  void append(const WriteBatch& other);

  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void put(SequenceNumber seq, std::string_view key, std::string_view value) = 0;
    virtual void del(SequenceNumber seq, std::string_view key) = 0;
  };
  // Calls the handler once per record, in order. The sequence numbers are those the batch got
  // when it was written (consecutive), or from 0 for a batch not yet written.
  // Errors: corruption if a record is malformed or the count does not match.
  Result<void> iterate(Handler& handler) const;

 private:
  // The engine's access to the representation and the sequence number:
  // lib/memtable/write_batch_internal.h (LevelDB's WriteBatchInternal).
  friend class WriteBatchInternal;
  static constexpr size_t kHeaderSize = 12;

  SequenceNumber sequence() const;
  void set_sequence(SequenceNumber seq);
  static Result<WriteBatch> from_rep(std::string rep);
  void set_count(uint32_t n);
  std::string rep_;
};

}  // namespace strata
