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
  static constexpr size_t kHeaderSize = 12;

  WriteBatch() { clear(); }

  void put(std::string_view key, std::string_view value);
  void del(std::string_view key);
  void clear();

  uint32_t count() const;
  bool empty() const { return count() == 0; }
  // Size of the representation in bytes.
  size_t byte_size() const { return rep_.size(); }

  SequenceNumber sequence() const;
  void set_sequence(SequenceNumber seq);

  // Appends every record of `other` to this batch.
  void append(const WriteBatch& other);

  const std::string& rep() const { return rep_; }
  // Adopts a representation read from the WAL. Errors: corruption if it is shorter than the
  // header (the records are validated by iterate()).
  static Result<WriteBatch> from_rep(std::string rep);

  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void put(SequenceNumber seq, std::string_view key, std::string_view value) = 0;
    virtual void del(SequenceNumber seq, std::string_view key) = 0;
  };
  // Calls the handler once per record, with sequence numbers sequence(), sequence()+1, ...
  // Errors: corruption if a record is malformed or the count does not match.
  Result<void> iterate(Handler& handler) const;

 private:
  void set_count(uint32_t n);
  std::string rep_;
};

}  // namespace strata
