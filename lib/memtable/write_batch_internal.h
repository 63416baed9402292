// WriteBatchInternal: what the engine needs of a WriteBatch and users do not: its byte
// representation (the WAL record and Raft command payload, docs/format/wal.md) and the sequence
// number of its first record. Kept out of the public header, as LevelDB keeps
// db/write_batch_internal.h out of include/leveldb/.
// Thread-safety: as WriteBatch (none).
#pragma once

#include <string>

#include "strata/write_batch.h"

namespace strata {

class WriteBatchInternal {
 public:
  // Bytes of the representation's header (sequence fixed64, count fixed32).
  static constexpr size_t kHeaderSize = WriteBatch::kHeaderSize;

  static SequenceNumber sequence(const WriteBatch& batch) { return batch.sequence(); }
  static void set_sequence(WriteBatch* batch, SequenceNumber seq) { batch->set_sequence(seq); }
  static const std::string& contents(const WriteBatch& batch) { return batch.rep_; }
  // Adopts a representation read from the WAL or a Raft entry. Errors: corruption if it is
  // shorter than the header (the records are validated by WriteBatch::iterate()).
  static Result<WriteBatch> from_contents(std::string rep) { return WriteBatch::from_rep(std::move(rep)); }
};

}  // namespace strata
