// Sparse file data on 4 KiB pages.
#include <bento/vec.h>

#include "inode.h"

namespace memfs {

namespace {

uint64_t min64(uint64_t a, uint64_t b) {
  return a < b ? a : b;
}

// Removes every page with index >= first.
void drop_pages_from(PageMap& pages, uint64_t first, uint64_t end_hint, PageCounter& used) {
  if (pages.empty()) return;
  // Few candidate indexes: probe them directly.
  if (end_hint > first && end_hint - first <= pages.size() * 2) {
    for (uint64_t i = first; i < end_hint; i++)
      if (pages.erase(i)) used.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  // Else collect the keys (HashMap forbids erasing while iterating).
  bento::Vec<uint64_t> doomed;
  bool oom = false;
  pages.for_each([&](const uint64_t& k, bento::UniquePtr<Page>&) {
    if (k >= first && !oom && !doomed.push_back(k).ok()) oom = true;
  });
  for (uint64_t k : doomed)
    if (pages.erase(k)) used.fetch_sub(1, std::memory_order_relaxed);
  // Out of memory for the list: one key per scan, slow but allocation-free.
  while (oom) {
    oom = false;
    uint64_t victim = 0;
    pages.for_each([&](const uint64_t& k, bento::UniquePtr<Page>&) {
      if (k >= first && !oom) {
        victim = k;
        oom = true;
      }
    });
    if (oom && pages.erase(victim)) used.fetch_sub(1, std::memory_order_relaxed);
  }
}

}  // namespace

size_t read_data(const InodeBody& b, uint64_t off, std::span<uint8_t> out) {
  if (off >= b.size) return 0;
  size_t n = static_cast<size_t>(min64(out.size(), b.size - off));
  size_t done = 0;
  while (done < n) {
    uint64_t pos = off + done;
    uint64_t idx = pos / kPageSize;
    size_t in_page = static_cast<size_t>(pos % kPageSize);
    size_t chunk = static_cast<size_t>(min64(kPageSize - in_page, n - done));
    const bento::UniquePtr<Page>* p = b.pages.find(idx);
    if (p != nullptr)
      __builtin_memcpy(out.data() + done, (*p)->bytes + in_page, chunk);
    else
      __builtin_memset(out.data() + done, 0, chunk);
    done += chunk;
  }
  return n;
}

bento::Result<size_t> write_data(InodeBody& b, uint64_t off, std::span<const uint8_t> in,
                                 PageCounter& used) {
  if (in.empty()) return size_t{0};
  if (off >= kMaxFileSize || in.size() > kMaxFileSize - off) return bento::Err(EFBIG);
  size_t done = 0;
  while (done < in.size()) {
    uint64_t pos = off + done;
    uint64_t idx = pos / kPageSize;
    size_t in_page = static_cast<size_t>(pos % kPageSize);
    size_t chunk = static_cast<size_t>(min64(kPageSize - in_page, in.size() - done));
    bento::UniquePtr<Page>* slot = b.pages.find(idx);
    Page* page = slot != nullptr ? slot->get() : nullptr;
    if (page == nullptr) {
      auto fresh = bento::make_unique<Page>();
      if (!fresh) break;
      page = fresh->get();  // make_unique value-initialises: the page starts zeroed
      if (!b.pages.insert(idx, std::move(fresh).value()).ok()) break;
      used.fetch_add(1, std::memory_order_relaxed);
    }
    __builtin_memcpy(page->bytes + in_page, in.data() + done, chunk);
    done += chunk;
  }
  if (done == 0) return bento::Err(ENOMEM);
  if (off + done > b.size) b.size = off + done;
  return done;
}

void truncate_data(InodeBody& b, uint64_t size, PageCounter& used) {
  if (size < b.size) {
    uint64_t keep = (size + kPageSize - 1) / kPageSize;  // pages that still hold data
    drop_pages_from(b.pages, keep, (b.size + kPageSize - 1) / kPageSize, used);
    if (size % kPageSize != 0) {
      if (bento::UniquePtr<Page>* p = b.pages.find(size / kPageSize)) {
        size_t at = static_cast<size_t>(size % kPageSize);
        __builtin_memset((*p)->bytes + at, 0, kPageSize - at);
      }
    }
  }
  b.size = size;
}

}  // namespace memfs
