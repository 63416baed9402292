#include "lib/raft/codec.h"

#include <algorithm>

#include "lib/util/coding.h"

namespace strata::raft {
namespace {

constexpr uint8_t kFlagReject = 1;
constexpr uint8_t kFlagForce = 2;
constexpr uint8_t kFlagSnapshot = 4;
constexpr uint8_t kKnownFlags = kFlagReject | kFlagForce | kFlagSnapshot;

ErrorCode corrupt() { return make_error_code(Errc::corruption); }

bool get_u8(std::string_view* in, uint8_t* v) {
  if (in->empty()) return false;
  *v = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  return true;
}

void put_ids(std::string* dst, const std::vector<uint64_t>& ids) {
  put_varint64(dst, ids.size());
  for (uint64_t id : ids) put_varint64(dst, id);
}

// Each id takes at least one byte, so a count above the remaining bytes is corrupt: this bounds
// the reservation by the input size.
bool get_ids(std::string_view* in, std::vector<uint64_t>* ids) {
  uint64_t n = 0;
  if (!get_varint64(in, &n) || n > in->size()) return false;
  ids->clear();
  ids->reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t id = 0;
    if (!get_varint64(in, &id) || id == kNone) return false;
    if (!ids->empty() && id <= ids->back()) return false;  // sorted, no duplicates
    ids->push_back(id);
  }
  return true;
}

bool disjoint(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  for (uint64_t x : a) {
    if (std::binary_search(b.begin(), b.end(), x)) return false;
  }
  return true;
}

}  // namespace

void encode_entry(std::string* dst, const Entry& e) {
  put_varint64(dst, e.term);
  put_varint64(dst, e.index);
  dst->push_back(static_cast<char>(e.type));
  put_length_prefixed(dst, e.data);
}

Result<Entry> decode_entry(std::string_view* in) {
  Entry e;
  uint8_t type = 0;
  std::string_view data;
  if (!get_varint64(in, &e.term) || !get_varint64(in, &e.index) || !get_u8(in, &type) ||
      type > static_cast<uint8_t>(EntryType::conf_change) || !get_length_prefixed(in, &data)) {
    return corrupt();
  }
  e.type = static_cast<EntryType>(type);
  e.data.assign(data);
  return e;
}

void encode_snapshot_metadata(std::string* dst, const SnapshotMetadata& md) {
  put_varint64(dst, md.index);
  put_varint64(dst, md.term);
  put_ids(dst, md.conf_state.voters);
  put_ids(dst, md.conf_state.learners);
}

Result<SnapshotMetadata> decode_snapshot_metadata(std::string_view* in) {
  SnapshotMetadata md;
  if (!get_varint64(in, &md.index) || !get_varint64(in, &md.term) || !get_ids(in, &md.conf_state.voters) ||
      !get_ids(in, &md.conf_state.learners) || !disjoint(md.conf_state.voters, md.conf_state.learners)) {
    return corrupt();
  }
  return md;
}

std::string encode_message(const Message& m) {
  std::string dst;
  dst.push_back(static_cast<char>(kMessageFormatVersion));
  dst.push_back(static_cast<char>(m.type));
  for (uint64_t v : {m.to, m.from, m.term, m.log_term, m.index, m.commit, m.reject_hint}) {
    put_varint64(&dst, v);
  }
  uint8_t flags = (m.reject ? kFlagReject : 0) | (m.force ? kFlagForce : 0) | (m.snapshot ? kFlagSnapshot : 0);
  dst.push_back(static_cast<char>(flags));
  put_varint64(&dst, m.entries.size());
  for (const Entry& e : m.entries) encode_entry(&dst, e);
  if (m.snapshot) {
    encode_snapshot_metadata(&dst, m.snapshot->metadata);
    put_length_prefixed(&dst, m.snapshot->data);
  }
  put_length_prefixed(&dst, m.context);
  return dst;
}

Result<Message> decode_message(std::string_view in) {
  Message m;
  uint8_t version = 0, type = 0, flags = 0;
  if (!get_u8(&in, &version) || version != kMessageFormatVersion) return corrupt();
  if (!get_u8(&in, &type) || type > kMaxMessageType) return corrupt();
  m.type = static_cast<MessageType>(type);
  for (uint64_t* v : {&m.to, &m.from, &m.term, &m.log_term, &m.index, &m.commit, &m.reject_hint}) {
    if (!get_varint64(&in, v)) return corrupt();
  }
  if (!get_u8(&in, &flags) || (flags & ~kKnownFlags) != 0) return corrupt();
  m.reject = flags & kFlagReject;
  m.force = flags & kFlagForce;
  uint64_t n = 0;
  // An entry takes at least 4 bytes (term, index, type, data length).
  if (!get_varint64(&in, &n) || n > in.size() / 4) return corrupt();
  m.entries.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    STRATA_TRY_ASSIGN(Entry e, decode_entry(&in));
    m.entries.push_back(std::move(e));
  }
  if (flags & kFlagSnapshot) {
    Snapshot snap;
    STRATA_TRY_ASSIGN(snap.metadata, decode_snapshot_metadata(&in));
    std::string_view data;
    if (!get_length_prefixed(&in, &data)) return corrupt();
    snap.data.assign(data);
    m.snapshot = std::move(snap);
  }
  std::string_view context;
  if (!get_length_prefixed(&in, &context) || !in.empty()) return corrupt();
  m.context.assign(context);
  return m;
}

std::string encode_hard_state(const HardState& hs) {
  std::string dst;
  put_varint64(&dst, hs.term);
  put_varint64(&dst, hs.vote);
  put_varint64(&dst, hs.commit);
  return dst;
}

Result<HardState> decode_hard_state(std::string_view in) {
  HardState hs;
  if (!get_varint64(&in, &hs.term) || !get_varint64(&in, &hs.vote) || !get_varint64(&in, &hs.commit) || !in.empty()) {
    return corrupt();
  }
  return hs;
}

std::string encode_conf_change(const ConfChange& cc) {
  std::string dst;
  dst.push_back(static_cast<char>(cc.type));
  put_varint64(&dst, cc.node_id);
  return dst;
}

Result<ConfChange> decode_conf_change(std::string_view in) {
  ConfChange cc;
  uint8_t type = 0;
  if (!get_u8(&in, &type) || type > static_cast<uint8_t>(ConfChangeType::remove) || !get_varint64(&in, &cc.node_id) ||
      cc.node_id == kNone || !in.empty()) {
    return corrupt();
  }
  cc.type = static_cast<ConfChangeType>(type);
  return cc;
}

}  // namespace strata::raft
