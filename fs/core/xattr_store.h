// An inode's extended attributes as one in-memory set (v2 entry encoding, whatever the
// on-disk format), loaded from and stored back to the blocks of format/xattr.h. Storing
// writes only the stream blocks whose bytes changed, allocates or frees the difference and
// refuses with ENOSPC (nothing changed) when the set does not fit: checked before any
// block is allocated, so a refused set never leaks one.
#pragma once

#include <bento/vec.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "core/block_map.h"
#include "format/inode.h"
#include "format/xattr.h"

namespace bentofs {

class XattrSet {
 public:
  struct Entry {
    std::string_view name;
    std::span<const uint8_t> value;
    uint32_t offset;  // in the stream
    uint32_t size;    // whole entry
  };
  uint32_t count() const { return count_; }
  uint32_t bytes() const { return static_cast<uint32_t>(stream_.size()); }
  // Entry named `name`, or false. Views point into the set (valid until it changes).
  bool find(std::string_view name, Entry* out) const;
  // Calls f(Entry) for each attribute in stream order; stops when f returns false.
  template <typename F>
  void for_each(F&& f) const {
    for (uint32_t off = 0; off < stream_.size();) {
      Entry e;
      if (!decode(off, &e)) return;
      if (!f(e)) return;
      off += e.size;
    }
  }
  Status remove(const Entry& e);
  Status append(std::string_view name, std::span<const uint8_t> value);
  // Decodes a v2 stream (or, with v1, the packed entries of a v1 block). EUCLEAN if damaged.
  Status parse(std::span<const uint8_t> data, uint32_t count, bool v1);
  const bento::Vec<uint8_t>& stream() const { return stream_; }

 private:
  bool decode(uint32_t off, Entry* out) const;
  bento::Vec<uint8_t> stream_;
  uint32_t count_ = 0;
};

// Reads di's attributes into *out. EUCLEAN when their blocks are damaged.
Status xattr_load(const FsCtx& c, const DiskInode& di, XattrSet* out);
// Makes `set` di's attributes, in format v2 (map) or v1 (one block). Updates
// di.xattr_block and di.blocks; the caller writes the inode.
Status xattr_store(const FsCtx& c, Handle& h, DiskInode& di, const XattrSet& set, bool v2);
// Frees every attribute block of di (inode deletion).
Status xattr_free_all(const FsCtx& c, Handle& h, DiskInode& di);
// How many blocks di's attributes use now (an unlocked peek, for journal credits).
uint32_t xattr_blocks_peek(const FsCtx& c, const DiskInode& di);

}  // namespace bentofs
