// In-memory inode cache: see inode_cache.h.
#include "core/inode_cache.h"

#include <bento/memory.h>

#include <new>

namespace bentofs {

InodeRef& InodeRef::operator=(InodeRef&& r) noexcept {
  if (this != &r) {
    reset();
    c_ = r.c_;
    o_ = r.o_;
    r.o_ = nullptr;
  }
  return *this;
}

void InodeRef::reset() {
  if (o_ != nullptr) c_->put(o_);
  o_ = nullptr;
}

InodeCache::~InodeCache() {
  clear();
}

void InodeCache::clear() {
  for (auto& s : shards_) {
    auto g = s.lock();
    g->for_each([this](const bento::Ino&, InodeObj*& o) {
      note_evicted(o);
      bento::UniquePtr<InodeObj>::adopt(o).reset();
    });
    g->clear();
  }
}

bento::Result<InodeRef> InodeCache::get(bento::Ino ino) {
  auto g = shard(ino).lock();
  InodeObj** found = g->find(ino);
  if (found != nullptr && !(*found)->deleted) {
    (*found)->refs++;
    return InodeRef(this, *found);
  }
  BENTO_ASSIGN_OR_RETURN(auto fresh, bento::make_unique<InodeObj>(ino));
  InodeObj* o = fresh.get();
  // A deleted object still referenced stays alive for its holders, out of the map.
  BENTO_TRY(g->insert(ino, o));
  fresh.release();
  o->refs = 1;
  o->last_tid.store(evicted_tid_.load());
  return InodeRef(this, o);
}

void InodeCache::note_evicted(const InodeObj* o) {
  uint64_t t = o->last_tid.load();
  uint64_t cur = evicted_tid_.load();
  while (t > cur && !evicted_tid_.compare_exchange_weak(cur, t)) {
  }
}

void InodeCache::put(InodeObj* o) {
  auto g = shard(o->ino).lock();
  o->refs--;
  if (o->refs == 0 && (o->deleted || (o->nlookup == 0 && o->nopen == 0))) {
    InodeObj** cur = g->find(o->ino);
    if (cur != nullptr && *cur == o) g->erase(o->ino);
    note_evicted(o);
    bento::UniquePtr<InodeObj>::adopt(o).reset();
  }
}

void InodeCache::add_lookup(InodeObj* o, uint64_t n) {
  auto g = shard(o->ino).lock();
  o->nlookup += n;
}

uint64_t InodeCache::sub_lookup(InodeObj* o, uint64_t n) {
  auto g = shard(o->ino).lock();
  o->nlookup = n > o->nlookup ? 0 : o->nlookup - n;
  return o->nlookup;
}

void InodeCache::add_open(InodeObj* o) {
  auto g = shard(o->ino).lock();
  o->nopen++;
}

uint64_t InodeCache::sub_open(InodeObj* o) {
  auto g = shard(o->ino).lock();
  if (o->nopen > 0) o->nopen--;
  return o->nopen;
}

bool InodeCache::unreferenced(InodeObj* o) {
  auto g = shard(o->ino).lock();
  return o->nlookup == 0 && o->nopen == 0;
}

}  // namespace bentofs
