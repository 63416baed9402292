// SkipList: the memtable's ordered index (W. Pugh, "Skip Lists: A Probabilistic Alternative to
// Balanced Trees", 1990; the concurrency scheme of LevelDB's db/skiplist.h).
//
// Nodes are allocated from an Arena and never freed before the list is destroyed. Keys are
// immutable once inserted; duplicates are not allowed.
//
// Thread-safety: ONE writer at a time (callers serialize insert(); in Strata the write-group
// leader), and any number of concurrent readers without locks. A node's links are published
// with release stores after the node is fully initialized, and readers load them with acquire,
// so a reader sees either the list before or after an insert, never a half-built node.
#pragma once

#include <atomic>
#include <cstdint>
#include <new>

#include "lib/util/arena.h"
#include "lib/util/assert.h"
#include "lib/util/random.h"

namespace strata {

// Comparator: int operator()(const Key& a, const Key& b) const returning <0, 0, >0.
template <typename Key, class Comparator>
class SkipList {
  struct Node;

 public:
  static constexpr int kMaxHeight = 12;

  // REQUIRES: arena outlives the list.
  SkipList(Comparator cmp, Arena* arena);
  SkipList(const SkipList&) = delete;
  SkipList& operator=(const SkipList&) = delete;

  // REQUIRES: nothing equal to key is in the list; external synchronization of writers.
  void insert(const Key& key);

  // insert() of a key whose bytes live in its node: allocates the node with `key_bytes` bytes of
  // storage right after its links, calls encode(storage) to write the key there, and inserts the
  // Key that encode returns (which refers to the storage). A search then finds a node's links and
  // the first bytes of its key in one cache line instead of two places in the arena (the idea of
  // RocksDB's InlineSkipList). `encode` is called exactly once, before the search.
  // REQUIRES: as insert(); the encoded key equals nothing in the list.
  template <class Encode>
  void insert_inline(size_t key_bytes, Encode&& encode);
  bool contains(const Key& key) const;

  // Iteration over a list that may be concurrently inserted into.
  class Iterator {
   public:
    explicit Iterator(const SkipList* list) : list_(list) {}
    bool valid() const { return node_ != nullptr; }
    // REQUIRES: valid().
    const Key& key() const { return node_->key; }
    void next() { node_ = node_->next(0); }
    // O(log n): searches for the last node before the current one.
    void prev() {
      node_ = list_->find_less_than(node_->key);
      if (node_ == list_->head_) node_ = nullptr;
    }
    // First entry >= target.
    void seek(const Key& target) { node_ = list_->find_greater_or_equal(target, nullptr); }
    void seek_to_first() { node_ = list_->head_->next(0); }
    void seek_to_last() {
      node_ = list_->find_last();
      if (node_ == list_->head_) node_ = nullptr;
    }

   private:
    const SkipList* list_;
    Node* node_ = nullptr;
  };

 private:
  struct Node {
    explicit Node(const Key& k) : key(k) {}
    Key const key;
    Node* next(int n) { return next_[n].load(std::memory_order_acquire); }
    void set_next(int n, Node* x) { next_[n].store(x, std::memory_order_release); }
    Node* relaxed_next(int n) { return next_[n].load(std::memory_order_relaxed); }
    void relaxed_set_next(int n, Node* x) { next_[n].store(x, std::memory_order_relaxed); }
    // Length equals the node's height; allocated past the end of the struct.
    std::atomic<Node*> next_[1];
  };

  Node* new_node(const Key& key, int height);
  // Raw storage for a node of `height` followed by `extra_bytes`; the node is built in place.
  char* allocate_node(int height, size_t extra_bytes);
  static size_t node_bytes(int height) { return sizeof(Node) + sizeof(std::atomic<Node*>) * (height - 1); }
  // Links x (built, of `height`) into the list after the search for its key.
  void link(Node* x, int height);
  int random_height();
  int max_height() const { return max_height_.load(std::memory_order_relaxed); }
  bool key_is_after_node(const Key& key, Node* n) const { return n != nullptr && compare_(n->key, key) < 0; }
  // First node >= key; fills prev[level] with the last node < key at each level if prev != nullptr.
  Node* find_greater_or_equal(const Key& key, Node** prev) const;
  Node* find_less_than(const Key& key) const;
  Node* find_last() const;

  Comparator const compare_;
  Arena* const arena_;
  Node* const head_;
  std::atomic<int> max_height_{1};
  Random rnd_{0xdeadbeef};
};

template <typename Key, class Comparator>
SkipList<Key, Comparator>::SkipList(Comparator cmp, Arena* arena)
    : compare_(cmp), arena_(arena), head_(new_node(Key{}, kMaxHeight)) {
  for (int i = 0; i < kMaxHeight; ++i) head_->set_next(i, nullptr);
}

template <typename Key, class Comparator>
char* SkipList<Key, Comparator>::allocate_node(int height, size_t extra_bytes) {
  return arena_->allocate_aligned(node_bytes(height) + extra_bytes);
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::new_node(const Key& key, int height) {
  char* mem = allocate_node(height, 0);
  Node* n = new (mem) Node(key);
  for (int i = 1; i < height; ++i) new (&n->next_[i]) std::atomic<Node*>(nullptr);
  return n;
}

template <typename Key, class Comparator>
int SkipList<Key, Comparator>::random_height() {
  // Branching factor 4: each level holds about a quarter of the nodes of the level below.
  int height = 1;
  while (height < kMaxHeight && rnd_.one_in(4)) ++height;
  return height;
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::find_greater_or_equal(const Key& key,
                                                                                           Node** prev) const {
  Node* x = head_;
  int level = max_height() - 1;
  while (true) {
    Node* next = x->next(level);
    if (key_is_after_node(key, next)) {
      x = next;
    } else {
      if (prev != nullptr) prev[level] = x;
      if (level == 0) return next;
      --level;
    }
  }
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::find_less_than(const Key& key) const {
  Node* x = head_;
  int level = max_height() - 1;
  while (true) {
    Node* next = x->next(level);
    if (next == nullptr || compare_(next->key, key) >= 0) {
      if (level == 0) return x;
      --level;
    } else {
      x = next;
    }
  }
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::find_last() const {
  Node* x = head_;
  int level = max_height() - 1;
  while (true) {
    Node* next = x->next(level);
    if (next == nullptr) {
      if (level == 0) return x;
      --level;
    } else {
      x = next;
    }
  }
}

template <typename Key, class Comparator>
void SkipList<Key, Comparator>::insert(const Key& key) {
  const int height = random_height();
  link(new_node(key, height), height);
}

template <typename Key, class Comparator>
template <class Encode>
void SkipList<Key, Comparator>::insert_inline(size_t key_bytes, Encode&& encode) {
  const int height = random_height();
  char* mem = allocate_node(height, key_bytes);
  Node* x = new (mem) Node(encode(mem + node_bytes(height)));
  for (int i = 1; i < height; ++i) new (&x->next_[i]) std::atomic<Node*>(nullptr);
  link(x, height);
}

template <typename Key, class Comparator>
void SkipList<Key, Comparator>::link(Node* x, int height) {
  Node* prev[kMaxHeight];
  Node* next = find_greater_or_equal(x->key, prev);
  STRATA_ASSERT_MSG(next == nullptr || compare_(x->key, next->key) != 0, "duplicate skiplist key");
  if (height > max_height()) {
    for (int i = max_height(); i < height; ++i) prev[i] = head_;
    // A reader that sees the new height before the node is linked finds head_->next == nullptr at
    // the new levels and drops down: harmless.
    max_height_.store(height, std::memory_order_relaxed);
  }
  for (int i = 0; i < height; ++i) {
    // The node's own links may be relaxed: it is published by the release store into prev[i].
    x->relaxed_set_next(i, prev[i]->relaxed_next(i));
    prev[i]->set_next(i, x);
  }
}

template <typename Key, class Comparator>
bool SkipList<Key, Comparator>::contains(const Key& key) const {
  Node* x = find_greater_or_equal(key, nullptr);
  return x != nullptr && compare_(key, x->key) == 0;
}

}  // namespace strata
