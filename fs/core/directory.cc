// Extendible-hash directories: see directory.h and format/dir.h.
#include "core/directory.h"

#include <bento/hash_map.h>
#include <bento/log.h>
#include <bento/vec.h>

#include "core/text_out.h"
#include "format/endian.h"

namespace bentofs {

namespace {

struct Dirent {
  uint64_t hash;
  uint64_t ino;
  uint8_t len;
  uint8_t type;
  const uint8_t* name;
  uint32_t size() const { return kDirentHeader + len; }
};

Dirent parse(const uint8_t* p) {
  return {load_le64(p), load_le64(p + 8), p[16], p[17], p + kDirentHeader};
}

void emit(uint8_t* p, uint64_t hash, uint64_t ino, std::string_view name, uint8_t type) {
  store_le64(p, hash);
  store_le64(p + 8, ino);
  p[16] = static_cast<uint8_t>(name.size());
  p[17] = type;
  __builtin_memcpy(p + kDirentHeader, name.data(), name.size());
}

Result<uint64_t> dblock(const FsCtx& c, const DiskInode& dir, uint64_t lblk) {
  BENTO_ASSIGN_OR_RETURN(uint64_t b, bmap_lookup(c, dir, lblk));
  if (b == 0) return Err(EUCLEAN);
  return b;
}

// The geometry DIR_CSUM changes (format/dir.h).
uint32_t bucket_space(const FsCtx& c) {
  return c.dir_csum ? kBucketSpaceCsum : kBucketSpace;
}
uint32_t table_slots(const FsCtx& c) {
  return c.dir_csum ? kTableSlotsPerBlockCsum : kTableSlotsPerBlock;
}

bool csum_ok(const FsCtx& c, const DiskInode& dir, DirIno ino, uint64_t lblk, const uint8_t* p) {
  return !c.dir_csum ||
         load_le32(p + kDirCsumOffset) == dir_block_checksum(c.dir_seed, static_cast<uint64_t>(ino),
                                                             dir.generation.get(), lblk, p);
}

// After every change to a directory block, before its handle ends: once per block and
// operation (the journal logs what is in the buffer when the transaction commits).
void seal(const FsCtx& c, const DiskInode& dir, DirIno ino, uint64_t lblk, BufferHead& bh) {
  if (!c.dir_csum) return;
  uint8_t* p = bh.data_mut().data();
  store_le32(p + kDirCsumOffset, dir_block_checksum(c.dir_seed, static_cast<uint64_t>(ino),
                                                    dir.generation.get(), lblk, p));
}

// "bento-fs: directory inode N: block L fails its checksum; run fsck.bento"
void log_csum_failure(DirIno ino, uint64_t lblk) {
  char buf[160];
  TextOut out(buf, sizeof buf);
  out.str("bento-fs: directory inode ")
      .num(static_cast<uint64_t>(ino))
      .str(": block ")
      .num(lblk)
      .str(" fails its checksum; run fsck.bento");
  bento::log(bento::LogLevel::kError, out.view());
}

// Logical block lblk of the directory, read and verified: a mismatch is EUCLEAN and a log
// line, before anything is read from it.
Result<BufferHead> dread(const FsCtx& c, const DiskInode& dir, DirIno ino, uint64_t lblk) {
  BENTO_ASSIGN_OR_RETURN(uint64_t b, dblock(c, dir, lblk));
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, c.dev->bread(b));
  if (!csum_ok(c, dir, ino, lblk, bh.data().data())) {
    log_csum_failure(ino, lblk);
    return Err(EUCLEAN);
  }
  return bh;
}

// The same block for a change in handle h, verified first: a damaged block is never
// changed and sealed again (that would make the damage look valid).
Result<BufferHead> dwrite(const FsCtx& c, Handle& h, const DiskInode& dir, DirIno ino,
                          uint64_t lblk) {
  BENTO_ASSIGN_OR_RETURN(uint64_t b, dblock(c, dir, lblk));
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(b));
  if (!csum_ok(c, dir, ino, lblk, bh.data().data())) {
    log_csum_failure(ino, lblk);
    return Err(EUCLEAN);
  }
  return bh;
}

struct HeaderInfo {
  uint32_t depth;
  uint32_t nbuckets;
};

HeaderInfo header_info(const uint8_t* p) {
  DirHeader hd;
  __builtin_memcpy(&hd, p, sizeof(hd));
  return HeaderInfo{hd.global_depth.get(), hd.nbuckets.get()};
}
bool header_sane(const uint8_t* p) {
  DirHeader hd;
  __builtin_memcpy(&hd, p, sizeof(hd));
  return hd.magic.get() == kDirMagic && hd.global_depth.get() <= kMaxDirDepth;
}

Result<HeaderInfo> read_header(const FsCtx& c, const DiskInode& dir, DirIno ino) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dread(c, dir, ino, 0));
  if (!header_sane(bh.data().data())) return Err(EUCLEAN);
  return header_info(bh.data().data());
}

// Slot idx of a table of depth d: (logical block, byte offset).
void slot_pos(const FsCtx& c, uint32_t depth, uint64_t idx, uint64_t* lblk, uint32_t* off) {
  if (depth <= kInlineTableMaxDepth) {
    *lblk = 0;
    *off = kInlineTableOffset + 4 * static_cast<uint32_t>(idx);
  } else {
    *lblk = kTableFirstBlock + idx / table_slots(c);
    *off = 4 * static_cast<uint32_t>(idx % table_slots(c));
  }
}

// Reads table slots, keeping the current table block: each block is read and verified
// once per walk, not once per slot.
struct SlotReader {
  const FsCtx& c;
  const DiskInode& dir;
  DirIno ino;
  uint32_t depth;
  uint64_t cur = ~0ULL;
  BufferHead bh;

  Result<uint32_t> get(uint64_t idx) {
    uint64_t lblk;
    uint32_t off;
    slot_pos(c, depth, idx, &lblk, &off);
    if (lblk != cur) {
      bh.release();
      cur = ~0ULL;
      BENTO_ASSIGN_OR_RETURN(bh, dread(c, dir, ino, lblk));
      cur = lblk;
    }
    return load_le32(bh.data().data() + off);
  }
};

// Finds the bucket (logical block) that holds hash. The header block is read (and
// verified) once; a small directory's slot is in it.
Result<uint64_t> bucket_for(const FsCtx& c, const DiskInode& dir, DirIno ino, uint64_t hash,
                            uint64_t* idx_out, HeaderInfo* hi_out) {
  BENTO_ASSIGN_OR_RETURN(BufferHead hb, dread(c, dir, ino, 0));
  if (!header_sane(hb.data().data())) return Err(EUCLEAN);
  HeaderInfo hi = header_info(hb.data().data());
  uint64_t idx = table_index(hash, hi.depth);
  uint32_t bucket;
  if (hi.depth <= kInlineTableMaxDepth) {
    bucket = load_le32(hb.data().data() + kInlineTableOffset + 4 * idx);
  } else {
    hb.release();
    SlotReader sr{c, dir, ino, hi.depth};
    BENTO_ASSIGN_OR_RETURN(bucket, sr.get(idx));
  }
  if (bucket >= hi.nbuckets) return Err(EUCLEAN);
  if (idx_out != nullptr) *idx_out = idx;
  if (hi_out != nullptr) *hi_out = hi;
  return kBucketFirstBlock + bucket;
}

// Offset of name inside the bucket data, or -1.
int32_t find_in_bucket(const uint8_t* p, uint32_t space, uint64_t hash, std::string_view name) {
  DirBucket bk;
  __builtin_memcpy(&bk, p, sizeof(bk));
  uint32_t used = bk.used.get();
  if (used > space) return -1;
  uint32_t end = sizeof(DirBucket) + used;
  for (uint32_t off = sizeof(DirBucket); off + kDirentHeader <= end;) {
    Dirent e = parse(p + off);
    if (off + e.size() > end) return -1;  // damaged bucket: never read past it
    if (e.hash == hash && e.len == name.size() &&
        __builtin_memcmp(e.name, name.data(), name.size()) == 0)
      return static_cast<int32_t>(off);
    off += e.size();
  }
  return -1;
}

// The header block was verified by bucket_for earlier in the same operation, under the
// directory's lock.
Status adjust_entries(const FsCtx& c, Handle& h, const DiskInode& dir, DirIno ino, int64_t delta) {
  BENTO_ASSIGN_OR_RETURN(uint64_t b, dblock(c, dir, 0));
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(b));
  DirHeader hd;
  __builtin_memcpy(&hd, bh.data().data(), sizeof(hd));
  hd.entries.set(hd.entries.get() + static_cast<uint64_t>(delta));
  __builtin_memcpy(bh.data_mut().data(), &hd, sizeof(hd));
  seal(c, dir, ino, 0, bh);
  return Status::Ok();
}

Result<BufferHead> map_new(const FsCtx& c, Handle& h, DiskInode& dir, uint64_t lblk) {
  bool fresh;
  BENTO_ASSIGN_OR_RETURN(uint64_t b, bmap_alloc(c, h, dir, lblk, &fresh));
  if (dir.size.get() < (lblk + 1) * 4096) dir.size.set((lblk + 1) * 4096);
  return h.get_write(b);
}

void init_bucket(uint8_t* p, uint32_t depth, uint32_t prefix) {
  __builtin_memset(p, 0, 4096);
  DirBucket bk{};
  bk.magic.set(kBucketMagic);
  bk.local_depth.set(static_cast<uint16_t>(depth));
  bk.prefix.set(prefix);
  __builtin_memcpy(p, &bk, sizeof(bk));
}

// Doubles the hash table (global depth d -> d+1): slot i becomes slots 2i and 2i+1.
Status double_table(const FsCtx& c, Handle& h, DiskInode& dir, DirIno ino, uint32_t depth) {
  uint64_t n = 1ULL << depth;
  bento::Vec<uint32_t> old;
  BENTO_TRY(old.resize(n));
  {
    SlotReader sr{c, dir, ino, depth};
    for (uint64_t i = 0; i < n; i++) {
      BENTO_ASSIGN_OR_RETURN(old[i], sr.get(i));
    }
  }
  uint32_t nd = depth + 1;
  uint64_t lblk_cur = ~0ULL;
  BufferHead bh;
  for (uint64_t i = 0; i < 2 * n; i++) {
    uint64_t lblk;
    uint32_t off;
    slot_pos(c, nd, i, &lblk, &off);
    if (lblk != lblk_cur) {
      // The header block is sealed below, with its new depth.
      if (bh && lblk_cur != 0) seal(c, dir, ino, lblk_cur, bh);
      bh.release();
      if (lblk == 0) {
        BENTO_ASSIGN_OR_RETURN(uint64_t b, dblock(c, dir, 0));
        BENTO_ASSIGN_OR_RETURN(bh, h.get_write(b));  // verified by the reads above
      } else {
        BENTO_ASSIGN_OR_RETURN(bh, map_new(c, h, dir, lblk));
      }
      lblk_cur = lblk;
    }
    store_le32(bh.data_mut().data() + off, old[i / 2]);
  }
  if (bh && lblk_cur != 0) seal(c, dir, ino, lblk_cur, bh);
  bh.release();
  BENTO_ASSIGN_OR_RETURN(uint64_t b0, dblock(c, dir, 0));
  BENTO_ASSIGN_OR_RETURN(BufferHead hb, h.get_write(b0));
  DirHeader hd;
  __builtin_memcpy(&hd, hb.data().data(), sizeof(hd));
  hd.global_depth.set(nd);
  __builtin_memcpy(hb.data_mut().data(), &hd, sizeof(hd));
  if (nd == kInlineTableMaxDepth + 1) {
    // The inline table is no longer used: keep the header block tidy.
    __builtin_memset(hb.data_mut().data() + kInlineTableOffset, 0, 4096 - kInlineTableOffset);
  }
  seal(c, dir, ino, 0, hb);
  return Status::Ok();
}

// Splits the bucket at table index idx into two of local depth d+1.
Status split_bucket(const FsCtx& c, Handle& h, DiskInode& dir, DirIno ino, uint64_t idx) {
  BENTO_ASSIGN_OR_RETURN(HeaderInfo hi, read_header(c, dir, ino));
  uint32_t bucket;
  {
    SlotReader sr{c, dir, ino, hi.depth};
    BENTO_ASSIGN_OR_RETURN(bucket, sr.get(idx));
  }
  if (bucket >= hi.nbuckets) return Err(EUCLEAN);
  const uint64_t olblk = kBucketFirstBlock + bucket;
  uint32_t d;
  {
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, dread(c, dir, ino, olblk));
    DirBucket bk;
    __builtin_memcpy(&bk, bh.data().data(), sizeof(bk));
    d = bk.local_depth.get();
  }
  if (d >= hi.depth) {
    if (hi.depth >= kMaxDirDepth) return Err(ENOSPC);
    BENTO_TRY(double_table(c, h, dir, ino, hi.depth));
    hi.depth++;
    idx = idx * 2;
  }
  uint32_t nb = hi.nbuckets;
  const uint64_t nlblk = kBucketFirstBlock + nb;
  BENTO_ASSIGN_OR_RETURN(BufferHead newb, map_new(c, h, dir, nlblk));
  BENTO_ASSIGN_OR_RETURN(uint64_t ob, dblock(c, dir, olblk));
  BENTO_ASSIGN_OR_RETURN(BufferHead oldb, h.get_write(ob));  // verified above
  uint8_t* op = oldb.data_mut().data();
  uint8_t* np = newb.data_mut().data();
  DirBucket bk;
  __builtin_memcpy(&bk, op, sizeof(bk));
  uint32_t prefix = bk.prefix.get();
  init_bucket(np, d + 1, (prefix << 1) | 1);
  // Rebuild the old bucket in a scratch copy, moving entries whose bit d (from the top)
  // is set to the new bucket.
  bento::Vec<uint8_t> scratch;
  BENTO_TRY(scratch.resize(4096));
  uint8_t* sp = scratch.data();
  init_bucket(sp, d + 1, prefix << 1);
  uint32_t so = sizeof(DirBucket), no = sizeof(DirBucket), sc = 0, nc = 0;
  uint32_t used = bk.used.get();
  if (used > bucket_space(c)) return Err(EUCLEAN);
  for (uint32_t off = sizeof(DirBucket); off + kDirentHeader <= sizeof(DirBucket) + used;) {
    Dirent e = parse(op + off);
    if (off + e.size() > sizeof(DirBucket) + used) return Err(EUCLEAN);
    bool hi_bit = (e.hash >> (63 - d)) & 1;
    uint8_t* dst = hi_bit ? np + no : sp + so;
    __builtin_memcpy(dst, op + off, e.size());
    if (hi_bit) {
      no += e.size();
      nc++;
    } else {
      so += e.size();
      sc++;
    }
    off += e.size();
  }
  auto finish = [](uint8_t* p, uint32_t end, uint32_t count) {
    DirBucket b;
    __builtin_memcpy(&b, p, sizeof(b));
    b.used.set(static_cast<uint16_t>(end - sizeof(DirBucket)));
    b.count.set(static_cast<uint16_t>(count));
    __builtin_memcpy(p, &b, sizeof(b));
  };
  finish(sp, so, sc);
  finish(np, no, nc);
  __builtin_memcpy(op, sp, 4096);
  seal(c, dir, ino, olblk, oldb);
  seal(c, dir, ino, nlblk, newb);
  // Table: the bucket's 2^(G-d) contiguous slots; the upper half now points to nb. Each
  // table block is sealed once, after its last slot.
  uint64_t span = 1ULL << (hi.depth - d);
  uint64_t first = (idx >> (hi.depth - d)) << (hi.depth - d);
  uint64_t tcur = ~0ULL;
  BufferHead t;
  for (uint64_t i = first + span / 2; i < first + span; i++) {
    uint64_t lblk;
    uint32_t off;
    slot_pos(c, hi.depth, i, &lblk, &off);
    if (lblk != tcur) {
      if (t && tcur != 0) seal(c, dir, ino, tcur, t);
      t.release();
      BENTO_ASSIGN_OR_RETURN(t, dwrite(c, h, dir, ino, lblk));
      tcur = lblk;
    }
    store_le32(t.data_mut().data() + off, nb);
  }
  if (t && tcur != 0) seal(c, dir, ino, tcur, t);
  t.release();
  BENTO_ASSIGN_OR_RETURN(uint64_t b0, dblock(c, dir, 0));
  BENTO_ASSIGN_OR_RETURN(BufferHead hb, h.get_write(b0));
  DirHeader hd;
  __builtin_memcpy(&hd, hb.data().data(), sizeof(hd));
  hd.nbuckets.set(nb + 1);
  __builtin_memcpy(hb.data_mut().data(), &hd, sizeof(hd));
  seal(c, dir, ino, 0, hb);
  return Status::Ok();
}

}  // namespace

Status dir_init(const FsCtx& c, Handle& h, DiskInode& dir, DirIno ino, uint64_t parent) {
  BENTO_ASSIGN_OR_RETURN(BufferHead hb, map_new(c, h, dir, 0));
  uint8_t* p = hb.data_mut().data();
  __builtin_memset(p, 0, 4096);
  DirHeader hd{};
  hd.magic.set(kDirMagic);
  hd.global_depth.set(0);
  hd.parent.set(parent);
  hd.entries.set(0);
  hd.nbuckets.set(1);
  __builtin_memcpy(p, &hd, sizeof(hd));
  store_le32(p + kInlineTableOffset, 0);
  seal(c, dir, ino, 0, hb);
  BENTO_ASSIGN_OR_RETURN(BufferHead bb, map_new(c, h, dir, kBucketFirstBlock));
  init_bucket(bb.data_mut().data(), 0, 0);
  seal(c, dir, ino, kBucketFirstBlock, bb);
  return Status::Ok();
}

Result<bool> dir_find(const FsCtx& c, const DiskInode& dir, DirIno ino, std::string_view name,
                      DirEntryInfo* out) {
  uint64_t hash = bento::hash_bytes(name);
  BENTO_ASSIGN_OR_RETURN(uint64_t lblk, bucket_for(c, dir, ino, hash, nullptr, nullptr));
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dread(c, dir, ino, lblk));
  int32_t off = find_in_bucket(bh.data().data(), bucket_space(c), hash, name);
  if (off < 0) return false;
  Dirent e = parse(bh.data().data() + off);
  if (out != nullptr) *out = {e.ino, e.type};
  return true;
}

Status dir_add(const FsCtx& c, Handle& h, DiskInode& dir, DirIno dino, std::string_view name,
               uint64_t ino, uint8_t type) {
  uint64_t hash = bento::hash_bytes(name);
  uint32_t need = kDirentHeader + static_cast<uint32_t>(name.size());
  const uint32_t space = bucket_space(c);
  for (int attempt = 0; attempt < 64; attempt++) {
    uint64_t idx;
    BENTO_ASSIGN_OR_RETURN(uint64_t lblk, bucket_for(c, dir, dino, hash, &idx, nullptr));
    {
      BENTO_ASSIGN_OR_RETURN(BufferHead bh, dread(c, dir, dino, lblk));
      DirBucket bk;
      __builtin_memcpy(&bk, bh.data().data(), sizeof(bk));
      if (bk.magic.get() != kBucketMagic || bk.used.get() > space) return Err(EUCLEAN);
      if (bk.used.get() + need <= space) {
        bh.release();
        BENTO_ASSIGN_OR_RETURN(uint64_t b, dblock(c, dir, lblk));
        BENTO_ASSIGN_OR_RETURN(BufferHead wb, h.get_write(b));  // verified just now
        uint8_t* p = wb.data_mut().data();
        emit(p + sizeof(DirBucket) + bk.used.get(), hash, ino, name, type);
        bk.used.set(static_cast<uint16_t>(bk.used.get() + need));
        bk.count.set(static_cast<uint16_t>(bk.count.get() + 1));
        __builtin_memcpy(p, &bk, sizeof(bk));
        seal(c, dir, dino, lblk, wb);
        return adjust_entries(c, h, dir, dino, 1);
      }
    }
    BENTO_TRY(split_bucket(c, h, dir, dino, idx));
  }
  return Err(ENOSPC);
}

Status dir_remove(const FsCtx& c, Handle& h, const DiskInode& dir, DirIno dino,
                  std::string_view name) {
  uint64_t hash = bento::hash_bytes(name);
  BENTO_ASSIGN_OR_RETURN(uint64_t lblk, bucket_for(c, dir, dino, hash, nullptr, nullptr));
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dwrite(c, h, dir, dino, lblk));
  uint8_t* p = bh.data_mut().data();
  int32_t off = find_in_bucket(p, bucket_space(c), hash, name);
  if (off < 0) return Err(ENOENT);
  DirBucket bk;
  __builtin_memcpy(&bk, p, sizeof(bk));
  uint32_t sz = parse(p + off).size();
  uint32_t end = sizeof(DirBucket) + bk.used.get();
  __builtin_memmove(p + off, p + off + sz, end - off - sz);
  __builtin_memset(p + end - sz, 0, sz);
  bk.used.set(static_cast<uint16_t>(bk.used.get() - sz));
  bk.count.set(static_cast<uint16_t>(bk.count.get() - 1));
  __builtin_memcpy(p, &bk, sizeof(bk));
  seal(c, dir, dino, lblk, bh);
  return adjust_entries(c, h, dir, dino, -1);
}

Status dir_replace(const FsCtx& c, Handle& h, const DiskInode& dir, DirIno dino,
                   std::string_view name, uint64_t ino, uint8_t type) {
  uint64_t hash = bento::hash_bytes(name);
  BENTO_ASSIGN_OR_RETURN(uint64_t lblk, bucket_for(c, dir, dino, hash, nullptr, nullptr));
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dwrite(c, h, dir, dino, lblk));
  uint8_t* p = bh.data_mut().data();
  int32_t off = find_in_bucket(p, bucket_space(c), hash, name);
  if (off < 0) return Err(ENOENT);
  store_le64(p + off + 8, ino);
  p[off + 17] = type;
  seal(c, dir, dino, lblk, bh);
  return Status::Ok();
}

Result<uint64_t> dir_entry_count(const FsCtx& c, const DiskInode& dir, DirIno ino) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dread(c, dir, ino, 0));
  DirHeader hd;
  __builtin_memcpy(&hd, bh.data().data(), sizeof(hd));
  return hd.entries.get();
}

Result<uint64_t> dir_parent(const FsCtx& c, const DiskInode& dir, DirIno ino) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dread(c, dir, ino, 0));
  DirHeader hd;
  __builtin_memcpy(&hd, bh.data().data(), sizeof(hd));
  return hd.parent.get();
}

Status dir_set_parent(const FsCtx& c, Handle& h, const DiskInode& dir, DirIno ino,
                      uint64_t parent) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dwrite(c, h, dir, ino, 0));
  DirHeader hd;
  __builtin_memcpy(&hd, bh.data().data(), sizeof(hd));
  hd.parent.set(parent);
  __builtin_memcpy(bh.data_mut().data(), &hd, sizeof(hd));
  seal(c, dir, ino, 0, bh);
  return Status::Ok();
}

// What is wrong with one bucket block (nullptr: nothing), for a bucket met at table slot
// idx of a table of depth `global`: the checks that need only the block, shared by
// readdir (which reads every entry anyway) and fsck's dir_check.
namespace {
const char* bucket_damage(const uint8_t* p, uint32_t space, uint32_t global, uint64_t idx) {
  DirBucket bk;
  __builtin_memcpy(&bk, p, sizeof(bk));
  const uint32_t d = bk.local_depth.get();
  if (bk.magic.get() != kBucketMagic) return "directory bucket has a bad magic number";
  if (d > global) return "directory bucket is deeper than its table";
  if (bk.used.get() > space) return "directory bucket overflows its block";
  if (d > 0 && (idx >> (global - d)) != bk.prefix.get())
    return "directory table slots of a bucket are not where its prefix says";
  const uint32_t end = sizeof(DirBucket) + bk.used.get();
  uint32_t count = 0;
  for (uint32_t off = sizeof(DirBucket); off < end;) {
    if (off + kDirentHeader > end) return "directory entry runs past its bucket";
    Dirent e = parse(p + off);
    if (e.len == 0 || off + e.size() > end) return "directory entry runs past its bucket";
    std::string_view name(reinterpret_cast<const char*>(e.name), e.len);
    if (bento::hash_bytes(name) != e.hash) return "directory entry has a wrong hash";
    if (d > 0 && (e.hash >> (64 - d)) != bk.prefix.get())
      return "directory entry is in the wrong bucket for its hash";
    count++;
    off += e.size();
  }
  if (count != bk.count.get()) return "directory bucket entry count is wrong";
  return nullptr;
}
}  // namespace

Status dir_iterate(const FsCtx& c, const DiskInode& dir, DirIno ino, uint64_t min_key,
                   DirVisitor fn, void* arg) {
  BENTO_ASSIGN_OR_RETURN(HeaderInfo hi, read_header(c, dir, ino));
  uint64_t nslots = 1ULL << hi.depth;
  uint64_t idx = table_index(min_key << 1, hi.depth);
  uint32_t prev = ~0u;
  struct Item {
    uint64_t key;
    uint32_t off;
  };
  bento::Vec<Item> items;
  SlotReader sr{c, dir, ino, hi.depth};
  for (; idx < nslots; idx++) {
    BENTO_ASSIGN_OR_RETURN(uint32_t bucket, sr.get(idx));
    if (bucket == prev) continue;  // a bucket's slots are contiguous
    prev = bucket;
    if (bucket >= hi.nbuckets) return Err(EUCLEAN);
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, dread(c, dir, ino, kBucketFirstBlock + bucket));
    const uint8_t* p = bh.data().data();
    if (const char* why = bucket_damage(p, bucket_space(c), hi.depth, idx)) {
      bento::log(bento::LogLevel::kError, "bento-fs: a directory is damaged; run fsck.bento:");
      bento::log(bento::LogLevel::kError, why);
      return Err(EUCLEAN);
    }
    DirBucket bk;
    __builtin_memcpy(&bk, p, sizeof(bk));
    items.clear();
    uint32_t end = sizeof(DirBucket) + bk.used.get();
    for (uint32_t off = sizeof(DirBucket); off + kDirentHeader <= end;) {
      Dirent e = parse(p + off);
      if (off + e.size() > end) return Err(EUCLEAN);
      if ((e.hash >> 1) >= min_key) BENTO_TRY(items.push_back({e.hash >> 1, off}));
      off += e.size();
    }
    // Insertion sort: a bucket holds at most ~220 names.
    for (size_t i = 1; i < items.size(); i++) {
      Item x = items[i];
      size_t j = i;
      for (; j > 0 && items[j - 1].key > x.key; j--) items[j] = items[j - 1];
      items[j] = x;
    }
    for (const Item& it : items) {
      Dirent e = parse(p + it.off);
      std::string_view name(reinterpret_cast<const char*>(e.name), e.len);
      if (!fn(arg, name, e.ino, e.type, it.key)) return Status::Ok();
    }
  }
  return Status::Ok();
}

Status dir_check(const FsCtx& c, const DiskInode& dir, DirIno ino, const char** why,
                 uint64_t* bad_lblk) {
  auto fail = [&](const char* w) {
    *why = w;
    return Status(Err(EUCLEAN));
  };
  // A block that fails its checksum is reported as such (with its logical index), before
  // anything in it is trusted.
  auto read = [&](uint64_t lblk, BufferHead* out) -> const char* {
    auto br = bmap_lookup(c, dir, lblk);
    if (!br.ok() || *br == 0) return "directory block is missing";
    auto bh = c.dev->bread(*br);
    if (!bh.ok()) return "directory block cannot be read";
    if (!csum_ok(c, dir, ino, lblk, bh->data().data())) {
      if (bad_lblk != nullptr) *bad_lblk = lblk;
      return "directory block fails its checksum";
    }
    *out = static_cast<BufferHead&&>(*bh);
    return nullptr;
  };
  BufferHead hb;
  if (const char* w = read(0, &hb)) return fail(w);
  if (!header_sane(hb.data().data())) return fail("directory header is damaged");
  HeaderInfo hi = header_info(hb.data().data());
  hb.release();
  if (hi.nbuckets == 0) return fail("directory has no buckets");
  uint64_t nslots = 1ULL << hi.depth;
  uint64_t total = 0;
  uint32_t prev = ~0u;
  uint64_t tcur = ~0ULL;
  BufferHead tb;
  for (uint64_t idx = 0; idx < nslots; idx++) {
    uint64_t tl;
    uint32_t toff;
    slot_pos(c, hi.depth, idx, &tl, &toff);
    if (tl != tcur) {
      tb.release();
      tcur = ~0ULL;
      if (const char* w = read(tl, &tb)) return fail(w);
      tcur = tl;
    }
    uint32_t bucket = load_le32(tb.data().data() + toff);
    if (bucket == prev) continue;
    prev = bucket;
    if (bucket >= hi.nbuckets) return fail("directory hash table points past the last bucket");
    BufferHead bh;
    if (const char* w = read(kBucketFirstBlock + bucket, &bh)) return fail(w);
    const uint8_t* p = bh.data().data();
    DirBucket bk;
    __builtin_memcpy(&bk, p, sizeof(bk));
    if (const char* w = bucket_damage(p, bucket_space(c), hi.depth, idx)) return fail(w);
    const uint32_t d = bk.local_depth.get();
    uint64_t first = d == 0 ? 0 : (static_cast<uint64_t>(bk.prefix.get()) << (hi.depth - d));
    if (idx != first)
      return fail("directory table slots of a bucket are not where its prefix says");
    total += bk.count.get();
  }
  auto n = dir_entry_count(c, dir, ino);
  if (!n.ok() || *n != total) return fail("directory entry total in the header is wrong");
  return Status::Ok();
}

Status dir_salvage(const FsCtx& c, const DiskInode& dir, DirVisitor fn, void* arg) {
  uint64_t nblocks = dir.size.get() / 4096;
  if (nblocks > kTableFirstBlock) nblocks = kTableFirstBlock;
  const uint32_t limit = c.dir_csum ? kDirCsumOffset : 4096;
  for (uint64_t lblk = kBucketFirstBlock; lblk < nblocks; lblk++) {
    auto br = bmap_lookup(c, dir, lblk);
    if (!br.ok() || *br == 0) continue;
    auto bh = c.dev->bread(*br);
    if (!bh.ok()) continue;
    const uint8_t* p = bh->data().data();
    // Every offset is tried: after a damaged entry the next good one is found again (a
    // 64-bit hash of the name makes a false match practically impossible).
    for (uint32_t off = sizeof(DirBucket); off + kDirentHeader <= limit;) {
      Dirent e = parse(p + off);
      // A known d_type first: it rejects almost every offset that is not an entry cheaply.
      // DT_FIFO 1, CHR 2, DIR 4, BLK 6, REG 8, LNK 10, SOCK 12.
      bool ok =
          e.len != 0 && off + e.size() <= limit && e.type <= 12 && ((1u << e.type) & 0x1556u) != 0;
      std::string_view name(reinterpret_cast<const char*>(e.name), ok ? e.len : 0);
      if (ok) {
        ok = !(name == "." || name == "..");
        for (size_t i = 0; ok && i < name.size(); i++) ok = name[i] != '/' && name[i] != '\0';
        ok = ok && bento::hash_bytes(name) == e.hash;
      }
      if (!ok) {
        off++;
        continue;
      }
      if (!fn(arg, name, e.ino, e.type, e.hash >> 1)) return Status::Ok();
      off += e.size();
    }
  }
  return Status::Ok();
}

}  // namespace bentofs
