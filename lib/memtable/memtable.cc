#include "lib/memtable/memtable.h"

#include <cstring>

#include "lib/util/coding.h"

namespace strata {
namespace {

// Decodes the length-prefixed slice at p. Entries come from our own arena, so they are
// well-formed by construction.
std::string_view length_prefixed(const char* p) {
  uint32_t len = 0;
  const char* q = decode_varint32(p, p + 5, &len);
  return {q, len};
}

}  // namespace

int MemTable::EntryComparator::operator()(const char* a, const char* b) const {
  return compare_internal_keys(length_prefixed(a), length_prefixed(b));
}

MemTable::MemTable(size_t bloom_bytes, bool huge_pages)
    : arena_(huge_pages), bloom_(bloom_bytes), table_(EntryComparator{}, &arena_) {}

void MemTable::add(SequenceNumber seq, ValueType type, std::string_view user_key, std::string_view value) {
  size_t ikey_size = user_key.size() + kTagSize;
  size_t encoded = varint_length(ikey_size) + ikey_size + varint_length(value.size()) + value.size();
  // The filter's bits before the entry: a reader that sees the entry sees them (memtable_bloom.h).
  if (bloom_.enabled()) bloom_.add(MemTableBloom::hash(user_key));
  // The entry lives in its skiplist node: a search touches one cache line per node, not two.
  table_.insert_inline(encoded, [&](char* buf) -> const char* {
    char* p = encode_varint32(buf, static_cast<uint32_t>(ikey_size));
    if (!user_key.empty()) std::memcpy(p, user_key.data(), user_key.size());
    p += user_key.size();
    encode_fixed64(p, pack_tag(seq, type));
    p += kTagSize;
    p = encode_varint32(p, static_cast<uint32_t>(value.size()));
    if (!value.empty()) std::memcpy(p, value.data(), value.size());  // data() may be null
    STRATA_ASSERT(p + value.size() == buf + encoded);
    return buf;
  });
  if (type == ValueType::deletion) num_deletions_.fetch_add(1, std::memory_order_relaxed);
  num_entries_.fetch_add(1, std::memory_order_release);
}

std::optional<MemTable::LookupResult> MemTable::get(std::string_view user_key, SequenceNumber seq) const {
  // An empty memtable (the usual state right after a flush) answers without touching the filter
  // or the skiplist. An entry a read must see was added before the read's sequence number was
  // published, so its count is visible here (add() increments it with release).
  if (empty()) return std::nullopt;
  if (bloom_.enabled() && !bloom_.may_contain(MemTableBloom::hash(user_key))) return std::nullopt;
  // The skiplist compares encoded entries (varint32 length | internal key): build the target on
  // the stack when it fits, so a point read allocates nothing here unless it finds a value.
  const size_t ikey_size = user_key.size() + kTagSize;
  char stack[128];
  std::string heap;
  char* target = stack;
  if (5 + ikey_size > sizeof stack) {
    heap.resize(5 + ikey_size);
    target = heap.data();
  }
  char* p = encode_varint32(target, static_cast<uint32_t>(ikey_size));
  if (!user_key.empty()) std::memcpy(p, user_key.data(), user_key.size());
  encode_fixed64(p + user_key.size(), pack_tag(seq, kValueTypeForSeek));
  SkipList<const char*, EntryComparator>::Iterator it(&table_);
  it.seek(target);
  if (!it.valid()) return std::nullopt;
  const std::string_view ikey = length_prefixed(it.key());
  ParsedInternalKey parsed;
  STRATA_ASSERT(parse_internal_key(ikey, &parsed));
  if (parsed.user_key != user_key) return std::nullopt;
  LookupResult r;
  if (parsed.type == ValueType::deletion) {
    r.deleted = true;
  } else {
    r.value.assign(length_prefixed(ikey.data() + ikey.size()));
  }
  return r;
}

std::string_view MemTable::Iterator::key() const { return length_prefixed(it_.key()); }

std::string_view MemTable::Iterator::value() const {
  std::string_view k = length_prefixed(it_.key());
  return length_prefixed(k.data() + k.size());
}

void MemTable::Iterator::seek(std::string_view internal_key) {
  // The skiplist compares encoded entries, so encode the target the same way.
  seek_buf_.clear();
  put_varint32(&seek_buf_, static_cast<uint32_t>(internal_key.size()));
  seek_buf_.append(internal_key);
  it_.seek(seek_buf_.data());
}

namespace {

class MemTableInternalIterator final : public InternalIterator {
 public:
  // `owner` empty: `mem` is borrowed (new_borrowed_iterator).
  MemTableInternalIterator(std::shared_ptr<const MemTable> owner, const MemTable* mem)
      : owner_(std::move(owner)), it_(mem) {}

  bool valid() const override { return it_.valid(); }
  std::string_view key() const override { return it_.key(); }
  std::string_view value() const override { return it_.value(); }
  boost::asio::awaitable<Result<void>> seek_to_first() override {
    it_.seek_to_first();
    co_return ok();
  }
  boost::asio::awaitable<Result<void>> seek_to_last() override {
    it_.seek_to_last();
    co_return ok();
  }
  boost::asio::awaitable<Result<void>> seek(std::string_view target) override {
    it_.seek(target);
    co_return ok();
  }
  boost::asio::awaitable<Result<void>> next() override {
    it_.next();
    co_return ok();
  }
  bool try_next(Result<void>* r) override {
    it_.next();
    *r = ok();
    return true;
  }
  bool try_seek(std::string_view target, Result<void>* r) override {
    it_.seek(target);
    *r = ok();
    return true;
  }
  bool try_seek_to_first(Result<void>* r) override {
    it_.seek_to_first();
    *r = ok();
    return true;
  }
  boost::asio::awaitable<Result<void>> prev() override {
    it_.prev();
    co_return ok();
  }

 private:
  std::shared_ptr<const MemTable> owner_;  // empty when borrowed
  MemTable::Iterator it_;
};

}  // namespace

std::unique_ptr<InternalIterator> MemTable::new_internal_iterator(std::shared_ptr<const MemTable> mem) {
  const MemTable* raw = mem.get();
  return std::make_unique<MemTableInternalIterator>(std::move(mem), raw);
}

std::unique_ptr<InternalIterator> MemTable::new_borrowed_iterator(const MemTable& mem) {
  return std::make_unique<MemTableInternalIterator>(nullptr, &mem);
}

}  // namespace strata
