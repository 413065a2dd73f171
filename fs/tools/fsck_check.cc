// fsck.bento's checks: see fsck_check.h.
#include "tools/fsck_check.h"

#include <bento/fs_types.h>

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

namespace bentofs {

namespace {

namespace md = bento::mode;

struct Checker {
  bento::BlockDevice& dev;
  FsckReport& rep;
  SuperBlock sb{};
  Geometry geo;
  std::vector<uint8_t> block_bitmap, inode_bitmap;
  std::vector<uint32_t> claimed_by;       // block -> inode claiming it (0 free)
  std::map<uint64_t, int> acl_presence_;  // inode -> 1: access ACL, 2: default ACL stored
  std::vector<uint64_t> flag_fixes;       // inodes whose flags -y rewrites
  std::vector<DiskInode> inodes;
  std::vector<uint32_t> refs;       // directory entries naming each inode
  std::vector<uint32_t> subdirs;    // subdirectories of each directory
  std::vector<uint64_t> parent_of;  // directory containing each directory
  std::vector<bool> on_orphan_list;

  bool repair = false;
  bool inode_bitmap_dirty = false, block_bitmap_dirty = false, free_counts_wrong = false;
  std::vector<uint64_t> nlink_fixes;

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
  void set_bit(std::vector<uint8_t>& bm, uint64_t i, bool v) {
    if (v)
      bm[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
    else
      bm[i / 8] &= static_cast<uint8_t>(~(1u << (i % 8)));
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

  bool bit(const std::vector<uint8_t>& bm, uint64_t i) { return (bm[i / 8] >> (i % 8)) & 1; }

  bool read_region(uint64_t start, uint64_t blocks, std::vector<uint8_t>* out) {
    out->assign(blocks * 4096, 0);
    for (uint64_t i = 0; i < blocks; i++) {
      auto bh = dev.bread(start + i);
      if (!bh.ok()) return false;
      memcpy(out->data() + i * 4096, bh->data().data(), 4096);
    }
    return true;
  }

  void claim(uint64_t ino, uint64_t b, const char* what) {
    if (b < geo.data_start || b >= geo.block_count) {
      problem("inode " + std::to_string(ino) + ": " + what + " pointer " + std::to_string(b) +
              " is outside the data area");
      return;
    }
    if (claimed_by[b] != 0) {
      problem("block " + std::to_string(b) + " is used by both inode " +
              std::to_string(claimed_by[b]) + " and inode " + std::to_string(ino));
      return;
    }
    claimed_by[b] = static_cast<uint32_t>(ino);
  }

  // Walks the block map, claiming every block; returns the number of blocks found.
  uint64_t walk_blocks(uint64_t ino, const DiskInode& di, uint64_t* max_lblk) {
    uint64_t count = 0;
    *max_lblk = 0;
    auto data = [&](uint64_t lblk, uint64_t b) {
      if (b == 0) return;
      claim(ino, b, "data block");
      count++;
      if (lblk + 1 > *max_lblk) *max_lblk = lblk + 1;
    };
    auto ptrs = [&](uint64_t b, std::vector<uint32_t>* out) {
      out->assign(1024, 0);
      if (b < geo.data_start || b >= geo.block_count) return;
      auto bh = dev.bread(b);
      if (!bh.ok()) return;
      for (int i = 0; i < 1024; i++) (*out)[i] = load_le32(bh->data().data() + 4 * i);
    };
    for (uint32_t i = 0; i < kNumDirect; i++) data(i, di.direct[i].get());
    // Trees of height 1..4 under indirect, dindirect and (BIGFILE) tindirect, qindirect.
    static const char* const kWhat[] = {"", "indirect block", "double-indirect block",
                                        "triple-indirect block", "quadruple-indirect block"};
    std::function<void(uint64_t, uint32_t, uint64_t)> tree = [&](uint64_t b, uint32_t depth,
                                                                 uint64_t base) {
      claim(ino, b, kWhat[depth]);
      count++;
      std::vector<uint32_t> p;
      ptrs(b, &p);
      const uint64_t span = uint64_t{1} << (kPtrShift * (depth - 1));
      for (uint64_t i = 0; i < kPtrsPerBlock; i++) {
        if (p[i] == 0) continue;
        if (depth == 1)
          data(base + i, p[i]);
        else
          tree(p[i], depth - 1, base + i * span);
      }
    };
    const uint32_t roots[] = {di.indirect.get(), di.dindirect.get(), di.tindirect.get(),
                              di.qindirect.get()};
    uint64_t base = kNumDirect;
    for (uint32_t d = 1; d <= 4; d++) {
      if (roots[d - 1] != 0) {
        if (d >= 3 && !geo.big_files)
          problem("inode " + std::to_string(ino) + " has a " + kWhat[d] +
                  " but the image lacks feature BIGFILE");
        tree(roots[d - 1], d, base);
      }
      base += uint64_t{1} << (kPtrShift * d);
    }
    if (uint64_t xb = di.xattr_block.get()) count += check_xattrs(ino, di, xb);
    return count;
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
      flag_fixes.push_back(ino);
    }
  }

  // Extended attributes (format/xattr.h v1 block or v2 map + stream) and the ACLs among
  // them (format/acl.h); returns the blocks they use.
  uint64_t check_xattrs(uint64_t ino, const DiskInode& di, uint64_t xb) {
    const std::string who = "inode " + std::to_string(ino);
    claim(ino, xb, "xattr block");
    uint64_t count = 1;
    auto bh = dev.bread(xb);
    if (!bh.ok()) return count;
    uint32_t magic = load_le32(bh->data().data());
    if (magic == kXattrMapMagic) {
      if (!geo.xattr_map) problem(who + ": xattr map block but the image lacks feature XATTRMAP");
      XattrMapHeader hdr;
      memcpy(&hdr, bh->data().data(), sizeof hdr);
      uint32_t n = hdr.nblocks.get();
      if (n > kXattrMaxBlocks || hdr.used.get() > n * 4096 || (hdr.used.get() + 4095) / 4096 != n) {
        problem(who + ": xattr map header is damaged");
        return count;
      }
      for (uint32_t i = 0; i < n; i++) {
        uint32_t b = load_le32(bh->data().data() + sizeof(XattrMapHeader) + 4 * i);
        claim(ino, b, "xattr stream block");
        count++;
      }
    } else if (magic != kXattrMagic) {
      problem(who + ": xattr block is damaged (bad magic)");
      return count;
    }
    FsCtx c{&dev, nullptr, geo.data_start, geo.block_count, geo.max_file_blocks()};
    XattrSet set;
    if (!xattr_load(c, di, &set).ok()) {
      problem(who + ": extended attributes are damaged (entries do not decode)");
      return count;
    }
    bool has_access = false, has_default = false;
    set.for_each([&](const XattrSet::Entry& e) {
      bool is_access = e.name == acl::kAccessName, is_default = e.name == acl::kDefaultName;
      if (!is_access && !is_default) return true;
      has_access |= is_access;
      has_default |= is_default;
      Acl a;
      if (!acl_parse(e.value, &a).ok())
        problem(who + ": " + std::string(e.name) + " is not a valid POSIX ACL");
      if (is_default && !md::is_dir(di.mode.get()))
        problem(who + ": a default ACL on something that is not a directory");
      return true;
    });
    acl_presence_[ino] = (has_access ? 1 : 0) | (has_default ? 2 : 0);
    return count;
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
    if (const char* why = prov::check_header(h, geo.prov_blocks)) {
      problem(std::string("provenance log: ") + why);
      return;
    }
    uint64_t off = h.head.get(), end = h.tail.get(), records = 0, expect_seq = 0;
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
      if (e != prov::DecodeError::kOk) {
        problem("provenance log: " + std::string(prov::decode_error_name(e)) + " at offset " +
                std::to_string(off) + " (" + std::to_string(records) + " records before it)");
        return;
      }
      if (r.type != prov::RecordType::kPad) {
        if (expect_seq != 0 && r.seq != expect_seq) {
          problem("provenance log: sequence jumps from " + std::to_string(expect_seq - 1) + " to " +
                  std::to_string(r.seq) + " at offset " + std::to_string(off));
          return;
        }
        expect_seq = r.seq + 1;
        records++;
      }
      off += len;
    }
    if (off != end) problem("provenance log: the last record runs past the tail");
    if (expect_seq != 0 && expect_seq != h.next_seq.get())
      problem("provenance log: next sequence number does not follow the last record");
    if (records == 0 && h.refused.get() == 0) return;
    rep.notes.push_back("provenance log: " + std::to_string(records) +
                        " unacknowledged record(s), " + std::to_string(end - h.head.get()) +
                        " of " + std::to_string(h.capacity.get()) + " bytes used" +
                        (h.refused.get() ? ", " + std::to_string(h.refused.get()) +
                                               " operation(s) refused while full"
                                         : std::string()));
  }

  // True when the journal's log starts with a descriptor of the expected sequence, i.e.
  // replay would find at least one transaction (whether its commit block is intact is
  // left to replay). After a clean unmount the log is reset and this is false.
  bool journal_has_pending() {
    auto jb = dev.bread(sb.journal_start.get());
    if (!jb.ok()) return false;
    JournalSuper js;
    memcpy(&js, jb->data().data(), sizeof(js));
    if (js.magic.get() != kJournalMagic || js.start.get() == 0 ||
        js.start.get() >= sb.journal_blocks.get())
      return false;
    auto hb = dev.bread(sb.journal_start.get() + js.start.get());
    if (!hb.ok()) return false;
    JournalHeader h;
    memcpy(&h, hb->data().data(), sizeof(h));
    return h.magic.get() == kJournalMagic && h.type.get() == kJBlockDescriptor &&
           h.sequence.get() == js.sequence.get();
  }

  int run(const FsckOptions& opts) {
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
      problem(std::string("superblock: ") + why);
      return sb.magic.get() == kSuperMagic ? 4 : 8;
    }
    int code = 0;
    if (sb.state.get() != kStateClean)
      rep.notes.push_back(
          "the file system was not unmounted cleanly (or is mounted now); its journal is "
          "replayed before the check" +
          std::string(opts.replay_journal ? "" : " unless -n is given"));
    if (opts.replay_journal) {
      uint64_t replayed = 0;
      auto r = Journal::replay(dev, sb.journal_start.get(), sb.journal_blocks.get(), &replayed);
      if (!r.ok()) {
        problem("journal superblock is damaged");
        return 4;
      }
      if (replayed > 0) {
        rep.notes.push_back("replayed " + std::to_string(replayed) + " journal transaction(s)");
        code = 1;
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
    geo = Geometry::from(sb);
    if (!read_region(geo.block_bitmap_start, geo.block_bitmap_blocks, &block_bitmap) ||
        !read_region(geo.inode_bitmap_start, geo.inode_bitmap_blocks, &inode_bitmap)) {
      problem("cannot read the bitmaps");
      return 8;
    }
    check_prov_log();
    claimed_by.assign(geo.block_count, 0);
    inodes.resize(geo.inode_count);
    refs.assign(geo.inode_count, 0);
    subdirs.assign(geo.inode_count, 0);
    parent_of.assign(geo.inode_count, 0);
    on_orphan_list.assign(geo.inode_count, false);
    // Inode table.
    for (uint64_t b = 0; b < geo.inode_table_blocks; b++) {
      auto bh = dev.bread(geo.inode_table_start + b);
      if (!bh.ok()) return 8;
      for (uint32_t k = 0; k < kInodesPerBlock; k++) {
        uint64_t ino = b * kInodesPerBlock + k;
        if (ino < geo.inode_count)
          memcpy(&inodes[ino], bh->data().data() + k * kInodeSize, kInodeSize);
      }
    }
    // Orphan list.
    for (uint64_t ino = sb.orphan_head.get(), n = 0; ino != 0; n++) {
      if (ino >= geo.inode_count || n > geo.inode_count) {
        problem("orphan list is broken (bad inode number or loop)");
        break;
      }
      on_orphan_list[ino] = true;
      ino = inodes[ino].orphan_next.get();
    }
    // Per-inode checks.
    if (!md::is_dir(inodes[1].mode.get())) problem("root inode 1 is not a directory");
    for (uint64_t ino = 1; ino < geo.inode_count; ino++) {
      const DiskInode& di = inodes[ino];
      bool used = bit(inode_bitmap, ino);
      uint32_t mode = di.mode.get();
      if (!used) {
        if (mode == 0) continue;
        if (!fixable("inode " + std::to_string(ino) +
                     " is in use but marked free in the inode bitmap"))
          continue;
        set_bit(inode_bitmap, ino, true);
        inode_bitmap_dirty = true;
      } else if (mode == 0) {
        if (fixable("inode " + std::to_string(ino) +
                    " is marked used in the inode bitmap but is empty")) {
          set_bit(inode_bitmap, ino, false);
          inode_bitmap_dirty = true;
        }
        continue;
      }
      rep.inodes_used++;
      uint32_t type = mode & md::kTypeMask;
      if (type != md::kRegular && type != md::kDirectory && type != md::kSymlink &&
          type != md::kFifo && type != md::kSocket && type != md::kCharDev && type != md::kBlockDev)
        problem("inode " + std::to_string(ino) + " has an unknown file type");
      uint64_t max_lblk;
      uint64_t n = walk_blocks(ino, di, &max_lblk);
      if (n != di.blocks.get())
        problem("inode " + std::to_string(ino) + " says it has " + std::to_string(di.blocks.get()) +
                " blocks but " + std::to_string(n) + " are mapped");
      check_flags(ino);
      // Regular files may own (zeroed) blocks past their size: fallocate KEEP_SIZE.
      if (type != md::kRegular && max_lblk * 4096 > di.size.get() + 4095 && di.nlink.get() != 0)
        problem("inode " + std::to_string(ino) + " has blocks past its size");
      if (type == md::kSymlink &&
          (di.size.get() == 0 || di.size.get() >= 4096 || di.direct[0].get() == 0))
        problem("symlink inode " + std::to_string(ino) + " has a bad target");
      if (di.nlink.get() == 0 && !on_orphan_list[ino])
        problem("inode " + std::to_string(ino) + " has no links and is not on the orphan list");
    }
    // Directories.
    FsCtx c{&dev, nullptr, geo.data_start, geo.block_count, geo.max_file_blocks()};
    for (uint64_t ino = 1; ino < geo.inode_count; ino++) {
      const DiskInode& di = inodes[ino];
      if (!bit(inode_bitmap, ino) || !md::is_dir(di.mode.get()) || di.nlink.get() == 0) continue;
      const char* dwhy = nullptr;
      if (!dir_check(c, di, &dwhy).ok()) {
        problem("directory " + std::to_string(ino) + ": " + dwhy);
        continue;
      }
      auto pr = dir_parent(c, di);
      uint64_t recorded_parent = pr.ok() ? *pr : 0;
      auto visit = [&](std::string_view name, uint64_t cino, uint8_t type, uint64_t) {
        std::string where =
            "directory " + std::to_string(ino) + " entry '" + std::string(name) + "'";
        if (name.empty() || name == "." || name == ".." ||
            name.find('/') != std::string_view::npos) {
          problem(where + " has an invalid name");
          return true;
        }
        if (cino == 0 || cino >= geo.inode_count || !bit(inode_bitmap, cino) ||
            inodes[cino].mode.get() == 0) {
          problem(where + " points to free or invalid inode " + std::to_string(cino));
          return true;
        }
        refs[cino]++;
        uint32_t cm = inodes[cino].mode.get();
        if (md::dirent_type(cm) != type) problem(where + " has the wrong file type");
        if (md::is_dir(cm)) {
          subdirs[ino]++;
          if (parent_of[cino] != 0)
            problem("directory " + std::to_string(cino) + " has more than one name");
          parent_of[cino] = ino;
        }
        return true;
      };
      (void)dir_for_each(c, di, 0, visit);
      (void)recorded_parent;
    }
    // Link counts, parents and reachability.
    for (uint64_t ino = 1; ino < geo.inode_count; ino++) {
      const DiskInode& di = inodes[ino];
      if (!bit(inode_bitmap, ino) || di.mode.get() == 0) continue;
      uint32_t nlink = di.nlink.get();
      if (md::is_dir(di.mode.get())) {
        if (nlink == 0) continue;  // removed directory still open: orphan
        uint32_t want = 2 + subdirs[ino];
        if (nlink != want &&
            fixable("directory " + std::to_string(ino) + " has link count " +
                    std::to_string(nlink) + ", should be " + std::to_string(want))) {
          inodes[ino].nlink.set(want);
          nlink_fixes.push_back(ino);
        }
        if (ino != 1 && parent_of[ino] == 0)
          problem("directory " + std::to_string(ino) + " is not reachable from the root");
        auto pr = dir_parent(c, di);
        uint64_t want_parent = ino == 1 ? 1 : parent_of[ino];
        if (pr.ok() && want_parent != 0 && *pr != want_parent)
          problem("directory " + std::to_string(ino) + " records parent " + std::to_string(*pr) +
                  " but is in directory " + std::to_string(want_parent));
      } else {
        std::string msg = "inode " + std::to_string(ino) + " has link count " +
                          std::to_string(nlink) + " but " + std::to_string(refs[ino]) +
                          " directory entries";
        if (nlink != refs[ino]) {
          if (refs[ino] == 0) {
            problem(msg + " (unreachable: would need lost+found)");
          } else if (fixable(msg)) {
            inodes[ino].nlink.set(refs[ino]);
            nlink_fixes.push_back(ino);
          }
        }
      }
    }
    // Block bitmap against what the inodes claim.
    uint64_t mismatches = 0;
    for (uint64_t b = 0; b < geo.block_count; b++) {
      bool want = b < geo.data_start || claimed_by[b] != 0;
      if (bit(block_bitmap, b) != want && repair) {
        set_bit(block_bitmap, b, want);
        block_bitmap_dirty = true;
        ++mismatches;
      } else if (bit(block_bitmap, b) != want) {
        if (++mismatches <= 20) {
          if (want)
            problem("block " + std::to_string(b) + " is in use" +
                    (claimed_by[b] ? " by inode " + std::to_string(claimed_by[b]) : " (metadata)") +
                    " but marked free in the block bitmap");
          else
            problem("block " + std::to_string(b) +
                    " is marked used in the block bitmap but nothing uses it");
        }
      }
      if (want) rep.blocks_used++;
    }
    if (mismatches > 20 && !repair)
      problem(std::to_string(mismatches - 20) + " more block bitmap differences");
    check_bitmap_tails();
    check_free_counts();
    if (repair && block_bitmap_dirty)
      rep.fixed.push_back(std::to_string(mismatches) + " block bitmap bit(s) corrected");
    if (repair && !rep.fixed.empty() && !apply_fixes()) {
      problem("writing the repairs failed");
      return 8;
    }
    if (!rep.problems.empty()) return 4;
    if (!rep.fixed.empty()) return 1;
    return code;
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

  bool apply_fixes() {
    if (inode_bitmap_dirty && !write_region(geo.inode_bitmap_start, inode_bitmap)) return false;
    if (block_bitmap_dirty && !write_region(geo.block_bitmap_start, block_bitmap)) return false;
    for (uint64_t ino : flag_fixes) {
      auto bh = dev.bread(geo.inode_block(ino));
      if (!bh.ok()) return false;
      DiskInode di;
      uint8_t* p = bh->data_mut().data() + geo.inode_offset(ino);
      memcpy(&di, p, sizeof(di));
      di.flags.set(inodes[ino].flags.get());
      memcpy(p, &di, sizeof(di));
      bh->mark_dirty();
    }
    for (uint64_t ino : nlink_fixes) {
      auto bh = dev.bread(geo.inode_block(ino));
      if (!bh.ok()) return false;
      DiskInode di;
      uint8_t* p = bh->data_mut().data() + geo.inode_offset(ino);
      memcpy(&di, p, sizeof(di));
      di.nlink.set(inodes[ino].nlink.get());
      memcpy(p, &di, sizeof(di));
      bh->mark_dirty();
    }
    // Free counts follow the (now right) bitmaps.
    uint64_t used_blocks = 0, used_inodes = 0;
    for (uint64_t b = 0; b < geo.block_count; b++) used_blocks += bit(block_bitmap, b);
    for (uint64_t i = 0; i < geo.inode_count; i++) used_inodes += bit(inode_bitmap, i);
    auto bh = dev.bread(0);
    if (!bh.ok()) return false;
    sb.free_blocks.set(geo.block_count - used_blocks);
    sb.free_inodes.set(geo.inode_count - used_inodes);
    seal_superblock(sb);
    memcpy(bh->data_mut().data(), &sb, sizeof(sb));
    bh->mark_dirty();
    return dev.sync_all().ok();
  }
};

}  // namespace

FsckReport run_fsck(bento::BlockDevice& dev, const FsckOptions& opts) {
  FsckReport rep;
  Checker ck{dev, rep};
  ck.repair = opts.repair;
  rep.exit_code = ck.run(opts);
  (void)dev.sync_all();
  return rep;
}

}  // namespace bentofs
