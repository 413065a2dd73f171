// Extended attribute storage: see xattr_store.h and format/xattr.h.
#include "core/xattr_store.h"

#include "format/endian.h"

namespace bentofs {

namespace {

uint32_t div_up(uint32_t a, uint32_t b) {
  return (a + b - 1) / b;
}

Result<bool> is_map(const FsCtx& c, uint64_t blk) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, c.dev->bread(blk));
  uint32_t magic = load_le32(bh.data().data());
  if (magic == kXattrMapMagic) return true;
  if (magic == kXattrMagic) return false;
  return Err(EUCLEAN);
}

bool in_data(const FsCtx& c, uint64_t b) {
  return b >= c.data_start && b < c.block_count;
}

// The stream blocks a map block lists (validated).
Status map_blocks(const FsCtx& c, uint64_t map, XattrMapHeader* hdr, bento::Vec<uint32_t>* blocks) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, c.dev->bread(map));
  __builtin_memcpy(hdr, bh.data().data(), sizeof *hdr);
  const uint32_t n = hdr->nblocks.get();
  if (n > kXattrMaxBlocks || hdr->used.get() > n * 4096 || div_up(hdr->used.get(), 4096) != n)
    return Err(EUCLEAN);
  BENTO_TRY(blocks->resize(n));
  for (uint32_t i = 0; i < n; i++) {
    (*blocks)[i] = load_le32(bh.data().data() + sizeof(XattrMapHeader) + 4 * i);
    if (!in_data(c, (*blocks)[i])) return Err(EUCLEAN);
  }
  return Status::Ok();
}

Status free_block(const FsCtx& c, Handle& h, DiskInode& di, uint64_t b) {
  if (!in_data(c, b)) return Err(EUCLEAN);
  BENTO_TRY(c.balloc->free(h, b));
  di.blocks.set(di.blocks.get() - 1);
  return Status::Ok();
}

Result<uint64_t> alloc_block(const FsCtx& c, Handle& h, DiskInode& di, uint64_t goal) {
  BENTO_ASSIGN_OR_RETURN(uint64_t b, c.balloc->alloc(h, goal));
  di.blocks.set(di.blocks.get() + 1);
  return b;
}

// v1: one XXTR block.
Status store_v1(const FsCtx& c, Handle& h, DiskInode& di, const XattrSet& set, bool had_map) {
  uint32_t need = 0;
  bool too_big = false;
  set.for_each([&](const XattrSet::Entry& e) {
    if (e.value.size() > 0xFFFF) too_big = true;
    need += kXattrEntryHeader + static_cast<uint32_t>(e.name.size() + e.value.size());
    return true;
  });
  if (too_big || need > kXattrSpace) return Err(ENOSPC);
  uint64_t blk = had_map ? 0 : di.xattr_block.get();
  if (blk == 0) {
    if (c.balloc->free_count() < 1) return Err(ENOSPC);
    if (had_map) BENTO_TRY(xattr_free_all(c, h, di));
    BENTO_ASSIGN_OR_RETURN(blk, alloc_block(c, h, di, 0));
    di.xattr_block.set(static_cast<uint32_t>(blk));
  }
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_new(blk));
  uint8_t* p = bh.data_mut().data();
  XattrHeader xh{};
  xh.magic.set(kXattrMagic);
  xh.count.set(static_cast<uint16_t>(set.count()));
  xh.used.set(static_cast<uint16_t>(need));
  __builtin_memcpy(p, &xh, sizeof xh);
  uint32_t at = sizeof(XattrHeader);
  set.for_each([&](const XattrSet::Entry& e) {
    p[at] = static_cast<uint8_t>(e.name.size());
    p[at + 1] = static_cast<uint8_t>(e.value.size());
    p[at + 2] = static_cast<uint8_t>(e.value.size() >> 8);
    __builtin_memcpy(p + at + 3, e.name.data(), e.name.size());
    if (!e.value.empty())
      __builtin_memcpy(p + at + 3 + e.name.size(), e.value.data(), e.value.size());
    at += kXattrEntryHeader + static_cast<uint32_t>(e.name.size() + e.value.size());
    return true;
  });
  return Status::Ok();
}

}  // namespace

bool XattrSet::decode(uint32_t off, Entry* out) const {
  const uint32_t end = static_cast<uint32_t>(stream_.size());
  if (off + kXattrEntryHeaderV2 > end) return false;
  const uint8_t* p = stream_.data() + off;
  uint32_t nl = p[0];
  uint32_t vl = load_le32(p + 1);
  if (nl == 0 || vl > kXattrMaxValue || off + kXattrEntryHeaderV2 + nl + vl > end) return false;
  out->name = std::string_view(reinterpret_cast<const char*>(p + kXattrEntryHeaderV2), nl);
  out->value = std::span<const uint8_t>(p + kXattrEntryHeaderV2 + nl, vl);
  out->offset = off;
  out->size = kXattrEntryHeaderV2 + nl + vl;
  return true;
}

bool XattrSet::find(std::string_view name, Entry* out) const {
  bool found = false;
  for_each([&](const Entry& e) {
    if (e.name != name) return true;
    *out = e;
    found = true;
    return false;
  });
  return found;
}

Status XattrSet::remove(const Entry& e) {
  const uint32_t end = static_cast<uint32_t>(stream_.size());
  uint8_t* p = stream_.data();
  __builtin_memmove(p + e.offset, p + e.offset + e.size, end - e.offset - e.size);
  stream_.truncate(end - e.size);
  count_--;
  return Status::Ok();
}

Status XattrSet::append(std::string_view name, std::span<const uint8_t> value) {
  const size_t at = stream_.size();
  const size_t need = at + kXattrEntryHeaderV2 + name.size() + value.size();
  if (need > stream_.capacity()) BENTO_TRY(stream_.reserve(need > 2 * at ? need : 2 * at));
  BENTO_TRY(stream_.resize(need));
  uint8_t* p = stream_.data() + at;
  p[0] = static_cast<uint8_t>(name.size());
  store_le32(p + 1, static_cast<uint32_t>(value.size()));
  __builtin_memcpy(p + kXattrEntryHeaderV2, name.data(), name.size());
  if (!value.empty())
    __builtin_memcpy(p + kXattrEntryHeaderV2 + name.size(), value.data(), value.size());
  count_++;
  return Status::Ok();
}

Status XattrSet::parse(std::span<const uint8_t> data, uint32_t count, bool v1) {
  stream_.clear();
  count_ = 0;
  BENTO_TRY(stream_.reserve(data.size() + data.size() / 8 + 64));  // v1 entries grow by 2
  uint32_t off = 0;
  const uint32_t hdr = v1 ? kXattrEntryHeader : kXattrEntryHeaderV2;
  while (off < data.size()) {
    if (off + hdr > data.size()) return Err(EUCLEAN);
    uint32_t nl = data[off];
    uint32_t vl = v1 ? (data[off + 1] | (data[off + 2] << 8)) : load_le32(data.data() + off + 1);
    if (nl == 0 || vl > kXattrMaxValue || off + hdr + nl + vl > data.size()) return Err(EUCLEAN);
    BENTO_TRY(append(std::string_view(reinterpret_cast<const char*>(data.data() + off + hdr), nl),
                     data.subspan(off + hdr + nl, vl)));
    off += hdr + nl + vl;
  }
  if (count_ != count) return Err(EUCLEAN);
  return Status::Ok();
}

Status xattr_load(const FsCtx& c, const DiskInode& di, XattrSet* out) {
  const uint64_t blk = di.xattr_block.get();
  if (blk == 0) return out->parse({}, 0, false);
  if (!in_data(c, blk)) return Err(EUCLEAN);
  BENTO_ASSIGN_OR_RETURN(bool map, is_map(c, blk));
  if (!map) {
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, c.dev->bread(blk));
    XattrHeader xh;
    __builtin_memcpy(&xh, bh.data().data(), sizeof xh);
    if (xh.used.get() > kXattrSpace) return Err(EUCLEAN);
    return out->parse(bh.data().subspan(sizeof(XattrHeader), xh.used.get()), xh.count.get(), true);
  }
  XattrMapHeader hdr;
  bento::Vec<uint32_t> blocks;
  BENTO_TRY(map_blocks(c, blk, &hdr, &blocks));
  bento::Vec<uint8_t> raw;
  BENTO_TRY(raw.resize(hdr.used.get()));
  for (uint32_t i = 0; i < hdr.nblocks.get(); i++) {
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, c.dev->bread(blocks[i]));
    uint32_t n = hdr.used.get() - i * 4096 < 4096 ? hdr.used.get() - i * 4096 : 4096;
    __builtin_memcpy(raw.data() + i * 4096, bh.data().data(), n);
  }
  return out->parse(std::span<const uint8_t>(raw.data(), raw.size()), hdr.count.get(), false);
}

Status xattr_free_all(const FsCtx& c, Handle& h, DiskInode& di) {
  const uint64_t blk = di.xattr_block.get();
  if (blk == 0) return Status::Ok();
  if (!in_data(c, blk)) return Err(EUCLEAN);
  auto map = is_map(c, blk);
  if (map.ok() && *map) {
    XattrMapHeader hdr;
    bento::Vec<uint32_t> blocks;
    if (map_blocks(c, blk, &hdr, &blocks).ok()) {
      for (uint32_t i = 0; i < hdr.nblocks.get(); i++) BENTO_TRY(free_block(c, h, di, blocks[i]));
    }
  }
  BENTO_TRY(free_block(c, h, di, blk));
  di.xattr_block.set(0);
  return Status::Ok();
}

uint32_t xattr_blocks_peek(const FsCtx& c, const DiskInode& di) {
  const uint64_t blk = di.xattr_block.get();
  if (blk == 0 || !in_data(c, blk)) return 0;
  auto bh = c.dev->bread(blk);
  if (!bh.ok()) return 0;
  XattrMapHeader hdr;
  __builtin_memcpy(&hdr, bh->data().data(), sizeof hdr);
  if (hdr.magic.get() != kXattrMapMagic) return 1;
  uint32_t n = hdr.nblocks.get();
  return 1 + (n > kXattrMaxBlocks ? kXattrMaxBlocks : n);
}

Status xattr_store(const FsCtx& c, Handle& h, DiskInode& di, const XattrSet& set, bool v2) {
  const uint64_t old = di.xattr_block.get();
  bool had_map = false;
  if (old != 0) {
    if (!in_data(c, old)) return Err(EUCLEAN);
    BENTO_ASSIGN_OR_RETURN(had_map, is_map(c, old));
  }
  if (set.count() == 0) return xattr_free_all(c, h, di);
  if (!v2) return store_v1(c, h, di, set, had_map);
  const uint32_t used = set.bytes();
  const uint32_t nb = div_up(used, 4096);
  if (nb > kXattrMaxBlocks) return Err(ENOSPC);
  XattrMapHeader hdr{};
  bento::Vec<uint32_t> blocks;
  uint32_t old_nb = 0;
  if (had_map) {
    BENTO_TRY(map_blocks(c, old, &hdr, &blocks));
    old_nb = hdr.nblocks.get();
  }
  if (blocks.size() < nb) BENTO_TRY(blocks.resize(nb));
  // All the room it needs, before allocating anything.
  const uint64_t need = (nb > old_nb ? nb - old_nb : 0) + (had_map ? 0 : 1);
  if (need > c.balloc->free_count()) return Err(ENOSPC);
  uint64_t map = old;
  if (!had_map) {
    if (old != 0) BENTO_TRY(free_block(c, h, di, old));  // a v1 block: converted
    BENTO_ASSIGN_OR_RETURN(map, alloc_block(c, h, di, 0));
    BENTO_TRY(h.get_new(map));
    di.xattr_block.set(static_cast<uint32_t>(map));
  }
  const uint8_t* src = set.stream().data();
  uint64_t goal = 0;
  for (uint32_t i = 0; i < nb; i++) {
    const uint32_t n = used - i * 4096 < 4096 ? used - i * 4096 : 4096;
    if (i < old_nb) {
      BENTO_ASSIGN_OR_RETURN(BufferHead cur, c.dev->bread(blocks[i]));
      const uint8_t* p = cur.data().data();
      bool same = __builtin_memcmp(p, src + i * 4096, n) == 0;
      for (uint32_t k = n; same && k < 4096; k++) same = p[k] == 0;
      goal = blocks[i] + 1;
      if (same) continue;
      cur.release();
      BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_new(blocks[i]));
      __builtin_memcpy(bh.data_mut().data(), src + i * 4096, n);
      continue;
    }
    BENTO_ASSIGN_OR_RETURN(uint64_t b, alloc_block(c, h, di, goal));
    blocks[i] = static_cast<uint32_t>(b);
    goal = b + 1;
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_new(b));
    __builtin_memcpy(bh.data_mut().data(), src + i * 4096, n);
  }
  for (uint32_t i = nb; i < old_nb; i++) BENTO_TRY(free_block(c, h, di, blocks[i]));
  BENTO_ASSIGN_OR_RETURN(BufferHead mb, h.get_write(map));
  uint8_t* p = mb.data_mut().data();
  hdr.magic.set(kXattrMapMagic);
  hdr.count.set(set.count());
  hdr.used.set(used);
  hdr.nblocks.set(nb);
  __builtin_memcpy(p, &hdr, sizeof hdr);
  for (uint32_t i = 0; i < kXattrMapSlots; i++)
    store_le32(p + sizeof(XattrMapHeader) + 4 * i, i < nb ? blocks[i] : 0);
  return Status::Ok();
}

}  // namespace bentofs
