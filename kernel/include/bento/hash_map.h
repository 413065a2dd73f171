// An open-addressing hash map on the kernel-services allocator (linear probing with
// backward-shift deletion, so no tombstones). Insertion is fallible (ENOMEM). Used where
// userspace code would reach for std::unordered_map, which cannot be used in a module.
#pragma once

#include <bento/result.h>
#include <bento/str.h>
#include <bento/vec.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace bento {

// A fixed, documented mixing function: results are identical in every build (kernel,
// userspace, any compiler), so it may be used for on-disk structures too.
constexpr uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// FNV-1a 64 over the bytes, then mixed.
constexpr uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return mix64(h);
}

template <typename K>
struct Hash {
  uint64_t operator()(K k) const { return mix64(static_cast<uint64_t>(k)); }
};
template <>
struct Hash<std::string_view> {
  uint64_t operator()(std::string_view s) const { return hash_bytes(s); }
};
template <>
struct Hash<String> {
  uint64_t operator()(const String& s) const { return hash_bytes(s.view()); }
  uint64_t operator()(std::string_view s) const { return hash_bytes(s); }
};

template <typename K, typename V, typename H = Hash<K>>
class HashMap {
 public:
  struct Entry {
    K key;
    V value;
  };

  HashMap() = default;
  HashMap(HashMap&& o) noexcept : slots_(std::move(o.slots_)), size_(o.size_) { o.size_ = 0; }
  HashMap& operator=(HashMap&& o) noexcept {
    if (this != &o) {
      slots_ = std::move(o.slots_);
      size_ = o.size_;
      o.size_ = 0;
    }
    return *this;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Returns the value for key or nullptr. Q may differ from K when H and == accept it.
  template <typename Q>
  V* find(const Q& key) {
    if (size_ == 0) return nullptr;
    size_t mask = slots_.size() - 1;
    for (size_t i = H()(key) & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.entry.key == key) return &s.entry.value;
    }
  }
  template <typename Q>
  const V* find(const Q& key) const {
    return const_cast<HashMap*>(this)->find(key);
  }

  // Inserts or replaces. ENOMEM leaves the map unchanged.
  Status insert(K key, V value) {
    if (V* v = find(key)) {
      *v = std::move(value);
      return Status::Ok();
    }
    if ((size_ + 1) * 4 > slots_.size() * 3) BENTO_TRY(grow());
    place(std::move(key), std::move(value));
    return Status::Ok();
  }

  // Removes key; returns whether it was present.
  template <typename Q>
  bool erase(const Q& key) {
    if (size_ == 0) return false;
    size_t mask = slots_.size() - 1;
    size_t i = H()(key) & mask;
    for (;; i = (i + 1) & mask) {
      if (!slots_[i].used) return false;
      if (slots_[i].entry.key == key) break;
    }
    // Backward-shift: pull later members of the probe run into the hole.
    size_t hole = i;
    for (size_t j = (i + 1) & mask; slots_[j].used; j = (j + 1) & mask) {
      size_t home = H()(slots_[j].entry.key) & mask;
      bool movable = (hole <= j) ? (home <= hole || home > j) : (home <= hole && home > j);
      if (movable) {
        slots_[hole].entry = std::move(slots_[j].entry);
        hole = j;
      }
    }
    slots_[hole].used = false;
    slots_[hole].entry = Entry{};
    size_--;
    return true;
  }

  void clear() {
    slots_.clear();
    size_ = 0;
  }

  // Visits every entry: f(const K&, V&). Do not insert or erase while iterating.
  template <typename F>
  void for_each(F&& f) {
    for (Slot& s : slots_)
      if (s.used) f(static_cast<const K&>(s.entry.key), s.entry.value);
  }
  template <typename F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_)
      if (s.used) f(s.entry.key, s.entry.value);
  }

  // Makes room for n entries without further allocation.
  Status reserve(size_t n) {
    size_t want = 16;
    while (want * 3 < n * 4) want *= 2;
    if (want <= slots_.size()) return Status::Ok();
    return rehash(want);
  }

 private:
  struct Slot {
    bool used = false;
    Entry entry{};
  };

  void place(K key, V value) {
    size_t mask = slots_.size() - 1;
    size_t i = H()(key) & mask;
    while (slots_[i].used) i = (i + 1) & mask;
    slots_[i].used = true;
    slots_[i].entry.key = std::move(key);
    slots_[i].entry.value = std::move(value);
    size_++;
  }

  Status grow() { return rehash(slots_.size() < 8 ? 16 : slots_.size() * 2); }

  Status rehash(size_t n) {
    Vec<Slot> old = std::move(slots_);
    Status st = slots_.resize(n);
    if (!st.ok()) {
      slots_ = std::move(old);
      return st;
    }
    size_ = 0;
    for (Slot& s : old)
      if (s.used) place(std::move(s.entry.key), std::move(s.entry.value));
    return Status::Ok();
  }

  Vec<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace bento
