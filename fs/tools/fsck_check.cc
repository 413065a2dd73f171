// fsck.bento's checks: see fsck_check.h.
#include "tools/fsck_check.h"

#include <bento/fs_types.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <string>

#include "core/acl.h"
#include "core/block_map.h"
#include "core/directory.h"
#include "core/geometry.h"
#include "core/journal.h"
#include "core/superblock_check.h"
#include "core/xattr_store.h"
#include "format/acl.h"
#include "format/inode.h"
#include "format/journal.h"
#include "format/prov_log.h"
#include "format/superblock.h"
#include "format/xattr.h"
#include "tools/fsck_journal.h"
#include "tools/fsck_prov.h"
#include "tools/fsck_super.h"

namespace bentofs {

namespace {

namespace md = bento::mode;

// What a pointer to a block is: the inode field, or an entry of a pointer block.
struct PtrLoc {
  uint64_t block = 0;  // 0: a field of the inode (field says which)
  uint32_t idx = 0;
  int field = -1;  // 0..11 direct, 12..15 tree roots, 16 xattr block
};

// A block claimed a second time: clone it (data) or drop the second owner's pointer.
struct Dup {
  uint64_t ino = 0;
  uint64_t lblk = 0;
  bool data = false;
  PtrLoc loc;
};

// One round of checks (e2fsck's passes: 0 superblock and journal, 1 inodes and their
// blocks, 2 directories, 3 connectivity, 4 link counts, 5 bitmaps and counts). In repair
// mode a round writes what it fixed; run_fsck repeats rounds until one finds nothing.
struct Checker {
  bento::BlockDevice& dev;
  FsckReport& rep;
  bool repair = false;
  SuperBlock sb{};
  Geometry geo;
  std::vector<uint8_t> block_bitmap, inode_bitmap;
  std::vector<uint32_t> claimed_by;       // block -> inode claiming it (0 free)
  std::map<uint64_t, int> acl_presence_;  // inode -> 1: access ACL, 2: default ACL stored
  std::vector<DiskInode> inodes;
  std::vector<bool> inode_dirty;    // written back by apply_fixes
  std::vector<uint32_t> refs;       // directory entries naming each inode
  std::vector<uint32_t> subdirs;    // subdirectories of each directory
  std::vector<uint64_t> parent_of;  // directory containing each directory
  std::vector<bool> on_orphan_list;
  std::vector<bool> dir_ok;  // directory structure passed dir_check
  bool inode_bitmap_dirty = false, block_bitmap_dirty = false, free_counts_wrong = false;
  std::vector<PtrLoc> zero_ptrs;  // pointer-block entries to clear
  std::vector<Dup> dups;
  // Structural repairs, done through a journal after the direct ones (apply_structural).
  // Damaged directories, rebuilt from the entries that validate on their own.
  struct DirRebuild {
    uint64_t dir;
    std::vector<std::pair<std::string, DirEntryInfo>> entries;
  };
  std::vector<DirRebuild> dir_rebuilds;
  struct EntryFix {
    uint64_t dir;
    std::string name;
    uint64_t ino;  // 0: remove the entry
    uint8_t type;
  };
  std::vector<EntryFix> entry_fixes;
  std::vector<uint64_t> to_lost_found;
  std::vector<std::pair<uint64_t, uint64_t>> parent_fixes;  // dir -> its real parent

  void problem(std::string s) { rep.problems.push_back(std::move(s)); }
  // A problem repair mode corrects; returns whether it will be corrected.
  bool fixable(std::string s) {
    if (!repair) {
      problem(std::move(s));
      return false;
    }
    rep.fixed.push_back(std::move(s));
    return true;
  }
  static std::string ino_str(uint64_t ino) { return "inode " + std::to_string(ino); }
  void set_bit(std::vector<uint8_t>& bm, uint64_t i, bool v) {
    if (v)
      bm[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
    else
      bm[i / 8] &= static_cast<uint8_t>(~(1u << (i % 8)));
  }
  bool bit(const std::vector<uint8_t>& bm, uint64_t i) { return (bm[i / 8] >> (i % 8)) & 1; }
  bool in_data(uint64_t b) const { return b >= geo.data_start && b < geo.block_count; }
  void dirty(uint64_t ino) { inode_dirty[ino] = true; }
  // Every inode fsck writes gets its checksum (images with INODE_CSUM).
  void seal(uint64_t ino) {
    if (geo.inode_csum) inode_seal(ino, inodes[ino]);
  }

  bool write_region(uint64_t start, const std::vector<uint8_t>& data) {
    for (uint64_t i = 0; i < data.size() / 4096; i++) {
      auto bh = dev.getblk(start + i);
      if (!bh.ok()) return false;
      memcpy(bh->data_mut().data(), data.data() + i * 4096, 4096);
      bh->mark_dirty();
    }
    return true;
  }
  bool read_region(uint64_t start, uint64_t blocks, std::vector<uint8_t>* out) {
    out->assign(blocks * 4096, 0);
    for (uint64_t i = 0; i < blocks; i++) {
      auto bh = dev.bread(start + i);
      if (!bh.ok()) return false;
      memcpy(out->data() + i * 4096, bh->data().data(), 4096);
    }
    return true;
  }

  // ---- pass 1: inodes and the blocks they claim ----

  // Claims b for ino. False when the pointer must not be followed: outside the data area
  // (repair: cleared) or already claimed (repair: cloned or dropped, see Dup).
  bool claim(uint64_t ino, uint64_t b, const char* what, const PtrLoc& loc, uint64_t lblk,
             bool data) {
    if (!in_data(b)) {
      if (fixable(ino_str(ino) + ": " + what + " pointer " + std::to_string(b) +
                  " is outside the data area (cleared)"))
        clear_ptr(ino, loc);
      return false;
    }
    if (claimed_by[b] != 0) {
      if (fixable("block " + std::to_string(b) + " is used by both inode " +
                  std::to_string(claimed_by[b]) + " and inode " + std::to_string(ino) +
                  (data ? " (cloned for the second)" : " (given to the first)")))
        dups.push_back({ino, lblk, data, loc});
      return data;  // a cloned data block counts for its file
    }
    claimed_by[b] = static_cast<uint32_t>(ino);
    return true;
  }
  void clear_ptr(uint64_t ino, const PtrLoc& loc) {
    DiskInode& di = inodes[ino];
    if (loc.block != 0) {
      zero_ptrs.push_back(loc);
    } else if (loc.field < 12) {
      di.direct[loc.field].set(0);
    } else if (loc.field == 16) {
      di.xattr_block.set(0);
    } else {
      Le32* roots[] = {&di.indirect, &di.dindirect, &di.tindirect, &di.qindirect};
      roots[loc.field - 12]->set(0);
    }
    dirty(ino);
  }

  // Walks the block map, claiming every block; returns the number of blocks found.
  uint64_t walk_blocks(uint64_t ino, uint64_t* max_lblk) {
    DiskInode& di = inodes[ino];
    uint64_t count = 0;
    *max_lblk = 0;
    auto data = [&](uint64_t lblk, uint64_t b, const PtrLoc& loc) {
      if (b == 0) return;
      if (!claim(ino, b, "data block", loc, lblk, true)) return;
      count++;
      if (lblk + 1 > *max_lblk) *max_lblk = lblk + 1;
    };
    for (uint32_t i = 0; i < kNumDirect; i++) data(i, di.direct[i].get(), {0, 0, int(i)});
    static const char* const kWhat[] = {"", "indirect block", "double-indirect block",
                                        "triple-indirect block", "quadruple-indirect block"};
    std::function<void(uint64_t, uint32_t, uint64_t, const PtrLoc&)> tree =
        [&](uint64_t b, uint32_t depth, uint64_t base, const PtrLoc& loc) {
          if (!claim(ino, b, kWhat[depth], loc, 0, false)) return;
          count++;
          auto bh = dev.bread(b);
          if (!bh.ok()) return;
          std::vector<uint32_t> p(1024);
          for (int i = 0; i < 1024; i++) p[i] = load_le32(bh->data().data() + 4 * i);
          const uint64_t span = uint64_t{1} << (kPtrShift * (depth - 1));
          for (uint32_t i = 0; i < kPtrsPerBlock; i++) {
            if (p[i] == 0) continue;
            PtrLoc child{b, i, -1};
            if (depth == 1)
              data(base + i, p[i], child);
            else
              tree(p[i], depth - 1, base + i * span, child);
          }
        };
    const uint32_t roots[] = {di.indirect.get(), di.dindirect.get(), di.tindirect.get(),
                              di.qindirect.get()};
    uint64_t base = kNumDirect;
    for (uint32_t d = 1; d <= 4; d++) {
      if (roots[d - 1] != 0) {
        if (d >= 3 && !geo.big_files) {
          if (fixable(ino_str(ino) + " has a " + kWhat[d] +
                      " but the image lacks feature BIGFILE (cleared)"))
            clear_ptr(ino, {0, 0, int(12 + d - 1)});
        } else {
          tree(roots[d - 1], d, base, {0, 0, int(12 + d - 1)});
        }
      }
      base += uint64_t{1} << (kPtrShift * d);
    }
    if (uint64_t xb = di.xattr_block.get()) count += check_xattrs(ino, xb);
    return count;
  }

  // Extended attributes (format/xattr.h v1 block or v2 map + stream) and the ACLs among
  // them (format/acl.h); returns the blocks they use. Damage: repair drops the attributes.
  uint64_t check_xattrs(uint64_t ino, uint64_t xb) {
    DiskInode& di = inodes[ino];
    const std::string who = ino_str(ino);
    if (!claim(ino, xb, "xattr block", {0, 0, 16}, 0, false)) return 0;
    uint64_t count = 1;
    auto drop = [&](const std::string& why) {
      if (fixable(who + ": " + why + " (its extended attributes are dropped)")) {
        di.xattr_block.set(0);
        dirty(ino);
        claimed_by[xb] = 0;
        return uint64_t{0};
      }
      return count;
    };
    auto bh = dev.bread(xb);
    if (!bh.ok()) return count;
    uint32_t magic = load_le32(bh->data().data());
    std::vector<uint32_t> stream;
    if (magic == kXattrMapMagic) {
      if (!geo.xattr_map) return drop("xattr map block but the image lacks feature XATTRMAP");
      XattrMapHeader hdr;
      memcpy(&hdr, bh->data().data(), sizeof hdr);
      uint32_t n = hdr.nblocks.get();
      if (n > kXattrMaxBlocks || hdr.used.get() > n * 4096 || (hdr.used.get() + 4095) / 4096 != n)
        return drop("xattr map header is damaged");
      for (uint32_t i = 0; i < n; i++) {
        uint32_t b = load_le32(bh->data().data() + sizeof(XattrMapHeader) + 4 * i);
        if (!in_data(b) || claimed_by[b] != 0) {
          for (uint32_t s : stream) claimed_by[s] = 0;
          return drop("xattr stream block " + std::to_string(b) +
                      (in_data(b) ? " is used twice" : " is outside the data area"));
        }
        stream.push_back(b);
        claimed_by[b] = static_cast<uint32_t>(ino);
        count++;
      }
    } else if (magic != kXattrMagic) {
      return drop("xattr block is damaged (bad magic)");
    }
    FsCtx c = ctx();
    XattrSet set;
    if (!xattr_load(c, di, &set).ok()) {
      for (uint32_t s : stream) claimed_by[s] = 0;
      return drop("extended attributes are damaged (entries or their count do not decode)");
    }
    bool has_access = false, has_default = false, bad_acl = false;
    set.for_each([&](const XattrSet::Entry& e) {
      bool is_access = e.name == acl::kAccessName, is_default = e.name == acl::kDefaultName;
      if (!is_access && !is_default) return true;
      has_access |= is_access;
      has_default |= is_default;
      Acl a;
      if (!acl_parse(e.value, &a).ok()) bad_acl = true;
      if (is_default && !md::is_dir(di.mode.get())) bad_acl = true;
      return true;
    });
    if (bad_acl) {
      for (uint32_t s : stream) claimed_by[s] = 0;
      return drop("an ACL attribute is not a valid POSIX ACL for this file");
    }
    acl_presence_[ino] = (has_access ? 1 : 0) | (has_default ? 2 : 0);
    return count;
  }

  void clear_inode(uint64_t ino) {
    memset(&inodes[ino], 0, sizeof(DiskInode));
    dirty(ino);
    set_bit(inode_bitmap, ino, false);
    inode_bitmap_dirty = true;
  }

  void pass1_inode(uint64_t ino) {
    DiskInode& di = inodes[ino];
    const std::string who = ino_str(ino);
    uint32_t type = di.mode.get() & md::kTypeMask;
    if (type != md::kRegular && type != md::kDirectory && type != md::kSymlink &&
        type != md::kFifo && type != md::kSocket && type != md::kCharDev && type != md::kBlockDev) {
      if (ino != 1 && fixable(who + " has an unknown file type (cleared)")) clear_inode(ino);
      if (ino == 1) problem("root inode 1 has an unknown file type");
      return;
    }
    if (type == md::kSymlink && (di.size.get() == 0 || di.size.get() >= 4096) &&
        di.nlink.get() != 0) {
      if (fixable("symlink " + who + " has a bad target length (cleared)")) clear_inode(ino);
      return;
    }
    if (geo.inode_csum && di.checksum.get() != inode_checksum(ino, di) &&
        fixable(who + ": checksum does not match its contents (recomputed)"))
      dirty(ino);
    rep.inodes_used++;
    uint64_t max_lblk;
    uint64_t n = walk_blocks(ino, &max_lblk);
    if (n != di.blocks.get() && fixable(who + " says it has " + std::to_string(di.blocks.get()) +
                                        " blocks but " + std::to_string(n) + " are mapped")) {
      di.blocks.set(n);
      dirty(ino);
    }
    check_flags(ino);
    const uint64_t size = di.size.get();
    if (type == md::kDirectory && di.nlink.get() != 0 && size != max_lblk * 4096) {
      if (fixable(who + ": directory size " + std::to_string(size) + " does not match its " +
                  std::to_string(max_lblk) + " block(s)")) {
        di.size.set(max_lblk * 4096);
        dirty(ino);
      }
    } else if (type == md::kRegular && size > geo.max_file_size()) {
      if (fixable(who + ": size " + std::to_string(size) + " is larger than the format allows")) {
        di.size.set(max_lblk * 4096);
        dirty(ino);
      }
    } else if (type == md::kSymlink && di.nlink.get() != 0 &&
               (di.direct[0].get() == 0 || max_lblk > 1)) {
      if (fixable("symlink " + who + " has a bad target (cleared)")) clear_inode(ino);
    }
  }

  // ---- pass 2: directories ----

  FsCtx ctx(BitmapAllocator* balloc = nullptr) const {
    return FsCtx{&dev,         balloc,      geo.data_start, geo.block_count, geo.max_file_blocks(),
                 geo.dir_csum, geo.dir_seed};
  }

  void pass2_directory(uint64_t ino) {
    const DiskInode& di = inodes[ino];
    FsCtx c = ctx();
    const char* dwhy = nullptr;
    uint64_t bad_lblk = ~0ULL;
    if (!dir_check(c, di, DirIno{ino}, &dwhy, &bad_lblk).ok()) {
      // Salvage: the entries that validate on their own (each name's hash) are kept, the
      // rest dropped; the directory is rebuilt from them (new blocks, new checksums) and
      // the link-count pass sends what lost its name to lost+found.
      DirRebuild rb{ino, {}};
      std::map<std::string, bool> seen;
      auto keep = [&](std::string_view name, uint64_t cino, uint8_t type, uint64_t) {
        if (seen.emplace(std::string(name), true).second)
          rb.entries.push_back({std::string(name), DirEntryInfo{cino, type}});
        return true;
      };
      (void)dir_salvage_each(c, di, keep);
      std::string what = "directory " + std::to_string(ino) + ": " + dwhy;
      if (bad_lblk != ~0ULL) what += " (logical block " + std::to_string(bad_lblk) + ")";
      if (!fixable(what + "; " + std::to_string(rb.entries.size()) +
                   " entries validate on their own (the directory is rebuilt from them)")) {
        // -n: judge the rest of the image by what a repair would keep.
        for (auto& [name, e] : rb.entries) visit_entry(ino, name, e.ino, e.type);
        return;
      }
      dir_ok[ino] = true;  // the rebuilt directory: entry fixes apply to it
      for (auto& [name, e] : rb.entries) visit_entry(ino, name, e.ino, e.type);
      dir_rebuilds.push_back(std::move(rb));
      return;
    }
    dir_ok[ino] = true;
    auto visit = [&](std::string_view name, uint64_t cino, uint8_t type, uint64_t) {
      visit_entry(ino, name, cino, type);
      return true;
    };
    (void)dir_for_each(c, di, DirIno{ino}, 0, visit);
  }

  // One entry of directory ino: counted (refs, subdirectories, parent) or marked for a fix.
  void visit_entry(uint64_t ino, std::string_view name, uint64_t cino, uint8_t type) {
    std::string where = "directory " + std::to_string(ino) + " entry '" + std::string(name) + "'";
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) {
      if (fixable(where + " has an invalid name (removed)"))
        entry_fixes.push_back({ino, std::string(name), 0, 0});
      return;
    }
    if (cino <= 1 || cino >= geo.inode_count || !bit(inode_bitmap, cino) ||
        inodes[cino].mode.get() == 0) {
      if (fixable(where + " points to free or invalid inode " + std::to_string(cino) +
                  " (removed)"))
        entry_fixes.push_back({ino, std::string(name), 0, 0});
      return;
    }
    uint32_t cm = inodes[cino].mode.get();
    if (md::is_dir(cm)) {
      if (parent_of[cino] != 0) {
        if (fixable("directory " + std::to_string(cino) +
                    " has more than one name (the extra one is removed)"))
          entry_fixes.push_back({ino, std::string(name), 0, 0});
        return;
      }
      subdirs[ino]++;
      parent_of[cino] = ino;
    }
    refs[cino]++;
    if (md::dirent_type(cm) != type && fixable(where + " has the wrong file type (corrected)"))
      entry_fixes.push_back({ino, std::string(name), cino, md::dirent_type(cm)});
  }

  // ---- pass 3: connectivity; pass 4: link counts ----

  bool reachable(uint64_t dir) {
    for (uint64_t d = dir, n = 0; n <= geo.inode_count; n++) {
      if (d == 1) return true;
      if (d == 0 || d >= geo.inode_count) return false;
      d = parent_of[d];
    }
    return false;  // a cycle
  }

  void pass3_4() {
    FsCtx c = ctx();
    for (uint64_t ino = 1; ino < geo.inode_count; ino++) {
      DiskInode& di = inodes[ino];
      if (!bit(inode_bitmap, ino) || di.mode.get() == 0) continue;
      const uint32_t nlink = di.nlink.get();
      if (md::is_dir(di.mode.get())) {
        if (nlink == 0 && on_orphan_list[ino]) continue;  // removed directory still open
        if (ino != 1 && !reachable(ino)) {
          // Only the top of an unreachable tree moves (no parent, or the smallest member
          // of a cycle); what is below it follows.
          uint64_t p = parent_of[ino];
          if (p != 0 && cycle_min(ino) != ino) continue;
          if (fixable("directory " + std::to_string(ino) +
                      " is not reachable from the root (moved to lost+found)")) {
            if (p != 0) {
              remove_entry_naming(p, ino);
              parent_of[ino] = 0;
            }
            to_lost_found.push_back(ino);
          }
          continue;
        }
        uint32_t want = 2 + subdirs[ino];
        if (nlink != want &&
            fixable("directory " + std::to_string(ino) + " has link count " +
                    std::to_string(nlink) + ", should be " + std::to_string(want))) {
          di.nlink.set(want);
          dirty(ino);
        }
        if (dir_ok[ino]) {
          auto pr = dir_parent(c, di, DirIno{ino});
          uint64_t want_parent = ino == 1 ? 1 : parent_of[ino];
          if (pr.ok() && want_parent != 0 && *pr != want_parent &&
              fixable("directory " + std::to_string(ino) + " records parent " +
                      std::to_string(*pr) + " but is in directory " + std::to_string(want_parent) +
                      " (corrected)"))
            parent_fixes.push_back({ino, want_parent});
        }
        continue;
      }
      if (refs[ino] == 0) {
        if (nlink == 0 && on_orphan_list[ino]) continue;  // unlinked, still open: freed at mount
        if (fixable(ino_str(ino) + " has link count " + std::to_string(nlink) +
                    " but no directory entry (moved to lost+found)"))
          to_lost_found.push_back(ino);
        continue;
      }
      if (nlink != refs[ino] &&
          fixable(ino_str(ino) + " has link count " + std::to_string(nlink) + " but " +
                  std::to_string(refs[ino]) + " directory entries")) {
        di.nlink.set(refs[ino]);
        dirty(ino);
      }
    }
  }
  // The smallest inode of the parent cycle ino is on, or 0 when ino is not on a cycle.
  uint64_t cycle_min(uint64_t ino) {
    uint64_t m = ino;
    uint64_t d = parent_of[ino];
    for (uint64_t n = 0; n <= geo.inode_count; n++) {
      if (d == ino) return m;
      if (d == 0 || d == 1 || d >= geo.inode_count) return 0;
      if (d < m) m = d;
      d = parent_of[d];
    }
    return 0;
  }
  void remove_entry_naming(uint64_t dir, uint64_t ino) {
    if (dir >= geo.inode_count || !dir_ok[dir]) return;
    for (const DirRebuild& rb : dir_rebuilds) {
      if (rb.dir != dir) continue;
      for (auto& [name, e] : rb.entries)
        if (e.ino == ino) entry_fixes.push_back({dir, name, 0, 0});
      if (subdirs[dir] > 0) subdirs[dir]--;
      return;
    }
    FsCtx c = ctx();
    auto visit = [&](std::string_view name, uint64_t cino, uint8_t, uint64_t) {
      if (cino == ino) entry_fixes.push_back({dir, std::string(name), 0, 0});
      return true;
    };
    (void)dir_for_each(c, inodes[dir], DirIno{dir}, 0, visit);
    if (subdirs[dir] > 0) subdirs[dir]--;
  }

  // chattr flags (format/inode.h iflag): no unknown bits; the internal ACL bits match the
  // ACL attributes found (repairable: the flags are rewritten).
  void check_flags(uint64_t ino) {
    DiskInode& di = inodes[ino];
    const uint32_t fl = di.flags.get();
    uint32_t want = fl & iflag::kKnown;
    int pres = acl_presence_.count(ino) ? acl_presence_[ino] : 0;
    if (pres & 1) want |= iflag::kHasAcl;
    if (pres & 2) want |= iflag::kHasDefaultAcl;
    if (want == fl) return;
    const std::string who = "inode " + std::to_string(ino);
    std::string msg = (fl & ~(iflag::kKnown | iflag::kHasAcl | iflag::kHasDefaultAcl))
                          ? who + " has unknown inode flag bits"
                          : who + ": its ACL flags do not match its ACL attributes";
    if (fixable(msg)) {
      di.flags.set(want);
      dirty(ino);
    }
  }

  // The provenance log area (format/prov_log.h): header, and every retained record decodes
  // with consecutive sequence numbers. Its blocks lie before data_start, so the bitmap
  // check of the metadata area covers them.
  void check_prov_log() {
    if (geo.prov_blocks == 0) return;
    auto hb = dev.bread(geo.prov_start);
    if (!hb.ok()) {
      problem("cannot read the provenance log header");
      return;
    }
    prov::ProvLogHeader h;
    memcpy(&h, hb->data().data(), sizeof h);
    hb->release();
    if (const char* why = prov::check_header(h, geo.prov_blocks)) {
      if (fixable(std::string("provenance log: ") + why)) {
        std::string what;
        if (prov_header_rebuild(dev, geo.prov_start, geo.prov_blocks, &what))
          rep.fixed.push_back(what);
        else
          problem("provenance log header could not be rebuilt");
      }
      return;
    }
    uint64_t off = h.head.get(), end = h.tail.get(), records = 0, expect_seq = 0;
    // A damaged record (or one out of sequence) ends the log where it starts.
    auto cut = [&](const std::string& why) {
      uint64_t next = expect_seq != 0 ? expect_seq : h.next_seq.get();
      uint64_t dropped = h.next_seq.get() > next ? h.next_seq.get() - next : 0;
      if (fixable("provenance log: " + why + " (the log ends there: " + std::to_string(dropped) +
                  " record(s) dropped, " + std::to_string(records) + " kept)")) {
        if (!prov_truncate(dev, geo.prov_start, off, next))
          problem("provenance log could not be truncated");
      }
    };
    while (off < end) {
      auto bh = dev.bread(geo.prov_start + prov::ring_block(off, geo.prov_blocks));
      if (!bh.ok()) {
        problem("cannot read the provenance log");
        return;
      }
      const uint8_t* p = bh->data().data() + off % prov::kLogBlockSize;
      size_t avail = prov::kLogBlockSize - off % prov::kLogBlockSize;
      prov::Record r;
      uint32_t len = 0;
      prov::DecodeError e = prov::decode_record(p, avail, &r, &len);
      if (e != prov::DecodeError::kOk || len == 0) {
        cut(std::string(prov::decode_error_name(e)) + " at offset " + std::to_string(off));
        return;
      }
      if (r.type != prov::RecordType::kPad) {
        if (expect_seq != 0 && r.seq != expect_seq) {
          cut("sequence jumps from " + std::to_string(expect_seq - 1) + " to " +
              std::to_string(r.seq) + " at offset " + std::to_string(off));
          return;
        }
        expect_seq = r.seq + 1;
        records++;
      }
      off += len;
    }
    if (off != end) {
      cut("the last record runs past the tail");
      return;
    }
    if (expect_seq != 0 && expect_seq != h.next_seq.get()) {
      cut("next sequence number does not follow the last record");
      return;
    }
    if (records == 0 && h.refused.get() == 0) return;
    rep.notes.push_back("provenance log: " + std::to_string(records) +
                        " unacknowledged record(s), " + std::to_string(end - h.head.get()) +
                        " of " + std::to_string(h.capacity.get()) + " bytes used" +
                        (h.refused.get() ? ", " + std::to_string(h.refused.get()) +
                                               " record(s) not written while the log was full"
                                         : std::string()));
  }

  // True when replay would apply at least one committed transaction. A transaction whose
  // commit block never made it (a crash in the middle of a commit) is not pending: replay
  // stops before it, so after fsck -y or a mount it is still there, never to be applied.
  bool journal_has_pending() {
    auto n = Journal::committed_in_log(dev, sb.journal_start.get(), sb.journal_blocks.get());
    return n.ok() && *n > 0;
  }

  // ---- pass 5: bitmaps and counts ----

  void pass5_bitmaps() {
    uint64_t mismatches = 0;
    for (uint64_t b = 0; b < geo.block_count; b++) {
      bool want = b < geo.data_start || claimed_by[b] != 0;
      if (bit(block_bitmap, b) != want) {
        if (repair) {
          set_bit(block_bitmap, b, want);
          block_bitmap_dirty = true;
        } else if (mismatches < 20) {
          if (want)
            problem("block " + std::to_string(b) + " is in use" +
                    (claimed_by[b] ? " by inode " + std::to_string(claimed_by[b]) : " (metadata)") +
                    " but marked free in the block bitmap");
          else
            problem("block " + std::to_string(b) +
                    " is marked used in the block bitmap but nothing uses it");
        }
        ++mismatches;
      }
      if (want) rep.blocks_used++;
    }
    if (mismatches > 20 && !repair)
      problem(std::to_string(mismatches - 20) + " more block bitmap differences");
    if (repair && mismatches != 0)
      rep.fixed.push_back(std::to_string(mismatches) + " block bitmap bit(s) corrected");
    check_bitmap_tails();
    check_free_counts();
  }

  // Bits past the end of each bitmap (and inode slot 0) are set by mkfs: the mount treats
  // a clear one as damage.
  void check_bitmap_tails() {
    uint64_t clear = 0;
    for (uint64_t b = geo.block_count; b < block_bitmap.size() * 8; b++) {
      if (bit(block_bitmap, b)) continue;
      clear++;
      if (repair) set_bit(block_bitmap, b, true);
    }
    if (clear != 0 &&
        fixable(std::to_string(clear) + " bit(s) past the end of the block bitmap are clear"))
      block_bitmap_dirty = true;
    clear = 0;
    for (uint64_t i = 0; i < inode_bitmap.size() * 8; i++) {
      if (i != 0 && i < geo.inode_count) continue;
      if (bit(inode_bitmap, i)) continue;
      clear++;
      if (repair) set_bit(inode_bitmap, i, true);
    }
    if (clear != 0 &&
        fixable(std::to_string(clear) + " reserved bit(s) of the inode bitmap are clear"))
      inode_bitmap_dirty = true;
  }

  // After a clean unmount the superblock's free counts are exact (the mount checks them).
  void check_free_counts() {
    if (sb.state.get() != kStateClean) return;
    uint64_t used_blocks = 0, used_inodes = 0;
    for (uint64_t b = 0; b < geo.block_count; b++) used_blocks += bit(block_bitmap, b);
    for (uint64_t i = 0; i < geo.inode_count; i++) used_inodes += bit(inode_bitmap, i);
    if (sb.free_blocks.get() != geo.block_count - used_blocks ||
        sb.free_inodes.get() != geo.inode_count - used_inodes)
      free_counts_wrong = fixable("the superblock's free block/inode counts are wrong");
  }

  // ---- the round ----

  // Pass 0: superblock and journal. Returns an exit code to stop with, or -1 to go on.
  int pass0(const FsckOptions& opts, int* code) {
    {
      auto bh = dev.bread(0);
      if (!bh.ok()) {
        problem("cannot read the superblock");
        return 8;
      }
      memcpy(&sb, bh->data().data(), sizeof(sb));
    }
    const char* why = nullptr;
    int e = validate_superblock(sb, dev.block_count(), !opts.replay_journal, &why);
    if (e != 0) {
      // Ours if the magic number is (nearly: a damaged byte or two) right.
      int off = 0;
      for (int i = 0; i < 8; i++)
        off += ((sb.magic.get() >> (8 * i)) & 0xFF) != ((kSuperMagic >> (8 * i)) & 0xFF);
      bool rebuildable = off <= 2 && e != EINVAL;
      if (off <= 2 && e == EINVAL && sb.magic.get() != kSuperMagic) rebuildable = true;
      if (!rebuildable) {
        problem(std::string("superblock: ") + why);
        return sb.magic.get() == kSuperMagic ? 4 : 8;
      }
      if (!fixable(std::string("superblock: ") + why)) return 4;
      std::string what;
      if (!superblock_rebuild(dev, &sb, &what)) {
        problem("superblock cannot be rebuilt: too much of it is damaged");
        return 4;
      }
      auto bh = dev.bread(0);
      if (!bh.ok()) return 8;
      memcpy(bh->data_mut().data(), &sb, sizeof sb);
      bh->mark_dirty();
      if (!dev.sync_all().ok()) return 8;
      rep.fixed.push_back("superblock " + what);
    }
    if (sb.state.get() != kStateClean && !opts.quiet_state)
      rep.notes.push_back(
          "the file system was not unmounted cleanly (or is mounted now); its journal is "
          "replayed before the check" +
          std::string(opts.replay_journal ? "" : " unless -n is given"));
    const uint64_t js = sb.journal_start.get(), jn = sb.journal_blocks.get();
    if (const char* jwhy = journal_super_damage(dev, js, jn)) {
      if (!fixable(std::string(jwhy) + " (a mount refuses the image)")) return 4;
      std::string what;
      if (!journal_super_rebuild(dev, js, jn, &what)) return 8;
      rep.fixed.push_back("journal superblock " + what);
    }
    if (opts.replay_journal) {
      uint64_t replayed = 0;
      auto r = Journal::replay(dev, js, jn, &replayed);
      if (!r.ok()) {
        problem("journal replay failed");
        return 4;
      }
      if (replayed > 0) {
        rep.notes.push_back("replayed " + std::to_string(replayed) + " journal transaction(s)");
        *code = 1;
      }
      auto bh = dev.bread(0);
      if (!bh.ok()) return 8;
      memcpy(&sb, bh->data().data(), sizeof(sb));
      if (validate_superblock(sb, dev.block_count(), false, &why) != 0) {
        problem(std::string("superblock after journal replay: ") + why);
        return 4;
      }
    } else if (journal_has_pending()) {
      // -n checks the home locations only; say so when a mount (or fsck without -n) would
      // first replay committed transactions, instead of a bare "clean" after a crash.
      rep.notes.push_back(
          "journal holds transaction(s) not replayed (-n): this check saw the image without "
          "them; a mount or fsck without -n replays them first");
    }
    return -1;
  }

  int run(const FsckOptions& opts) {
    int code = 0;
    if (int stop = pass0(opts, &code); stop >= 0) return stop;
    geo = Geometry::from(sb);
    if (!read_region(geo.block_bitmap_start, geo.block_bitmap_blocks, &block_bitmap) ||
        !read_region(geo.inode_bitmap_start, geo.inode_bitmap_blocks, &inode_bitmap)) {
      problem("cannot read the bitmaps");
      return 8;
    }
    check_prov_log();
    claimed_by.assign(geo.block_count, 0);
    inodes.resize(geo.inode_count);
    inode_dirty.assign(geo.inode_count, false);
    refs.assign(geo.inode_count, 0);
    subdirs.assign(geo.inode_count, 0);
    parent_of.assign(geo.inode_count, 0);
    on_orphan_list.assign(geo.inode_count, false);
    dir_ok.assign(geo.inode_count, false);
    for (uint64_t b = 0; b < geo.inode_table_blocks; b++) {
      auto bh = dev.bread(geo.inode_table_start + b);
      if (!bh.ok()) return 8;
      for (uint32_t k = 0; k < kInodesPerBlock; k++) {
        uint64_t ino = b * kInodesPerBlock + k;
        if (ino < geo.inode_count)
          memcpy(&inodes[ino], bh->data().data() + k * kInodeSize, kInodeSize);
      }
    }
    for (uint64_t ino = sb.orphan_head.get(), n = 0; ino != 0; n++) {
      if (ino >= geo.inode_count || n > geo.inode_count) {
        problem("orphan list is broken (bad inode number or loop)");
        break;
      }
      on_orphan_list[ino] = true;
      ino = inodes[ino].orphan_next.get();
    }
    // Pass 1.
    if (!md::is_dir(inodes[1].mode.get()) || !bit(inode_bitmap, 1)) {
      problem("root inode 1 is not a directory");
      return 4;
    }
    for (uint64_t ino = 1; ino < geo.inode_count; ino++) {
      const uint32_t mode = inodes[ino].mode.get();
      if (!bit(inode_bitmap, ino)) {
        if (mode == 0) continue;
        if (!fixable(ino_str(ino) + " is in use but marked free in the inode bitmap")) continue;
        set_bit(inode_bitmap, ino, true);
        inode_bitmap_dirty = true;
      } else if (mode == 0) {
        if (fixable(ino_str(ino) + " is marked used in the inode bitmap but is empty")) {
          set_bit(inode_bitmap, ino, false);
          inode_bitmap_dirty = true;
        }
        continue;
      }
      pass1_inode(ino);
    }
    // Pass 2.
    for (uint64_t ino = 1; ino < geo.inode_count; ino++) {
      const DiskInode& di = inodes[ino];
      if (!bit(inode_bitmap, ino) || !md::is_dir(di.mode.get()) || di.nlink.get() == 0) continue;
      pass2_directory(ino);
    }
    if (!dir_ok[1] && !repair) {
      problem("the root directory is damaged");
      return 4;
    }
    // Passes 3 and 4.
    pass3_4();
    // Pass 5.
    pass5_bitmaps();
    if (repair && !rep.fixed.empty()) {
      if (!apply_fixes() || !apply_structural()) {
        problem("writing the repairs failed");
        return 8;
      }
    }
    if (!rep.problems.empty()) return 4;
    if (!rep.fixed.empty()) return 1;
    return code;
  }

  bool write_inode_raw(uint64_t ino) {
    auto bh = dev.bread(geo.inode_block(ino));
    if (!bh.ok()) return false;
    seal(ino);
    memcpy(bh->data_mut().data() + geo.inode_offset(ino), &inodes[ino], sizeof(DiskInode));
    bh->mark_dirty();
    return true;
  }

  // Direct repairs (no journal: fsck owns the image): bitmaps, inodes, pointer entries,
  // free counts.
  bool apply_fixes() {
    for (const PtrLoc& l : zero_ptrs) {
      auto bh = dev.bread(l.block);
      if (!bh.ok()) return false;
      store_le32(bh->data_mut().data() + 4 * l.idx, 0);
      bh->mark_dirty();
    }
    // A duplicated pointer block or xattr block goes to its first owner: the second
    // owner's pointer is cleared (its blocks count is fixed by the next round).
    for (const Dup& d : dups) {
      if (d.data) continue;
      clear_ptr(d.ino, d.loc);
      if (d.loc.block != 0) {
        auto bh = dev.bread(d.loc.block);
        if (!bh.ok()) return false;
        store_le32(bh->data_mut().data() + 4 * d.loc.idx, 0);
        bh->mark_dirty();
      }
    }
    for (uint64_t ino = 0; ino < geo.inode_count; ino++)
      if (inode_dirty[ino] && !write_inode_raw(ino)) return false;
    if (inode_bitmap_dirty && !write_region(geo.inode_bitmap_start, inode_bitmap)) return false;
    if (block_bitmap_dirty && !write_region(geo.block_bitmap_start, block_bitmap)) return false;
    uint64_t used_blocks = 0, used_inodes = 0;
    for (uint64_t b = 0; b < geo.block_count; b++) used_blocks += bit(block_bitmap, b);
    for (uint64_t i = 0; i < geo.inode_count; i++) used_inodes += bit(inode_bitmap, i);
    auto bh = dev.bread(0);
    if (!bh.ok()) return false;
    memcpy(&sb, bh->data().data(), sizeof(sb));
    sb.free_blocks.set(geo.block_count - used_blocks);
    sb.free_inodes.set(geo.inode_count - used_inodes);
    seal_superblock(sb);
    memcpy(bh->data_mut().data(), &sb, sizeof(sb));
    bh->mark_dirty();
    return dev.sync_all().ok();
  }

  // Repairs that need the file system's own code (directories, allocation), done through
  // a journal of their own on the repaired bitmaps; the next round checks the result.
  bool apply_structural() {
    if (dir_rebuilds.empty() && entry_fixes.empty() && to_lost_found.empty() &&
        parent_fixes.empty() &&
        std::none_of(dups.begin(), dups.end(), [](const Dup& d) { return d.data; }))
      return true;
    auto jb = dev.bread(geo.journal_start);
    if (!jb.ok()) return false;
    JournalSuper js;
    memcpy(&js, jb->data().data(), sizeof js);
    jb->release();
    Journal j(dev, geo.journal_start, geo.journal_blocks, js.sequence.get());
    BitmapAllocator balloc, ialloc;
    if (!balloc.load(dev, geo.block_bitmap_start, geo.block_count, 0, geo.data_start).ok() ||
        !ialloc.load(dev, geo.inode_bitmap_start, geo.inode_count, 0, 2).ok())
      return false;
    FsCtx c = ctx(&balloc);
    bool ok = true;
    // One repair per handle, checkpointed at once (fsck has no commit thread).
    auto step = [&](const std::function<Status(Handle&)>& fn) {
      Status s = Status::Ok();
      {
        auto h = j.begin(256);
        if (!h.ok()) return false;
        s = fn(*h);
        h->end();
      }
      if (!j.checkpoint_now().ok()) return false;
      return s.ok();
    };
    auto put_inode = [&](Handle& h, uint64_t ino) -> Status {
      BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(geo.inode_block(ino)));
      seal(ino);
      memcpy(bh.data_mut().data() + geo.inode_offset(ino), &inodes[ino], sizeof(DiskInode));
      return Status::Ok();
    };
    for (const Dup& d : dups) {
      if (!d.data) continue;
      ok &= step([&](Handle& h) -> Status {
        DiskInode& di = inodes[d.ino];
        BENTO_ASSIGN_OR_RETURN(uint64_t old, bmap_lookup(c, di, d.lblk));
        if (old == 0) return Status::Ok();
        BENTO_ASSIGN_OR_RETURN(uint64_t nb, balloc.alloc(h, 0));
        {
          BENTO_ASSIGN_OR_RETURN(BufferHead src, dev.bread(old));
          BENTO_ASSIGN_OR_RETURN(BufferHead dst, h.get_new(nb));
          memcpy(dst.data_mut().data(), src.data().data(), 4096);
        }
        BENTO_TRY(bmap_set(c, h, di, d.lblk, nb));
        di.blocks.set(di.blocks.get() + 1);
        return put_inode(h, d.ino);
      });
    }
    // A damaged directory gets new blocks (its old ones are left to the next round's
    // bitmap pass) holding the entries that validated, 32 a handle.
    for (const DirRebuild& rb : dir_rebuilds) {
      const uint64_t d = rb.dir;
      ok &= step([&](Handle& h) -> Status {
        DiskInode& di = inodes[d];
        for (auto& p : di.direct) p.set(0);
        di.indirect.set(0);
        di.dindirect.set(0);
        di.tindirect.set(0);
        di.qindirect.set(0);
        di.size.set(0);
        di.blocks.set(di.xattr_block.get() != 0 ? di.blocks.get() : 0);
        BENTO_TRY(dir_init(c, h, di, DirIno{d}, parent_of[d] != 0 ? parent_of[d] : 1));
        return put_inode(h, d);
      });
      for (size_t i = 0; i < rb.entries.size(); i += 32) {
        ok &= step([&](Handle& h) -> Status {
          for (size_t k = i; k < rb.entries.size() && k < i + 32; k++) {
            const auto& [name, e] = rb.entries[k];
            BENTO_TRY(dir_add(c, h, inodes[d], DirIno{d}, name, e.ino, e.type));
          }
          return put_inode(h, d);
        });
      }
    }
    for (const EntryFix& f : entry_fixes) {
      ok &= step([&](Handle& h) -> Status {
        if (f.ino == 0) return dir_remove(c, h, inodes[f.dir], DirIno{f.dir}, f.name);
        return dir_replace(c, h, inodes[f.dir], DirIno{f.dir}, f.name, f.ino, f.type);
      });
    }
    for (const auto& fix : parent_fixes)
      ok &= step([&](Handle& h) {
        return dir_set_parent(c, h, inodes[fix.first], DirIno{fix.first}, fix.second);
      });
    if (!to_lost_found.empty()) {
      uint64_t lf = 0;
      ok &= step([&](Handle& h) -> Status {
        BENTO_ASSIGN_OR_RETURN(lf, lost_and_found(c, h, ialloc));
        return Status::Ok();
      });
      for (uint64_t ino : to_lost_found) {
        if (lf == 0) break;
        ok &= step([&](Handle& h) -> Status {
          const std::string name = "#" + std::to_string(ino);
          BENTO_ASSIGN_OR_RETURN(bool exists, dir_find(c, inodes[lf], DirIno{lf}, name, nullptr));
          if (!exists)
            BENTO_TRY(dir_add(c, h, inodes[lf], DirIno{lf}, name, ino,
                              md::dirent_type(inodes[ino].mode.get())));
          BENTO_TRY(put_inode(h, lf));
          if (md::is_dir(inodes[ino].mode.get()) && dir_ok[ino])
            BENTO_TRY(dir_set_parent(c, h, inodes[ino], DirIno{ino}, lf));
          if (inodes[ino].nlink.get() == 0) {
            inodes[ino].nlink.set(1);  // the next round sets the exact count
            BENTO_TRY(put_inode(h, ino));
          }
          return Status::Ok();
        });
      }
    }
    if (!j.checkpoint_now().ok()) return false;
    if (!dev.sync_all().ok()) return false;
    return ok || true;  // a repair that failed shows up as a problem in the next round
  }

  // /lost+found, made when missing (a directory in the root).
  Result<uint64_t> lost_and_found(const FsCtx& c, Handle& h, BitmapAllocator& ialloc) {
    DirEntryInfo info;
    BENTO_ASSIGN_OR_RETURN(bool found, dir_find(c, inodes[1], DirIno{1}, "lost+found", &info));
    if (found) {
      if (info.ino < geo.inode_count && md::is_dir(inodes[info.ino].mode.get()) && dir_ok[info.ino])
        return info.ino;
      return Err(EEXIST);
    }
    BENTO_ASSIGN_OR_RETURN(uint64_t ino, ialloc.alloc(h, 0));
    DiskInode& di = inodes[ino];
    memset(&di, 0, sizeof di);
    di.mode.set(md::kDirectory | 0700);
    di.nlink.set(2);
    di.generation.set(sb.next_generation.get());
    dir_ok[ino] = true;
    BENTO_TRY(dir_init(c, h, di, DirIno{ino}, 1));
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(geo.inode_block(ino)));
    seal(ino);
    memcpy(bh.data_mut().data() + geo.inode_offset(ino), &di, sizeof(DiskInode));
    BENTO_TRY(
        dir_add(c, h, inodes[1], DirIno{1}, "lost+found", ino, md::dirent_type(md::kDirectory)));
    BENTO_ASSIGN_OR_RETURN(BufferHead rb, h.get_write(geo.inode_block(1)));
    seal(1);
    memcpy(rb.data_mut().data() + geo.inode_offset(1), &inodes[1], sizeof(DiskInode));
    return ino;
  }
};

}  // namespace

FsckReport run_fsck(bento::BlockDevice& dev, const FsckOptions& opts) {
  FsckReport rep;
  // Repair: rounds until one finds nothing more to fix (each round re-checks what the
  // last one wrote); the problems of the last round are what is left.
  std::vector<std::string> fixed;
  for (int round = 0; round < (opts.repair ? 6 : 1); round++) {
    FsckReport r;
    Checker ck{dev, r};
    ck.repair = opts.repair;
    FsckOptions o = opts;
    o.quiet_state = round > 0;
    if (round > 0) o.replay_journal = true;
    r.exit_code = ck.run(o);
    if (round == 0) rep.notes = r.notes;
    fixed.insert(fixed.end(), r.fixed.begin(), r.fixed.end());
    rep.problems = r.problems;
    rep.inodes_used = r.inodes_used;
    rep.blocks_used = r.blocks_used;
    rep.exit_code = r.exit_code;
    if (r.exit_code == 8 || r.fixed.empty()) break;
  }
  rep.fixed = std::move(fixed);
  if (rep.exit_code != 8 && rep.exit_code != 4 && !rep.fixed.empty()) rep.exit_code = 1;
  if (rep.exit_code == 0 && !rep.notes.empty()) {
    for (auto& n : rep.notes)
      if (n.find("replayed ") == 0) rep.exit_code = 1;
  }
  if (opts.repair && !rep.fixed.empty()) {
    // The log is empty after the repairs: clear its first block so that a later rebuild
    // of a damaged journal superblock can never mistake it for a pending transaction.
    SuperBlock sb;
    if (auto bh = dev.bread(0); bh.ok()) {
      memcpy(&sb, bh->data().data(), sizeof sb);
      if (auto jb = dev.getblk(sb.journal_start.get() + 1); jb.ok()) {
        memset(jb->data_mut().data(), 0, 4096);
        jb->mark_dirty();
      }
    }
  }
  (void)dev.sync_all();
  return rep;
}

}  // namespace bentofs
