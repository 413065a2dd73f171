// The provenance log (FORMAT.md §7.1; log header version 1, record format version 4): what
// Bento-prov records, on disk and on the wire. This header is the contract between the file system
// (which appends records inside each operation's own journal handle, so a record is durable no
// later than the operation) and every reader (collector, `prov log`), which decode it with
// decode_record().
//
// On disk: a ring of `prov_blocks` blocks starting at `prov_start` (superblock fields),
// placed between the inode table and the data area. Block 0 of the ring is the log header
// (ProvLogHeader); blocks 1.. hold records. The log is addressed by a 64-bit logical byte
// offset that only grows: logical offset L lives in ring data block 1 + (L / 4096) %
// (prov_blocks - 1) at byte L % 4096. A record never crosses a 4 KiB boundary: when the
// rest of a block is too small, the writer fills it with one Pad record.
//
// Retention: [head, tail) is retained. Readers acknowledge what they have stored (their
// cursor), which moves head forward and frees space. When appending a record would make
// tail - head exceed capacity, the operation still runs (a full log is a policy, not an
// outage) and its record is counted instead of written: the header's gap_* fields hold
// how many records were not written, how many of them for mutating operations, and the
// CLOCK_MONOTONIC bounds. Once there is room again the writer appends ONE kGap record with
// those counts before any other record, so the lineage has an explicit hole, never a
// silent one; nothing retained is ever overwritten.
//
// On the wire: the mount's root holds a hidden, root-only, read-only file
// kProvLogFileName (not listed by readdir). read(offset = a logical offset in [head,
// durable tail]) returns whole records only, up to the last committed record. Its size is
// the durable tail. Extended attributes on it (trusted.*: only CAP_SYS_ADMIN):
//   trusted.bento.prov.ack   set: decimal logical offset the reader has stored (moves head)
//   trusted.bento.prov.info  get: "key=value" lines: version head tail durable capacity
//                            next_seq refused tracking gap_records gap_mutating
//                            (refused: records not written since mkfs; gap_*: the
//                            pending gap, not yet in the log as a kGap record)
// A reader's cursor is a logical offset; together with the record's seq it lets a reader
// restart without losing or repeating a record.
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/crc32c.h"
#include "format/endian.h"

namespace bentofs::prov {

constexpr char kProvLogFileName[] = ".bento-provlog";
constexpr char kXattrAck[] = "trusted.bento.prov.ack";
constexpr char kXattrInfo[] = "trusted.bento.prov.info";

constexpr uint64_t kLogMagic = 0x31474F4C564F5250ULL;  // "PROVLOG1" read as LE u64
constexpr uint32_t kLogVersion = 1;
// Record format 2 added kGap, 3 kSetxattr and kGetxattr, 4 kReaddir (the layout is
// unchanged). Each record carries the lowest version that describes it: kGap records 2,
// the xattr records 3, kReaddir 4, all others 1, so a reader that knows an older version
// still reads every other record and reports a newer one as unknown (skipped) instead of
// misreading it. Readers accept versions kRecordVersionMin..kRecordVersion.
constexpr uint32_t kRecordVersion = 4;
constexpr uint32_t kRecordVersionMin = 1;
constexpr uint32_t kLogBlockSize = 4096;

// Ring block 0. Journaled in every transaction that appends or acknowledges; filled in at
// its commit (core/prov_log.h), so it matches that transaction's records.
struct ProvLogHeader {
  Le64 magic;       // kLogMagic
  Le32 version;     // kLogVersion
  Le32 block_size;  // kLogBlockSize
  Le64 capacity;    // bytes of record space: (prov_blocks - 1) * 4096
  Le64 head;        // logical offset of the oldest retained record
  Le64 tail;        // logical offset where the next record goes
  Le64 next_seq;    // seq of the next record (the first record ever has seq 1)
  Le64 refused;     // records not written because the log was full (since mkfs)
  Le32 tracking;    // 1 while a tracking module is mounted (informational)
  Le32 reserved0;
  // The pending gap (zero when none): records not written since the last kGap record,
  // how many of them for mutating operations, CLOCK_MONOTONIC of the first and the last.
  // Zero in logs written before record format 2, which is what "no gap" means.
  Le64 gap_records;
  Le64 gap_mutating;
  Le64 gap_first_ns;
  Le64 gap_last_ns;
  uint8_t reserved[3996];
  Le32 checksum;  // crc32c of bytes [0, 4092)
};
static_assert(sizeof(ProvLogHeader) == 4096);

inline void seal_header(ProvLogHeader& h) {
  h.checksum.set(crc32c(reinterpret_cast<const uint8_t*>(&h), 4092));
}

// A fresh, empty log over a ring of `blocks` blocks (mkfs).
inline void init_header(ProvLogHeader& h, uint64_t blocks) {
  h.magic.set(kLogMagic);
  h.version.set(kLogVersion);
  h.block_size.set(kLogBlockSize);
  h.capacity.set((blocks - 1) * kLogBlockSize);
  h.head.set(0);
  h.tail.set(0);
  h.next_seq.set(1);
  seal_header(h);
}

// Why a header is unusable, or nullptr when it is sound for a ring of `blocks` blocks.
inline const char* check_header(const ProvLogHeader& h, uint64_t blocks) {
  if (h.magic.get() != kLogMagic) return "provenance log header has a bad magic number";
  if (h.checksum.get() != crc32c(reinterpret_cast<const uint8_t*>(&h), 4092))
    return "provenance log header checksum mismatch";
  if (h.version.get() != kLogVersion) return "unsupported provenance log version";
  if (h.block_size.get() != kLogBlockSize) return "provenance log has a bad block size";
  if (h.capacity.get() != (blocks - 1) * kLogBlockSize)
    return "provenance log capacity does not match its area";
  if (h.head.get() > h.tail.get() || h.tail.get() - h.head.get() > h.capacity.get())
    return "provenance log head/tail are inconsistent";
  if (h.head.get() % 8 != 0 || h.tail.get() % 8 != 0)
    return "provenance log head/tail are misaligned";
  if (h.next_seq.get() == 0) return "provenance log sequence number is zero";
  return nullptr;
}

// Ring data block (relative to the area's start) holding logical offset off.
inline uint64_t ring_block(uint64_t off, uint64_t blocks) {
  return 1 + (off / kLogBlockSize) % (blocks - 1);
}

enum class RecordType : uint16_t {
  kPad = 0,             // filler to the end of a 4 KiB block; only len/type are meaningful
  kCreate = 1,          // parent/name -> ino,gen; mode; flags = open flags; fh. O_TMPFILE:
                        // parent = the directory, name empty (name_len 0), flags include
                        // O_TMPFILE's bits; a later linkat gives it a name (kLink)
  kMknod = 2,           // parent/name -> ino,gen; mode (fifo, device, socket, regular)
  kMkdir = 3,           // parent/name -> ino,gen; mode
  kSymlink = 4,         // parent/name -> ino,gen; name2 = link target
  kLink = 5,            // ino,gen gets a new name parent/name
  kRename = 6,          // ino,gen moves parent/name -> parent2/name2; flags = RENAME_*;
                        // ino2,gen2 = replaced (or exchanged) inode, 0 if none;
                        // aux bit 0 = the replaced inode died (no links, no opens)
  kUnlink = 7,          // parent/name removed from ino,gen; aux bit 0 = the inode died
  kRmdir = 8,           // parent/name removed, ino,gen = the directory (always dies)
  kOpen = 9,            // ino,gen opened; flags = open flags (O_ACCMODE, O_TRUNC...); fh
  kRelease = 10,        // fh closed (last close of the open file description); flags =
                        // its open flags; aux bit 0 = written through this fh (by a
                        // write that succeeded); parent2 = CLOCK_MONOTONIC ns of the
                        // last write through fh (0: none seen by this instance, e.g.
                        // written before a live upgrade): no write through fh happened
                        // after it, which is what causality needs
  kTruncate = 11,       // ino,gen size set; aux = new size; fh if done through one (else 0)
  kChmod = 12,          // ino,gen; mode = new mode
  kChown = 13,          // ino,gen; aux = new uid << 32 | new gid
  kWrite = 14,          // first write through fh by this tid that succeeded (a new
                        // writer; and again after the file was truncated to 0, by any
                        // handle or an O_TRUNC open): ino,gen; fh; aux = offset of that
                        // write. Also every fallocate(2) that changes content (punch
                        // hole, zero range, collapse or insert range, mode 0 past the
                        // end), each time:
                        // gen2 = kGen2Fallocate | the FALLOC_FL_* mode, aux = offset,
                        // ino2 = length of the range; flags = fh's open flags (0 when
                        // done without a handle). gen2 = 0: write(2).
  kRead = 15,           // first read through fh by this tid that reached the fs (cached
                        // reads do not); ino,gen; fh
  kTrackingStart = 16,  // tracking began (live upgrade); aux = handles carried over
  kHandleCarried = 17,  // an fh opened before tracking began: ino,gen; flags; fh
  kTrackingStop = 18,   // tracking ends (upgrade to plain Bento-fs or unmount)
  kGap = 19,            // (record format 2) records were not written, the log was full:
                        // aux = how many, ino2 = how many of them for mutating operations
                        // (all but reads, read-only opens and releases of unwritten
                        // handles), parent / parent2 = CLOCK_MONOTONIC ns of the first /
                        // the last of them; tid 0, uid 0 (the fs's own record)
  kSetxattr = 20,       // (record format 3) an extended attribute of ino,gen set
                        // (setxattr(2)) or removed (removexattr(2), flags = kXattrRemoved):
                        // name = the attribute's name, aux = the value's length. Any
                        // namespace (user.*, trusted.*, security.*, system.posix_acl_*)
  kGetxattr = 21,       // (record format 3) a user.* or trusted.* attribute of ino,gen read
                        // (getxattr(2) that found it): name, aux = the value's length.
                        // Not security.* or system.*: the kernel reads those for the
                        // caller on its writes and permission checks, not the caller
  kReaddir = 22,        // (record format 4) first readdir through a directory's fh by this
                        // tid that reached the fs (a listing: `ls d`, a shell's glob,
                        // find, tar): ino,gen = the directory; fh; aux = the offset it
                        // listed from
};
constexpr RecordType kLastRecordType = RecordType::kReaddir;

// The version a record of type t is written with (see kRecordVersion).
inline constexpr uint16_t record_version(RecordType t) {
  return t == RecordType::kGap                                      ? 2
         : t == RecordType::kSetxattr || t == RecordType::kGetxattr ? 3
         : t == RecordType::kReaddir                                ? 4
                                                                    : 1;
}

constexpr uint32_t kGen2Fallocate = 0x80000000u;  // kWrite gen2: the write was a fallocate
constexpr uint16_t kAuxDied = 1;                  // kRename / kUnlink aux bit 0
constexpr uint16_t kAuxWritten = 1;               // kRelease aux bit 0
constexpr uint32_t kXattrRemoved = 1;             // kSetxattr flags: removexattr(2)

// A record: this fixed part, then name bytes, then name2 bytes, zero padded so that len
// is a multiple of 8. Names are not NUL-terminated; each is at most 4095 bytes (symlink
// targets), and a whole record fits a 4 KiB block.
struct RecordHeader {
  Le32 len;           // whole record, multiple of 8, >= 8 (Pad) or >= sizeof(RecordHeader)
  Le16 type;          // RecordType
  Le16 version;       // record_version(type)
  Le64 seq;           // 1, 2, 3... in log order, no gaps (Pad records have none)
  Le64 realtime_ns;   // CLOCK_REALTIME at the operation
  Le64 monotonic_ns;  // CLOCK_MONOTONIC at the operation
  Le32 pid;           // thread-group id when the host knows it, else 0 (FUSE: 0)
  Le32 tid;           // the calling thread (FUSE's request pid)
  Le32 uid;
  Le32 gid;
  Le64 ino;
  Le32 gen;  // inode generation: (ino, gen) names a file for its whole life
  Le32 flags;
  Le64 parent;
  Le64 ino2;
  Le32 gen2;
  Le32 mode;
  Le64 fh;
  Le64 aux;
  Le64 parent2;
  Le16 name_len;
  Le16 name2_len;
  Le32 checksum;  // crc32c of the whole record (len bytes) with this field zero
};
static_assert(sizeof(RecordHeader) == 120);
constexpr uint32_t kPadHeaderSize = 8;  // a Pad record needs only len + type + version

inline constexpr uint32_t record_len(size_t name_len, size_t name2_len) {
  return static_cast<uint32_t>((sizeof(RecordHeader) + name_len + name2_len + 7) & ~size_t{7});
}

inline uint32_t record_checksum(const uint8_t* rec, uint32_t len) {
  constexpr size_t off = __builtin_offsetof(RecordHeader, checksum);
  static const uint8_t zero[4] = {0, 0, 0, 0};
  uint32_t c = crc32c_update(~0u, rec, off);
  c = crc32c_update(c, zero, 4);
  c = crc32c_update(c, rec + off + 4, len - off - 4);
  return ~c;
}

// A decoded record; names point into the buffer that was decoded.
struct Record {
  RecordType type = RecordType::kPad;
  uint64_t seq = 0, realtime_ns = 0, monotonic_ns = 0;
  uint32_t pid = 0, tid = 0, uid = 0, gid = 0;
  uint64_t ino = 0;
  uint32_t gen = 0, flags = 0;
  uint64_t parent = 0, ino2 = 0;
  uint32_t gen2 = 0, mode = 0;
  uint64_t fh = 0, aux = 0, parent2 = 0;
  const char* name = nullptr;
  uint16_t name_len = 0;
  const char* name2 = nullptr;
  uint16_t name2_len = 0;
};

enum class DecodeError { kOk, kShort, kBadLen, kBadVersion, kBadChecksum, kBadType };

inline const char* decode_error_name(DecodeError e) {
  switch (e) {
    case DecodeError::kOk:
      return "ok";
    case DecodeError::kShort:
      return "truncated record";
    case DecodeError::kBadLen:
      return "bad record length";
    case DecodeError::kBadVersion:
      return "unknown record version";
    case DecodeError::kBadChecksum:
      return "record checksum mismatch";
    case DecodeError::kBadType:
      return "unknown record type";
  }
  return "?";
}

// Decodes the record at p (avail bytes available). On kOk, *len is its length (skip Pad
// records: out->type == kPad). On kBadChecksum/kBadType/kBadVersion, *len is still the
// declared length, so a reader can report the record and skip it.
inline DecodeError decode_record(const uint8_t* p, size_t avail, Record* out, uint32_t* len) {
  if (avail < kPadHeaderSize) return DecodeError::kShort;
  uint32_t l = load_le32(p);
  *len = l;
  if (l < kPadHeaderSize || l % 8 != 0 || l > kLogBlockSize) return DecodeError::kBadLen;
  if (avail < l) return DecodeError::kShort;
  uint16_t type = static_cast<uint16_t>(p[4] | (p[5] << 8));
  if (type == static_cast<uint16_t>(RecordType::kPad)) {
    *out = Record{};
    return DecodeError::kOk;
  }
  if (l < sizeof(RecordHeader)) return DecodeError::kBadLen;
  RecordHeader h;
  __builtin_memcpy(&h, p, sizeof h);
  if (h.version.get() < kRecordVersionMin || h.version.get() > kRecordVersion)
    return DecodeError::kBadVersion;
  if (sizeof(RecordHeader) + h.name_len.get() + h.name2_len.get() > l) return DecodeError::kBadLen;
  if (record_checksum(p, l) != h.checksum.get()) return DecodeError::kBadChecksum;
  if (type > static_cast<uint16_t>(kLastRecordType)) return DecodeError::kBadType;
  if (h.version.get() < record_version(static_cast<RecordType>(type)))
    return DecodeError::kBadVersion;  // a type its version does not have
  Record r;
  r.type = static_cast<RecordType>(type);
  r.seq = h.seq.get();
  r.realtime_ns = h.realtime_ns.get();
  r.monotonic_ns = h.monotonic_ns.get();
  r.pid = h.pid.get();
  r.tid = h.tid.get();
  r.uid = h.uid.get();
  r.gid = h.gid.get();
  r.ino = h.ino.get();
  r.gen = h.gen.get();
  r.flags = h.flags.get();
  r.parent = h.parent.get();
  r.ino2 = h.ino2.get();
  r.gen2 = h.gen2.get();
  r.mode = h.mode.get();
  r.fh = h.fh.get();
  r.aux = h.aux.get();
  r.parent2 = h.parent2.get();
  r.name_len = h.name_len.get();
  r.name2_len = h.name2_len.get();
  r.name = reinterpret_cast<const char*>(p + sizeof(RecordHeader));
  r.name2 = r.name + r.name_len;
  *out = r;
  return DecodeError::kOk;
}

inline const char* record_type_name(RecordType t) {
  switch (t) {
    case RecordType::kPad:
      return "pad";
    case RecordType::kCreate:
      return "create";
    case RecordType::kMknod:
      return "mknod";
    case RecordType::kMkdir:
      return "mkdir";
    case RecordType::kSymlink:
      return "symlink";
    case RecordType::kLink:
      return "link";
    case RecordType::kRename:
      return "rename";
    case RecordType::kUnlink:
      return "unlink";
    case RecordType::kRmdir:
      return "rmdir";
    case RecordType::kOpen:
      return "open";
    case RecordType::kRelease:
      return "release";
    case RecordType::kTruncate:
      return "truncate";
    case RecordType::kChmod:
      return "chmod";
    case RecordType::kChown:
      return "chown";
    case RecordType::kWrite:
      return "write";
    case RecordType::kRead:
      return "read";
    case RecordType::kTrackingStart:
      return "tracking-start";
    case RecordType::kHandleCarried:
      return "handle-carried";
    case RecordType::kTrackingStop:
      return "tracking-stop";
    case RecordType::kGap:
      return "gap";
    case RecordType::kSetxattr:
      return "setxattr";
    case RecordType::kGetxattr:
      return "getxattr";
    case RecordType::kReaddir:
      return "readdir";
  }
  return "?";
}

}  // namespace bentofs::prov
