#include "lib/sstable/block.h"

#include "lib/util/assert.h"
#include "lib/util/coding.h"
#include "lib/util/internal_key.h"

namespace strata::sstable {

Result<std::pair<uint32_t, uint32_t>> Block::check(std::string_view contents) {
  auto corrupt = make_error_code(Errc::corruption);
  if (contents.size() < 4 || contents.size() > UINT32_MAX) return corrupt;
  uint64_t num_restarts = decode_fixed32(contents.data() + contents.size() - 4);
  uint64_t max_restarts = (contents.size() - 4) / 4;
  if (num_restarts > max_restarts) return corrupt;
  auto restart_offset = static_cast<uint32_t>(contents.size() - 4 - num_restarts * 4);
  // Entries exist iff restarts do; restart[0] is the first entry; restarts strictly increase.
  if ((num_restarts == 0) != (restart_offset == 0)) return corrupt;
  uint32_t prev = 0;
  for (uint32_t i = 0; i < num_restarts; ++i) {
    uint32_t r = decode_fixed32(contents.data() + restart_offset + 4 * i);
    if (r >= restart_offset || (i == 0 && r != 0) || (i > 0 && r <= prev)) return corrupt;
    prev = r;
  }
  return std::pair<uint32_t, uint32_t>(restart_offset, static_cast<uint32_t>(num_restarts));
}

Result<Block> Block::parse(std::string contents, KeyOrder order) {
  auto checked = check(contents);
  if (!checked) return checked.error();
  std::string_view view;  // set from owned_ by the constructor
  return Block(std::move(contents), view, checked->first, checked->second, order);
}

Result<Block> Block::parse_view(std::string_view contents, KeyOrder order) {
  auto checked = check(contents);
  if (!checked) return checked.error();
  return Block(std::string(), contents, checked->first, checked->second, order);
}

Result<Block> Block::view_verified(std::string_view contents, KeyOrder order) {
  if (contents.size() < 4 || contents.size() > UINT32_MAX) return make_error_code(Errc::corruption);
  uint64_t num_restarts = decode_fixed32(contents.data() + contents.size() - 4);
  if (num_restarts > (contents.size() - 4) / 4) return make_error_code(Errc::corruption);
  auto restart_offset = static_cast<uint32_t>(contents.size() - 4 - num_restarts * 4);
  // The iterator bounds-checks every entry and restart it decodes, so even bytes that changed
  // since they were verified cannot make it read outside the block.
  return Block(std::string(), contents, restart_offset, static_cast<uint32_t>(num_restarts), order);
}

// Moving a std::string may move its bytes (the small-string buffer): re-point the view.
Block::Block(Block&& other) noexcept
    : owned_(std::move(other.owned_)),
      data_(owned_.empty() ? other.data_ : std::string_view(owned_)),
      restart_offset_(other.restart_offset_),
      num_restarts_(other.num_restarts_),
      order_(other.order_) {}

Block& Block::operator=(Block&& other) noexcept {
  owned_ = std::move(other.owned_);
  data_ = owned_.empty() ? other.data_ : std::string_view(owned_);
  restart_offset_ = other.restart_offset_;
  num_restarts_ = other.num_restarts_;
  order_ = other.order_;
  return *this;
}

uint32_t Block::restart_point(uint32_t i) const {
  STRATA_ASSERT(i < num_restarts_);
  return decode_fixed32(data_.data() + restart_offset_ + 4 * i);
}

BlockIterator Block::new_iterator() const { return BlockIterator(this); }

namespace {
const Block& empty_block() {
  static const Block empty = *Block::parse(std::string(4, '\0'), KeyOrder::bytewise);  // 0 restarts
  return empty;
}
}  // namespace

BlockIterator::BlockIterator() : BlockIterator(&empty_block()) {}

BlockIterator::BlockIterator(const Block* block)
    : block_(block),
      current_(block->restart_offset_),
      next_offset_(block->restart_offset_),
      restart_index_(block->num_restarts_) {}

std::string_view BlockIterator::value() const {
  STRATA_ASSERT(valid());
  return block_->data_.substr(value_offset_, value_size_);
}

int BlockIterator::compare(std::string_view a, std::string_view b) const {
  if (block_->order_ == KeyOrder::internal) return compare_internal_keys(a, b);
  return a.compare(b);
}

void BlockIterator::mark_end() {
  current_ = next_offset_ = block_->restart_offset_;
  restart_index_ = block_->num_restarts_;
  key_.clear();
  value_offset_ = value_size_ = 0;
}

void BlockIterator::mark_corrupt() {
  mark_end();
  status_ = make_error_code(Errc::corruption);
}

void BlockIterator::seek_to_restart(uint32_t index) {
  key_.clear();
  restart_index_ = index;
  next_offset_ = block_->restart_point(index);
}

bool BlockIterator::parse_next_entry() {
  if (!status_) return false;
  const char* base = block_->data_.data();
  const char* limit = base + block_->restart_offset_;
  current_ = next_offset_;
  if (current_ >= block_->restart_offset_) {
    mark_end();
    return false;
  }
  const char* p = base + current_;
  uint32_t shared = 0, non_shared = 0, value_size = 0;
  if ((p = decode_varint32(p, limit, &shared)) == nullptr || (p = decode_varint32(p, limit, &non_shared)) == nullptr ||
      (p = decode_varint32(p, limit, &value_size)) == nullptr ||
      uint64_t{non_shared} + value_size > static_cast<uint64_t>(limit - p) || shared > key_.size()) {
    mark_corrupt();
    return false;
  }
  // Advance restart_index_ to the restart block holding current_.
  while (restart_index_ + 1 < block_->num_restarts_ && block_->restart_point(restart_index_ + 1) <= current_) {
    ++restart_index_;
  }
  // A restart point stores its whole key: a reader may start decoding there.
  if (shared != 0 && block_->restart_point(restart_index_) == current_) {
    mark_corrupt();
    return false;
  }
  key_.resize(shared);
  key_.append(p, non_shared);
  p += non_shared;
  if (block_->order_ == KeyOrder::internal && key_.size() < kTagSize) {
    mark_corrupt();
    return false;
  }
  value_offset_ = static_cast<uint32_t>(p - base);
  value_size_ = value_size;
  next_offset_ = value_offset_ + value_size;
  return true;
}

bool BlockIterator::restart_key(uint32_t index, std::string_view* key) {
  const char* base = block_->data_.data();
  const char* limit = base + block_->restart_offset_;
  const char* p = base + block_->restart_point(index);
  uint32_t shared = 0, non_shared = 0, value_size = 0;
  if ((p = decode_varint32(p, limit, &shared)) == nullptr || (p = decode_varint32(p, limit, &non_shared)) == nullptr ||
      (p = decode_varint32(p, limit, &value_size)) == nullptr || shared != 0 ||
      non_shared > static_cast<uint64_t>(limit - p) ||
      (block_->order_ == KeyOrder::internal && non_shared < kTagSize)) {
    return false;
  }
  *key = std::string_view(p, non_shared);
  return true;
}

void BlockIterator::seek_to_first() {
  if (!status_ || block_->num_restarts_ == 0) return mark_end();
  seek_to_restart(0);
  parse_next_entry();
}

void BlockIterator::seek_to_last() {
  if (!status_ || block_->num_restarts_ == 0) return mark_end();
  seek_to_restart(block_->num_restarts_ - 1);
  while (parse_next_entry() && next_offset_ < block_->restart_offset_) {
  }
}

void BlockIterator::seek(std::string_view target) {
  if (!status_ || block_->num_restarts_ == 0) return mark_end();
  seek(target, 0, block_->num_restarts_ - 1);
}

void BlockIterator::seek(std::string_view target, uint32_t left, uint32_t right) {
  STRATA_ASSERT(block_->order_ != KeyOrder::internal || target.size() >= kTagSize);
  if (!status_ || block_->num_restarts_ == 0) return mark_end();
  STRATA_ASSERT(left <= right && right < block_->num_restarts_);
  // Binary search for the last restart point whose key is < target (LevelDB's Block::Iter::Seek).
  while (left < right) {
    uint32_t mid = left + (right - left + 1) / 2;
    std::string_view mid_key;
    if (!restart_key(mid, &mid_key)) return mark_corrupt();
    if (compare(mid_key, target) < 0) {
      left = mid;
    } else {
      right = mid - 1;
    }
  }
  seek_to_restart(left);
  while (parse_next_entry()) {
    if (compare(key_, target) >= 0) return;
  }
}

void BlockIterator::next() {
  STRATA_ASSERT(valid());
  parse_next_entry();
}

void BlockIterator::prev() {
  STRATA_ASSERT(valid());
  // Back up to a restart point before the current entry, then scan forward to the entry just
  // before it.
  const uint32_t original = current_;
  while (block_->restart_point(restart_index_) >= original) {
    if (restart_index_ == 0) return mark_end();  // the current entry is the first
    --restart_index_;
  }
  seek_to_restart(restart_index_);
  // next_offset_ strictly increases, so this ends even in a malformed block.
  while (parse_next_entry() && next_offset_ < original) {
  }
  // In a well-formed block the previous entry ends where the original began. Anything else would
  // let a backward scan revisit entries forever.
  if (valid() && next_offset_ != original) mark_corrupt();
}

}  // namespace strata::sstable
