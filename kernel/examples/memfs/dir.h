// A directory's entries: a name index plus a cookie-ordered list, so that readdir offsets
// stay valid while entries are added and removed (each entry gets a cookie from a
// per-directory counter that only grows; readdir resumes after the last cookie it saw).
#pragma once

#include <bento/fs_types.h>
#include <bento/hash_map.h>
#include <bento/str.h>
#include <bento/vec.h>

#include <cstdint>
#include <string_view>

namespace memfs {

class Dir {
 public:
  // Cookies 1 and 2 are "." and ".." (readdir offsets 1 and 2); entries start at 3.
  static constexpr uint64_t kFirstCookie = 3;

  size_t size() const { return index_.size(); }
  bool empty() const { return index_.empty(); }

  // The entry's inode, or 0.
  bento::Ino find(std::string_view name) const {
    const Ref* r = index_.find(name);
    return r != nullptr ? r->ino : 0;
  }

  // Adds a new name (the caller checked it is absent). ENOMEM leaves the directory as it was.
  bento::Status add(std::string_view name, bento::Ino ino) {
    auto s = bento::String::from(name);
    if (!s) return bento::Err(ENOMEM);
    auto key = bento::String::from(name);
    if (!key) return bento::Err(ENOMEM);
    uint64_t cookie = next_cookie_;
    BENTO_TRY(order_.push_back(Slot{cookie, std::move(s).value()}));
    bento::Status st = index_.insert(std::move(key).value(), Ref{ino, cookie});
    if (!st.ok()) {
      order_.pop_back();
      return st;
    }
    next_cookie_++;
    return bento::Status::Ok();
  }

  // Points an existing name at another inode, keeping its cookie (rename over a target).
  bool set(std::string_view name, bento::Ino ino) {
    Ref* r = index_.find(name);
    if (r == nullptr) return false;
    r->ino = ino;
    return true;
  }

  bool remove(std::string_view name) {
    Ref* r = index_.find(name);
    if (r == nullptr) return false;
    size_t i = position(r->cookie);
    index_.erase(name);  // `name` may alias the slot's string: erase the index first
    order_[i].name = bento::String();
    dead_++;
    if (dead_ > 16 && dead_ * 2 > order_.size()) compact();
    return true;
  }

  // Calls f(cookie, name, ino) for each entry with a cookie greater than `after`, in cookie
  // order, until f returns false.
  template <typename F>
  void for_each_after(uint64_t after, F&& f) const {
    if (after == ~uint64_t{0}) return;
    for (size_t i = position(after + 1); i < order_.size(); i++) {
      const Slot& s = order_[i];
      if (s.name.empty()) continue;
      const Ref* r = index_.find(s.name.view());
      if (!f(s.cookie, s.name.view(), r->ino)) return;
    }
  }

 private:
  struct Ref {
    bento::Ino ino = 0;
    uint64_t cookie = 0;
  };
  struct Slot {
    uint64_t cookie = 0;
    bento::String name;  // empty: removed (names are never empty)
  };

  // First slot whose cookie is >= c (cookies are sorted: they are appended in order).
  size_t position(uint64_t c) const {
    size_t lo = 0, hi = order_.size();
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (order_[mid].cookie < c)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo;
  }

  // Drops removed slots in place (no allocation, so it cannot fail).
  void compact() {
    size_t out = 0;
    for (size_t i = 0; i < order_.size(); i++) {
      if (order_[i].name.empty()) continue;
      if (out != i) order_[out] = std::move(order_[i]);
      out++;
    }
    while (order_.size() > out) order_.pop_back();
    dead_ = 0;
  }

  bento::HashMap<bento::String, Ref> index_;
  bento::Vec<Slot> order_;
  size_t dead_ = 0;
  uint64_t next_cookie_ = kFirstCookie;
};

}  // namespace memfs
