#include "lib/sstable/block_builder.h"

#include <algorithm>

#include "lib/util/assert.h"
#include "lib/util/coding.h"

namespace strata::sstable {

BlockBuilder::BlockBuilder(int restart_interval) : restart_interval_(restart_interval) {
  STRATA_ASSERT(restart_interval >= 1);
  restarts_.push_back(0);
}

void BlockBuilder::reset() {
  buffer_.clear();
  restarts_.clear();
  restarts_.push_back(0);
  counter_ = 0;
  num_entries_ = 0;
  finished_ = false;
  last_key_.clear();
}

size_t BlockBuilder::current_size_estimate() const { return buffer_.size() + restarts_.size() * 4 + 4; }

void BlockBuilder::add(std::string_view key, std::string_view value) {
  STRATA_ASSERT(!finished_);
  size_t shared = 0;
  if (counter_ < restart_interval_) {
    size_t min_len = std::min(last_key_.size(), key.size());
    while (shared < min_len && last_key_[shared] == key[shared]) ++shared;
  } else {
    restarts_.push_back(static_cast<uint32_t>(buffer_.size()));
    counter_ = 0;
  }
  size_t non_shared = key.size() - shared;
  STRATA_ASSERT(key.size() <= UINT32_MAX && value.size() <= UINT32_MAX);
  put_varint32(&buffer_, static_cast<uint32_t>(shared));
  put_varint32(&buffer_, static_cast<uint32_t>(non_shared));
  put_varint32(&buffer_, static_cast<uint32_t>(value.size()));
  buffer_.append(key.substr(shared));
  buffer_.append(value);
  STRATA_ASSERT_MSG(buffer_.size() < UINT32_MAX - restarts_.size() * 4 - 4, "block too large");
  last_key_.resize(shared);
  last_key_.append(key.substr(shared));
  ++counter_;
  ++num_entries_;
}

std::string_view BlockBuilder::finish() {
  STRATA_ASSERT(!finished_);
  // An empty block keeps no restart point, so readers need not special-case restart[0] == end.
  if (num_entries_ == 0) restarts_.clear();
  for (uint32_t r : restarts_) put_fixed32(&buffer_, r);
  put_fixed32(&buffer_, static_cast<uint32_t>(restarts_.size()));
  finished_ = true;
  return buffer_;
}

}  // namespace strata::sstable
