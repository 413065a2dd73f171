// Bento-prov in-process: every tracked operation leaves exactly the record the collector
// needs (format/prov_log.h), records are durable with their operation (crash images), only
// committed records are readable, a full log keeps serving and records one gap marker
// with counts, and tracking switches on and off by live upgrade with open handles attributed.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "fs_test_util.h"

namespace bentofs::test {
namespace {

using namespace bento;
using prov::RecordType;

struct Rec {
  RecordType type;
  uint64_t seq, ino, parent, parent2, ino2, fh, aux;
  uint32_t gen, gen2, flags, tid, uid, mode;
  std::string name, name2;
  uint64_t monotonic_ns = 0;
};

// Reads the whole log through the hidden file (after committing what is pending).
std::vector<Rec> read_log(BentoFs& fs, bool commit = true) {
  Request root;
  if (commit) {
    EXPECT_TRUE(fs.commit_now().ok());
  }
  std::vector<Rec> out;
  std::vector<uint8_t> buf(64 * 1024);
  auto info = fs.getxattr(root, BentoFs::kProvLogIno, prov::kXattrInfo, {});
  EXPECT_TRUE(info.ok());
  std::string text(*info, '\0');
  EXPECT_TRUE(fs.getxattr(root, BentoFs::kProvLogIno, prov::kXattrInfo,
                          {reinterpret_cast<uint8_t*>(text.data()), text.size()})
                  .ok());
  uint64_t off = std::stoull(text.substr(text.find("head=") + 5));
  for (;;) {
    auto n = fs.read(root, BentoFs::kProvLogIno, BentoFs::kProvLogFh, off, buf);
    EXPECT_TRUE(n.ok()) << n.error();
    if (!n.ok() || *n == 0) break;
    for (size_t at = 0; at < *n;) {
      prov::Record r;
      uint32_t len = 0;
      EXPECT_EQ(prov::decode_record(buf.data() + at, *n - at, &r, &len), prov::DecodeError::kOk);
      if (r.type != RecordType::kPad) {
        out.push_back({r.type, r.seq, r.ino, r.parent, r.parent2, r.ino2, r.fh, r.aux, r.gen,
                       r.gen2, r.flags, r.tid, r.uid, r.mode, std::string(r.name, r.name_len),
                       std::string(r.name2, r.name2_len), r.monotonic_ns});
      }
      at += len;
    }
    off += *n;
  }
  return out;
}

std::vector<RecordType> types(const std::vector<Rec>& v) {
  std::vector<RecordType> t;
  for (const auto& r : v) t.push_back(r.type);
  return t;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(BentoProv, RecordsEveryOperationWithItsFields) {
  TestFs t(16384, {}, true);
  Request u = user_req(1000, 100);
  u.pid = 4242;
  auto before = read_log(*t.fs);
  ASSERT_EQ(types(before), std::vector<RecordType>{RecordType::kTrackingStart});

  auto dir = t.fs->mkdir(t.r, kRootIno, "d", 0777);  // root's directory: root makes it
  ASSERT_TRUE(dir.ok());
  auto c = t.fs->create(u, dir->ino, "out", 0644, oflag::kWriteOnly | oflag::kCreate);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(t.fs->write(u, c->entry.ino, c->open.fh, 0, bytes("hello")).ok());
  ASSERT_TRUE(t.fs->write(u, c->entry.ino, c->open.fh, 5, bytes(" world")).ok());  // same tid
  Request child = u;
  child.pid = 4243;  // a forked child writing through the inherited descriptor
  ASSERT_TRUE(t.fs->write(child, c->entry.ino, c->open.fh, 11, bytes("!")).ok());
  ASSERT_TRUE(t.fs->release(u, c->entry.ino, c->open.fh, 0).ok());
  auto rd = t.fs->open(u, c->entry.ino, oflag::kReadOnly);
  ASSERT_TRUE(rd.ok());
  std::string buf(64, '\0');
  ASSERT_TRUE(
      t.fs->read(u, c->entry.ino, rd->fh, 0, {reinterpret_cast<uint8_t*>(buf.data()), buf.size()})
          .ok());
  ASSERT_TRUE(t.fs->release(u, c->entry.ino, rd->fh, 0).ok());
  auto old = t.create(dir->ino, "old");                                    // as root (t.r): tid 0
  ASSERT_TRUE(t.fs->rename(u, dir->ino, "out", dir->ino, "old", 0).ok());  // replaces "old"
  ASSERT_TRUE(t.fs->link(u, c->entry.ino, dir->ino, "hard").ok());
  ASSERT_TRUE(t.fs->unlink(u, dir->ino, "old").ok());   // "hard" still names it
  ASSERT_TRUE(t.fs->unlink(u, dir->ino, "hard").ok());  // last name: it dies
  ASSERT_TRUE(t.fs->symlink(u, "target/path", dir->ino, "sym").ok());
  ASSERT_TRUE(t.fs->mknod(u, dir->ino, "fifo", mode::kFifo | 0600, 0).ok());
  auto f = t.create(kRootIno, "f");
  SetAttr sa;
  sa.valid = SetAttr::kMode;
  sa.mode = 0600;
  ASSERT_TRUE(t.fs->setattr(t.r, f.ino, sa, 0).ok());
  sa.valid = SetAttr::kUid | SetAttr::kGid;
  sa.uid = 7;
  sa.gid = 8;
  ASSERT_TRUE(t.fs->setattr(t.r, f.ino, sa, 0).ok());
  sa.valid = SetAttr::kSize;
  sa.size = 123;
  ASSERT_TRUE(t.fs->setattr(t.r, f.ino, sa, 0).ok());
  ASSERT_TRUE(t.fs->rmdir(t.r, kRootIno, "d").error() == ENOTEMPTY);  // failed: no record
  auto e = t.fs->mkdir(t.r, kRootIno, "empty", 0755);
  ASSERT_TRUE(t.fs->rmdir(t.r, kRootIno, "empty").ok());

  auto log = read_log(*t.fs);
  std::vector<RecordType> want = {
      RecordType::kTrackingStart, RecordType::kMkdir,    RecordType::kCreate,  RecordType::kWrite,
      RecordType::kWrite,         RecordType::kRelease,  RecordType::kOpen,    RecordType::kRead,
      RecordType::kRelease,       RecordType::kCreate,   RecordType::kRelease, RecordType::kRename,
      RecordType::kLink,          RecordType::kUnlink,   RecordType::kUnlink,  RecordType::kSymlink,
      RecordType::kMknod,         RecordType::kCreate,   RecordType::kRelease, RecordType::kChmod,
      RecordType::kChown,         RecordType::kTruncate, RecordType::kMkdir,   RecordType::kRmdir};
  ASSERT_EQ(types(log), want);
  for (size_t i = 0; i < log.size(); i++) EXPECT_EQ(log[i].seq, log[0].seq + i) << i;

  const Rec& mk = log[1];
  EXPECT_EQ(mk.ino, dir->ino);
  EXPECT_EQ(mk.gen, dir->generation);
  EXPECT_EQ(mk.parent, kRootIno);
  EXPECT_EQ(mk.name, "d");
  EXPECT_EQ(mk.uid, 0u);
  const Rec& cr = log[2];
  EXPECT_EQ(cr.uid, 1000u);
  EXPECT_EQ(cr.tid, 4242u);
  EXPECT_EQ(cr.ino, c->entry.ino);
  EXPECT_EQ(cr.parent, dir->ino);
  EXPECT_EQ(cr.name, "out");
  EXPECT_EQ(cr.fh, c->open.fh);
  EXPECT_EQ(cr.flags, oflag::kWriteOnly | oflag::kCreate);
  EXPECT_EQ(log[3].tid, 4242u);  // first writer
  EXPECT_EQ(log[4].tid, 4243u);  // the child: a new writer through the same fh
  EXPECT_EQ(log[4].fh, c->open.fh);
  EXPECT_EQ(log[4].aux, 11u);
  EXPECT_EQ(log[5].aux & prov::kAuxWritten, prov::kAuxWritten);
  EXPECT_EQ(log[5].gen, c->entry.generation);
  EXPECT_EQ(log[6].flags, oflag::kReadOnly);
  EXPECT_EQ(log[8].aux & prov::kAuxWritten, 0u);
  const Rec& rn = log[11];
  EXPECT_EQ(rn.ino, c->entry.ino);
  EXPECT_EQ(rn.name, "out");
  EXPECT_EQ(rn.name2, "old");
  EXPECT_EQ(rn.parent2, dir->ino);
  EXPECT_EQ(rn.ino2, old.ino);
  EXPECT_EQ(rn.gen2, old.generation);
  EXPECT_EQ(rn.aux & prov::kAuxDied, prov::kAuxDied);  // the replaced file had no other name
  EXPECT_EQ(log[12].name, "hard");
  EXPECT_EQ(log[12].parent, dir->ino);
  EXPECT_EQ(log[13].aux & prov::kAuxDied, 0u);  // still linked as "hard"
  EXPECT_EQ(log[14].aux & prov::kAuxDied, prov::kAuxDied);
  EXPECT_EQ(log[15].name2, "target/path");
  EXPECT_EQ(log[16].mode & mode::kTypeMask, mode::kFifo);
  EXPECT_EQ(log[19].mode & 07777, 0600u);
  EXPECT_EQ(log[20].aux, (uint64_t{7} << 32) | 8);
  EXPECT_EQ(log[21].aux, 123u);
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

// A write that fails (here EFBIG; ENOSPC alike) wrote nothing: the release does not say
// the handle wrote, and the thread's next write that succeeds is logged as its first.
TEST(BentoProv, AFailedWriteIsNotAWrite) {
  TestFs t(16384, {}, true);
  Request u = t.r;
  u.pid = 4242;
  (void)read_log(*t.fs);
  auto c = t.fs->create(u, kRootIno, "out", 0644, oflag::kWriteOnly | oflag::kCreate);
  ASSERT_TRUE(c.ok());
  const uint64_t past_the_end = uint64_t{1} << 52;
  ASSERT_FALSE(t.fs->write(u, c->entry.ino, c->open.fh, past_the_end, bytes("x")).ok());
  ASSERT_TRUE(t.fs->release(u, c->entry.ino, c->open.fh, 0).ok());
  auto o = t.fs->open(u, c->entry.ino, oflag::kWriteOnly);
  ASSERT_TRUE(o.ok());
  ASSERT_FALSE(t.fs->write(u, c->entry.ino, o->fh, past_the_end, bytes("x")).ok());
  ASSERT_TRUE(t.fs->write(u, c->entry.ino, o->fh, 0, bytes("hello")).ok());
  ASSERT_TRUE(t.fs->release(u, c->entry.ino, o->fh, 0).ok());
  auto log = read_log(*t.fs);
  std::vector<RecordType> want = {RecordType::kTrackingStart, RecordType::kCreate,
                                  RecordType::kRelease,       RecordType::kOpen,
                                  RecordType::kWrite,         RecordType::kRelease};
  ASSERT_EQ(types(log), want);
  EXPECT_EQ(log[2].aux & prov::kAuxWritten, 0u) << "the handle never wrote";
  EXPECT_EQ(log[4].tid, 4242u);
  EXPECT_EQ(log[4].fh, o->fh);
  EXPECT_EQ(log[5].aux & prov::kAuxWritten, prov::kAuxWritten);
}

TEST(BentoProv, ReadersSeeOnlyCommittedRecords) {
  TestFs t(16384, {}, true);
  t.unmount();
  t.mount("commit=600000");  // commits only when asked
  size_t base = read_log(*t.fs).size();
  t.create(kRootIno, "a");
  EXPECT_EQ(read_log(*t.fs, false).size(), base);  // not committed: invisible
  auto a = t.fs->getattr(t.r, BentoFs::kProvLogIno, 0);
  ASSERT_TRUE(a.ok());
  uint64_t durable_before = a->size;
  EXPECT_EQ(read_log(*t.fs, true).size(), base + 2);  // create + release
  EXPECT_GT(t.fs->getattr(t.r, BentoFs::kProvLogIno, 0)->size, durable_before);
}

// A syncfs that arrives while the commit thread is still writing the transaction holding a
// record must wait for that commit: once it returns, the record is readable. (It used to
// return at once, the running transaction being empty, so a reader that synced and read
// right then missed the record: the kernel host's "needed a second sync" in the upgrade
// test, kernel/module/README.md.)
TEST(BentoProv, SyncfsWaitsForACommitAlreadyInFlight) {
  TestFs t(16384, {}, true);
  t.unmount();
  t.mount("commit=600000");  // commits only when asked
  const size_t base = read_log(*t.fs).size();
  std::mutex mu;
  std::condition_variable cv;
  bool in_flight = false, go = false;
  // Holds the first commit of "a" at its first barrier: staged, running_tid moved on,
  // committed_tid not yet.
  t.dev->set_flush_hook([&] {
    std::unique_lock<std::mutex> l(mu);
    if (go) return;
    in_flight = true;
    cv.notify_all();
    cv.wait(l, [&] { return go; });
  });
  t.create(kRootIno, "a");
  std::thread first([&] { EXPECT_TRUE(t.fs->syncfs(t.r).ok()); });
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return in_flight; });
  }
  std::atomic<bool> returned{false};
  size_t seen = 0;
  std::thread second([&] {
    EXPECT_TRUE(t.fs->syncfs(t.r).ok());
    seen = read_log(*t.fs, false).size();
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(returned.load()) << "syncfs returned while the commit was still being written";
  {
    std::lock_guard<std::mutex> l(mu);
    go = true;
    cv.notify_all();
  }
  first.join();
  second.join();
  t.dev->set_flush_hook({});
  EXPECT_EQ(seen, base + 2) << "after syncfs: the create and release records are readable";
}

TEST(BentoProv, HiddenFileIsRootOnlyReadOnlyAndNotListed) {
  TestFs t(16384, {}, true);
  Request u = user_req(1000, 100);
  EXPECT_EQ(t.fs->lookup(u, kRootIno, prov::kProvLogFileName).error(), ENOENT);
  ASSERT_TRUE(t.fs->lookup(t.r, kRootIno, prov::kProvLogFileName).ok());
  EXPECT_EQ(t.fs->open(u, BentoFs::kProvLogIno, oflag::kReadOnly).error(), EACCES);
  EXPECT_EQ(t.fs->open(t.r, BentoFs::kProvLogIno, oflag::kReadWrite).error(), EACCES);
  EXPECT_TRUE(t.fs->open(t.r, BentoFs::kProvLogIno, oflag::kReadOnly)->direct_io);
  EXPECT_EQ(t.list(kRootIno), (std::vector<std::string>{".", ".."}));
  EXPECT_EQ(t.fs->create(t.r, kRootIno, prov::kProvLogFileName, 0644,
                         oflag::kReadWrite | oflag::kExclusive)
                .error(),
            EEXIST);
  // Without O_EXCL, create opens the existing file: read-only, so refused.
  EXPECT_EQ(t.fs->create(t.r, kRootIno, prov::kProvLogFileName, 0644, oflag::kReadWrite).error(),
            EACCES);
  EXPECT_EQ(t.fs->unlink(t.r, kRootIno, prov::kProvLogFileName).error(), EPERM);
  std::string v = "8";
  EXPECT_EQ(t.fs->setxattr(u, BentoFs::kProvLogIno, prov::kXattrAck, bytes(v), 0).error(), EPERM);
}

TEST(BentoProv, AckMovesTheHeadAndBadCursorsAreRefused) {
  TestFs t(16384, {}, true);
  t.create(kRootIno, "a");
  auto log = read_log(*t.fs);
  ASSERT_EQ(log.size(), 3u);
  uint64_t tail = t.fs->getattr(t.r, BentoFs::kProvLogIno, 0)->size;
  std::string beyond = std::to_string(tail + 8), odd = "3", ok = std::to_string(tail);
  EXPECT_EQ(t.fs->setxattr(t.r, BentoFs::kProvLogIno, prov::kXattrAck, bytes(beyond), 0).error(),
            EINVAL);
  EXPECT_EQ(t.fs->setxattr(t.r, BentoFs::kProvLogIno, prov::kXattrAck, bytes(odd), 0).error(),
            EINVAL);
  ASSERT_TRUE(t.fs->setxattr(t.r, BentoFs::kProvLogIno, prov::kXattrAck, bytes(ok), 0).ok());
  EXPECT_TRUE(read_log(*t.fs).empty());
  std::vector<uint8_t> buf(4096);
  EXPECT_EQ(t.fs->read(t.r, BentoFs::kProvLogIno, BentoFs::kProvLogFh, 0, buf).error(), ERANGE);
  // The head survives a remount; new records follow with the next seq.
  t.remount();
  t.create(kRootIno, "b");
  log = read_log(*t.fs);
  ASSERT_EQ(types(log), (std::vector<RecordType>{RecordType::kTrackingStart, RecordType::kCreate,
                                                 RecordType::kRelease}));
  EXPECT_EQ(log[1].name, "b");
}

std::string prov_info(BentoFs& fs) {
  Request root;
  std::string info(512, '\0');
  auto n = fs.getxattr(root, BentoFs::kProvLogIno, prov::kXattrInfo,
                       {reinterpret_cast<uint8_t*>(info.data()), info.size()});
  EXPECT_TRUE(n.ok());
  info.resize(n.ok() ? *n : 0);
  return info;
}
uint64_t info_field(const std::string& info, const std::string& key) {
  size_t at = info.find("\n" + key + "=");
  if (at == std::string::npos) at = info.rfind(key + "=", 0) == 0 ? 0 : std::string::npos;
  EXPECT_NE(at, std::string::npos) << key << " in " << info;
  if (at == std::string::npos) return 0;
  return std::stoull(info.substr(info.find('=', at) + 1));
}

// A full log is a policy, not an outage: every operation goes on (reads, opens and
// mutations, root's and others'), what could not be recorded is counted, and once the
// reader makes room ONE gap record with the counts precedes every later record.
TEST(BentoProv, FullLogKeepsServingAndWritesOneGapRecordOnceThereIsRoom) {
  FormatOptions o;
  o.prov_log_blocks = 3;  // 8 KiB of records
  TestFs t(16384, o, true);
  auto in = t.create(kRootIno, "in");
  t.write(in.ino, 0, "input");
  Request user;
  user.pid = 4242;
  user.uid = 1000;
  user.gid = 1000;
  bento::SetAttr open_dir;
  open_dir.valid = bento::SetAttr::kMode;
  open_dir.mode = bento::mode::kDirectory | 0777;
  ASSERT_TRUE(t.fs->setattr(t.r, kRootIno, open_dir, 0).ok());
  const size_t setup = read_log(*t.fs).size();
  for (int i = 0; i < 200; i++) {
    Request& who = i % 2 ? user : t.r;
    auto c = t.fs->create(who, kRootIno, "f" + std::to_string(i), 0644, oflag::kReadWrite);
    ASSERT_TRUE(c.ok()) << "create " << i << " refused: " << c.error();
    ASSERT_TRUE(t.fs->release(who, c->entry.ino, c->open.fh, 0).ok());
  }
  // Full by now: reads, lookups, stats and opens still work, for everyone.
  std::string info = prov_info(*t.fs);
  ASSERT_GT(info_field(info, "gap_records"), 0u) << info;
  EXPECT_EQ(info_field(info, "refused"), info_field(info, "gap_records"));
  Request admin = t.r;
  admin.pid = 77;  // (a read record is per thread: tid 0 would be "no reader yet")
  for (Request* who : {&admin, &user}) {
    ASSERT_TRUE(t.fs->lookup(*who, kRootIno, "in").ok());
    ASSERT_TRUE(t.fs->getattr(*who, in.ino, 0).ok());
    auto op = t.fs->open(*who, in.ino, oflag::kReadOnly);
    ASSERT_TRUE(op.ok()) << op.error();
    std::vector<uint8_t> buf(16);
    auto n = t.fs->read(*who, in.ino, op->fh, 0, buf);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 5u);
    ASSERT_TRUE(t.fs->release(*who, in.ino, op->fh, 0).ok());
    ASSERT_TRUE(t.fs->mkdir(*who, kRootIno, "d" + std::to_string(who->uid), 0755).ok());
  }
  EXPECT_EQ(t.list(kRootIno).size(), 200u + 1 + 2 + 2);  // files, in, d0, d1000, ".", ".."
  // The pending gap survives a remount (it is in the header, journaled with each
  // operation it counts), and fsck accepts the log.
  auto before = read_log(*t.fs);
  t.remount();
  info = prov_info(*t.fs);
  uint64_t gap = info_field(info, "gap_records");
  uint64_t mutating = info_field(info, "gap_mutating");
  EXPECT_GT(gap, 0u);
  EXPECT_LT(mutating, gap);  // reads, read-only opens, closes of unwritten handles are not
  EXPECT_GT(mutating, 0u);
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
  // fsck's note counts records, not operations: the operations ran (a gap record follows).
  bool noted = false;
  for (const auto& n : rep.notes) {
    EXPECT_EQ(n.find("refused"), std::string::npos) << n;
    noted |= n.find("record(s) not written while the log was full") != std::string::npos;
  }
  EXPECT_TRUE(noted);
  // Every operation is either recorded or counted: 200 creates and releases, 2 x (open,
  // read, release, mkdir), the remount's tracking-start.
  size_t created = 0;
  for (const auto& r : before) created += r.type == RecordType::kCreate;
  EXPECT_EQ(before.size() + gap, setup + 400 + 8 + 1) << "recorded " << before.size();
  // Making room writes the gap record at once, before any other record.
  std::string tail = std::to_string(t.fs->getattr(t.r, BentoFs::kProvLogIno, 0)->size);
  ASSERT_TRUE(t.fs->setxattr(t.r, BentoFs::kProvLogIno, prov::kXattrAck, bytes(tail), 0).ok());
  EXPECT_EQ(info_field(prov_info(*t.fs), "gap_records"), 0u);
  EXPECT_TRUE(t.fs->create(t.r, kRootIno, "again", 0644, oflag::kReadWrite).ok());
  auto after = read_log(*t.fs);
  ASSERT_GE(after.size(), 2u);
  EXPECT_EQ(after[0].type, RecordType::kGap);
  EXPECT_EQ(after[0].aux, gap);
  EXPECT_EQ(after[0].ino2, mutating);
  EXPECT_EQ(after[0].uid, 0u);
  EXPECT_LE(after[0].parent, after[0].parent2);
  EXPECT_GT(after[0].parent, 0u);
  EXPECT_EQ(after[1].type, RecordType::kCreate);
  EXPECT_EQ(after[1].name, "again");
  size_t gaps = 0;
  for (const auto& r : after) gaps += r.type == RecordType::kGap;
  EXPECT_EQ(gaps, 1u);
  // The gap record is record format 2, the others stay 1 (a version-1 reader skips only
  // the gap record); a gap record claiming version 1 is refused.
  std::vector<uint8_t> raw(8192);
  auto n = t.fs->read(t.r, BentoFs::kProvLogIno, BentoFs::kProvLogFh, std::stoull(tail), raw);
  ASSERT_TRUE(n.ok());
  ASSERT_GE(*n, 2 * sizeof(prov::RecordHeader));
  auto le16 = [&](size_t at) { return static_cast<uint16_t>(raw[at] | raw[at + 1] << 8); };
  EXPECT_EQ(le16(4), static_cast<uint16_t>(RecordType::kGap));
  EXPECT_EQ(le16(6), 2u);
  const uint32_t glen = load_le32(raw.data());
  EXPECT_EQ(le16(glen + 6), 1u);
  raw[6] = 1;
  store_le32(raw.data() + offsetof(prov::RecordHeader, checksum),
             prov::record_checksum(raw.data(), glen));
  prov::Record r;
  uint32_t len = 0;
  EXPECT_EQ(prov::decode_record(raw.data(), *n, &r, &len), prov::DecodeError::kBadVersion);
  EXPECT_LT(created, 200u);
}

// A truncation to 0 empties what every open handle wrote: each handle's next write is
// logged again, so a writer that held the file across it (a daemon beside logrotate's
// copytruncate) is named as writing the emptied file, and one that writes nothing is not.
TEST(BentoProv, AWriteAfterATruncationToZeroIsLoggedAgain) {
  TestFs t(16384, {}, true);
  Request d = t.r;
  d.pid = 4242;
  (void)read_log(*t.fs);
  auto c = t.fs->create(d, kRootIno, "log", 0644, oflag::kWriteOnly | oflag::kCreate);
  ASSERT_TRUE(c.ok());
  const Ino ino = c->entry.ino;
  ASSERT_TRUE(t.fs->write(d, ino, c->open.fh, 0, bytes("secret")).ok());
  ASSERT_TRUE(t.fs->write(d, ino, c->open.fh, 6, bytes("more")).ok());  // not logged
  SetAttr sa;
  sa.valid = SetAttr::kSize;
  sa.size = 0;
  ASSERT_TRUE(t.fs->setattr(t.r, ino, sa, 0).ok());
  ASSERT_TRUE(t.fs->write(d, ino, c->open.fh, 0, bytes("after")).ok());  // logged again
  auto o = t.fs->open(t.r, ino, oflag::kWriteOnly | oflag::kTruncate);   // `: > log`
  ASSERT_TRUE(o.ok());
  ASSERT_TRUE(t.fs->release(t.r, ino, o->fh, 0).ok());
  ASSERT_TRUE(t.fs->write(d, ino, c->open.fh, 0, bytes("again")).ok());  // logged again
  ASSERT_TRUE(t.fs->release(d, ino, c->open.fh, 0).ok());
  auto log = read_log(*t.fs);
  std::vector<RecordType> want = {
      RecordType::kTrackingStart, RecordType::kCreate, RecordType::kWrite,
      RecordType::kTruncate,      RecordType::kWrite,  RecordType::kOpen,
      RecordType::kRelease,       RecordType::kWrite,  RecordType::kRelease};
  EXPECT_EQ(types(log), want);
}

TEST(BentoProv, LiveUpgradeSwitchesTrackingOnAndOffWithCarriedHandles) {
  TestFs t;  // plain Bento-fs
  auto e = t.create(kRootIno, "in");
  t.write(e.ino, 0, "input");
  auto before = t.fs->open(t.r, e.ino, oflag::kReadWrite);  // opened before tracking
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(read_log(*t.fs).empty());  // plain: no records

  auto upgrade = [&](bool track) {
    auto st = t.fs->update_prepare();
    ASSERT_TRUE(st.ok()) << st.error();
    auto next = std::make_unique<BentoFs>(track);
    ASSERT_TRUE(next->update_transfer(*st, *t.dev).ok());
    t.fs->destroy(t.r);
    t.fs = std::move(next);
  };
  upgrade(true);
  Request w;
  w.pid = 555;
  w.uid = 33;
  ASSERT_TRUE(t.fs->write(w, e.ino, before->fh, 5, bytes("+more")).ok());
  ASSERT_TRUE(t.fs->release(w, e.ino, before->fh, 0).ok());
  upgrade(false);
  t.create(kRootIno, "untracked");
  auto log = read_log(*t.fs);
  ASSERT_EQ(types(log), (std::vector<RecordType>{RecordType::kTrackingStart,
                                                 RecordType::kHandleCarried, RecordType::kWrite,
                                                 RecordType::kRelease, RecordType::kTrackingStop}));
  EXPECT_EQ(log[0].aux, 1u);
  EXPECT_EQ(log[1].ino, e.ino);
  EXPECT_EQ(log[1].gen, e.generation);
  EXPECT_EQ(log[1].fh, before->fh);
  EXPECT_EQ(log[1].flags, oflag::kReadWrite);
  EXPECT_EQ(log[2].tid, 555u);
  EXPECT_EQ(log[2].uid, 33u);
  EXPECT_EQ(log[2].gen, e.generation);
  EXPECT_EQ(log[3].fh, before->fh);
  EXPECT_EQ(log[3].aux & prov::kAuxWritten, prov::kAuxWritten);
  EXPECT_EQ(t.read(e.ino), "input+more");
}

TEST(BentoProv, TrackingRefusesAnImageWithoutALogArea) {
  FormatOptions o;
  o.prov_log_blocks = 0;
  auto dev = ImageDevice::memory(16384);
  o.device_is_zeroed = true;
  ASSERT_TRUE(format_device(*dev, o).ok());
  BentoFs prov(true);
  EXPECT_EQ(prov.init({}, *dev, {}).error(), EOPNOTSUPP);
  BentoFs plain;
  ASSERT_TRUE(plain.init({}, *dev, {}).ok());  // plain Bento-fs mounts it
  plain.destroy({});
}

// A checkpoint held in its write-back (hundreds of ms on a busy disk). Records of
// operations that change nothing but the log (open, first read, release) go on meanwhile
// either way, as those operations do on plain Bento-fs. An operation that changes the file
// system goes on too where the checkpoint writes around the cache (`write_around`), and
// waits where it writes the live buffers (the kernel host's device). All of them end up in
// the log in order, committed after the checkpoint, and a crash image right after is
// consistent.
// A reader's open, first read and release of ino (tid 4242: a first read through a handle
// is recorded per thread); its handle.
Fh open_read_release(TestFs& t, Ino ino) {
  Request u = t.r;
  u.pid = 4242;
  auto op = t.fs->open(u, ino, bento::oflag::kReadOnly);
  EXPECT_TRUE(op.ok());
  const Fh fh = op.ok() ? op->fh : 0;
  uint8_t buf[16];
  EXPECT_TRUE(t.fs->read(u, ino, fh, 0, buf).ok());
  EXPECT_TRUE(t.fs->release(u, ino, fh, 0).ok());
  return fh;
}

void log_only_records_during_a_checkpoint(bool write_around) {
  using namespace std::chrono_literals;
  TestFs t(4096, {}, true);
  t.dev->set_write_around(write_around);
  t.unmount();
  t.mount("commit=600000,noatime");  // commits only when asked; reads change nothing
  auto f = t.create(kRootIno, "f");
  t.write(f.ino, 0, "data");
  ASSERT_TRUE(t.fs->commit_now().ok());
  std::mutex mu;
  std::condition_variable cv;
  bool armed = false, entered = false, gate_open = false;
  std::thread::id checkpointer;  // the commit thread may flush a commit of its own meanwhile
  t.dev->set_flush_hook([&] {    // holds the checkpoint's first flush once armed
    std::unique_lock lk(mu);
    if (!armed || entered || std::this_thread::get_id() != checkpointer) return;
    entered = true;
    cv.notify_all();
    cv.wait(lk, [&] { return gate_open; });
  });
  t.create(kRootIno, "g");  // the checkpoint's own transaction
  {
    std::lock_guard lk(mu);
    armed = true;
  }
  std::thread ckp([&] {
    {
      std::lock_guard lk(mu);
      checkpointer = std::this_thread::get_id();
    }
    EXPECT_TRUE(t.fs->sync_now().ok());
  });
  {
    std::unique_lock lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, 10s, [&] { return entered; })) << "no checkpoint flush";
  }
  auto reader = std::async(std::launch::async, [&] { return open_read_release(t, f.ino); });
  const bool read_in_window = reader.wait_for(10s) == std::future_status::ready;
  auto maker = std::async(std::launch::async, [&] { t.create(kRootIno, "h"); });
  const bool create_waited =
      maker.wait_for(write_around ? 10s : 300ms) == std::future_status::timeout;
  {
    std::lock_guard lk(mu);
    gate_open = true;
    cv.notify_all();
  }
  ckp.join();
  maker.get();
  ASSERT_TRUE(read_in_window) << "open/read/release waited for the checkpoint's write-back";
  if (write_around) {
    EXPECT_FALSE(create_waited) << "a create waited for the checkpoint's write-back";
  } else {
    EXPECT_TRUE(create_waited) << "a change ran inside a checkpoint writing live buffers";
  }
  const Fh fh = reader.get();
  t.dev->set_flush_hook({});

  auto order = [&](const std::vector<Rec>& log) {
    std::vector<std::string> seen;
    uint64_t last_seq = 0;
    for (const auto& r : log) {
      EXPECT_GT(r.seq, last_seq);
      last_seq = r.seq;
      if (r.fh == fh && r.ino == f.ino && r.type == RecordType::kOpen) seen.push_back("open");
      if (r.fh == fh && r.ino == f.ino && r.type == RecordType::kRead) seen.push_back("read");
      if (r.fh == fh && r.ino == f.ino && r.type == RecordType::kRelease) seen.push_back("release");
      if (r.type == RecordType::kCreate && r.name == "h") seen.push_back("create h");
    }
    return seen;
  };
  const std::vector<std::string> want = {"open", "read", "release", "create h"};
  EXPECT_EQ(order(read_log(*t.fs)), want);
  // Committed: a crash now keeps them, and the image is clean.
  auto crashed = ImageDevice::from_bytes(t.dev->durable_bytes());
  BentoFs fs2;
  ASSERT_TRUE(fs2.init(t.r, *crashed, {}).ok());
  EXPECT_EQ(order(read_log(fs2)), want);
  fs2.destroy(t.r);
  auto rep = run_fsck(*crashed, {});
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

TEST(BentoProv, LogOnlyRecordsDoNotWaitForACheckpoint) {
  log_only_records_during_a_checkpoint(false);
}

TEST(BentoProv, NoChangeWaitsForACheckpointWritingFrozenCopies) {
  log_only_records_during_a_checkpoint(true);
}

// A commit quiesces (waits for the handles in progress to end) hundreds of times a second
// under fsync-heavy work. Plain Bento-fs's open, read and release take no handle and never
// wait there; Bento-prov's records of them are deferred to the commit's hook instead of
// waiting too, and still go in before any later record, committed with that commit.
TEST(BentoProv, LogOnlyRecordsDoNotWaitForACommitsQuiescentWindow) {
  using namespace std::chrono_literals;
  TestFs t(4096, {}, true);
  t.unmount();
  t.mount("commit=600000,noatime");  // commits only when asked; reads change nothing
  auto f = t.create(kRootIno, "f");
  t.write(f.ino, 0, "data");
  ASSERT_TRUE(t.fs->commit_now().ok());
  t.create(kRootIno, "g");                // something for the commit below to commit
  auto held = FsAccess::begin(*t.fs, 1);  // an operation in progress
  ASSERT_TRUE(held.ok());
  std::thread committer([&] { EXPECT_TRUE(t.fs->commit_now().ok()); });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!FsAccess::quiescing(*t.fs) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  const bool quiescing = FsAccess::quiescing(*t.fs);
  auto reader = std::async(std::launch::async, [&] { return open_read_release(t, f.ino); });
  const bool read_in_window = reader.wait_for(10s) == std::future_status::ready;
  auto maker = std::async(std::launch::async, [&] { t.create(kRootIno, "h"); });
  const bool create_waited = maker.wait_for(300ms) == std::future_status::timeout;
  held->end();
  committer.join();
  maker.get();
  ASSERT_TRUE(quiescing) << "the commit never quiesced";
  ASSERT_TRUE(read_in_window) << "open/read/release waited for the commit's quiescent window";
  EXPECT_TRUE(create_waited) << "a change began while the journal quiesced";
  const Fh fh = reader.get();

  // In log order, after what came before them and before the create that waited; their
  // times are theirs (before the create's), and the commit that held them committed them.
  auto order = [&](const std::vector<Rec>& log) {
    std::vector<std::string> seen;
    uint64_t last_seq = 0, release_ns = 0, create_ns = 0;
    for (const auto& r : log) {
      EXPECT_GT(r.seq, last_seq);
      last_seq = r.seq;
      if (r.type == RecordType::kCreate && r.name == "g") seen.push_back("create g");
      if (r.fh == fh && r.ino == f.ino && r.type == RecordType::kOpen) seen.push_back("open");
      if (r.fh == fh && r.ino == f.ino && r.type == RecordType::kRead) seen.push_back("read");
      if (r.fh == fh && r.ino == f.ino && r.type == RecordType::kRelease) {
        seen.push_back("release");
        release_ns = r.monotonic_ns;
      }
      if (r.type == RecordType::kCreate && r.name == "h") {
        seen.push_back("create h");
        create_ns = r.monotonic_ns;
      }
    }
    if (create_ns != 0) {
      EXPECT_LT(release_ns, create_ns);
    }
    return seen;
  };
  const std::vector<std::string> want = {"create g", "open", "read", "release"};
  auto durable = [&] {
    auto crashed = ImageDevice::from_bytes(t.dev->durable_bytes());
    BentoFs fs2;
    EXPECT_TRUE(fs2.init(t.r, *crashed, {}).ok());
    auto seen = order(read_log(fs2));
    fs2.destroy(t.r);
    auto rep = run_fsck(*crashed, {});
    EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
    return seen;
  };
  // The quiescing commit took them (its hook ran after they were deferred): a crash now
  // keeps them; the create that waited is in the next transaction.
  std::vector<std::string> seen = durable();
  seen.erase(std::remove(seen.begin(), seen.end(), "create h"), seen.end());
  EXPECT_EQ(seen, want);
  ASSERT_TRUE(t.fs->commit_now().ok());
  std::vector<std::string> all = want;
  all.push_back("create h");
  EXPECT_EQ(order(read_log(*t.fs)), all);
  EXPECT_EQ(durable(), all);
}

// Crash at every flush of a tracked workload: replaying the surviving log over an empty
// root must give exactly the surviving directory (an effect survives iff its record does).
TEST(BentoProv, CrashImagesKeepEffectsAndRecordsTogether) {
  TestFs t(4096, {}, true);
  t.unmount();
  t.mount("commit=600000");
  t.dev->start_recording();
  for (int i = 0; i < 24; i++) {
    std::string n = "f" + std::to_string(i);
    auto c = t.create(kRootIno, n);
    t.write(c.ino, 0, std::string(100 * (i + 1), 'x'));
    if (i % 3 == 1) {
      ASSERT_TRUE(t.fs->rename(t.r, kRootIno, n, kRootIno, "r" + std::to_string(i), 0).ok());
    }
    if (i % 4 == 2) {  // a fresh file renamed over an existing one
      t.create(kRootIno, "t" + std::to_string(i));
      ASSERT_TRUE(t.fs->rename(t.r, kRootIno, "t" + std::to_string(i), kRootIno, "f0", 0).ok());
    }
    if (i % 5 == 3) {
      ASSERT_TRUE(t.fs->link(t.r, c.ino, kRootIno, "l" + std::to_string(i)).ok());
    }
    if (i % 6 == 5) {
      ASSERT_TRUE(t.fs->unlink(t.r, kRootIno, n).ok());
    }
    if (i % 2 == 0) {
      ASSERT_TRUE(t.fs->commit_now().ok());  // a flush point
    }
  }
  ASSERT_TRUE(t.fs->commit_now().ok());
  size_t total = t.dev->recorded();
  int checked = 0;
  for (size_t n = 0; n <= total; n++) {
    if (!(n > 0 && t.dev->record_is_flush(n - 1)) && n != total) continue;
    auto img = t.dev->image_after(n);
    auto d = ImageDevice::from_bytes(img);
    BentoFs fs;  // plain: reads the log, adds nothing but a tracking-stop
    ASSERT_TRUE(fs.init(t.r, *d, {}).ok()) << "prefix " << n;
    std::map<std::string, uint64_t> model;
    for (const auto& r : read_log(fs)) {
      switch (r.type) {
        case RecordType::kCreate:
        case RecordType::kLink:
          model[r.name] = r.ino;
          break;
        case RecordType::kRename:
          model.erase(r.name);
          model[r.name2] = r.ino;
          break;
        case RecordType::kUnlink:
          model.erase(r.name);
          break;
        default:
          break;
      }
    }
    VecFiller f;
    ASSERT_TRUE(fs.readdir(t.r, kRootIno, 0, 0, f).ok());
    std::map<std::string, uint64_t> actual;
    for (auto& it : f.items)
      if (it.name != "." && it.name != "..") actual[it.name] = it.ino;
    ASSERT_EQ(model, actual) << "crash after write " << n << " of " << total;
    fs.destroy(t.r);
    checked++;
  }
  EXPECT_GT(checked, 10);
}

// O_TMPFILE: a kCreate with the directory as parent, an empty name, the open flags (with
// O_TMPFILE's bits) and the handle; naming it later is the ordinary kLink. A fallocate that
// changes content (or grows the file) is a kWrite marked as one (gen2), with its range.
TEST(BentoProv, TmpfileAndFallocateRecords) {
  TestFs t(16384, {}, true);
  Request u = user_req(0, 0);
  u.pid = 777;
  auto dir = t.fs->mkdir(t.r, kRootIno, "d", 0777);
  ASSERT_TRUE(dir.ok());
  const uint32_t flags = oflag::kReadWrite | oflag::kTmpFile;
  auto tf = t.fs->tmpfile(u, dir->ino, 0600, flags);
  ASSERT_TRUE(tf.ok());
  ASSERT_TRUE(t.fs->write(u, tf->entry.ino, tf->open.fh, 0, bytes("data")).ok());
  ASSERT_TRUE(t.fs->link(u, tf->entry.ino, dir->ino, "named").ok());
  ASSERT_TRUE(
      t.fs->fallocate(u, tf->entry.ino, tf->open.fh, falloc::kPunchHole | falloc::kKeepSize, 1, 2)
          .ok());
  ASSERT_TRUE(t.fs->fallocate(u, tf->entry.ino, tf->open.fh, falloc::kKeepSize, 0, 8192).ok());
  ASSERT_TRUE(t.fs->fallocate(u, tf->entry.ino, tf->open.fh, 0, 0, 4).ok());     // within: none
  ASSERT_TRUE(t.fs->fallocate(u, tf->entry.ino, tf->open.fh, 0, 0, 4096).ok());  // grows it
  ASSERT_TRUE(t.fs->release(u, tf->entry.ino, tf->open.fh, 0).ok());
  auto log = read_log(*t.fs);
  std::vector<Rec> mine;
  for (const auto& r : log)
    if (r.ino == tf->entry.ino) mine.push_back(r);
  ASSERT_EQ(types(mine), (std::vector<RecordType>{RecordType::kCreate, RecordType::kWrite,
                                                  RecordType::kLink, RecordType::kWrite,
                                                  RecordType::kWrite, RecordType::kRelease}));
  EXPECT_EQ(mine[0].parent, dir->ino);
  EXPECT_EQ(mine[0].name, "");
  EXPECT_EQ(mine[0].flags, flags);
  EXPECT_EQ(mine[0].fh, tf->open.fh);
  EXPECT_EQ(mine[0].tid, 777u);
  EXPECT_EQ(mine[1].gen2, 0u);  // write(2)
  EXPECT_EQ(mine[2].name, "named");
  EXPECT_EQ(mine[2].parent, dir->ino);
  EXPECT_EQ(mine[3].gen2, prov::kGen2Fallocate | falloc::kPunchHole | falloc::kKeepSize);
  EXPECT_EQ(mine[3].aux, 1u);
  EXPECT_EQ(mine[3].ino2, 2u);
  EXPECT_EQ(mine[3].fh, tf->open.fh);
  // The preallocations within the file (KEEP_SIZE, or mode 0 below its size) changed no
  // content: no record. Growing it (`fallocate -l 4096`: zeros past its end) did.
  EXPECT_EQ(mine[4].gen2, prov::kGen2Fallocate);
  EXPECT_EQ(mine[4].aux, 0u);
  EXPECT_EQ(mine[4].ino2, 4096u);
  EXPECT_EQ(mine[5].aux & prov::kAuxWritten, prov::kAuxWritten);
}

// Extended attributes carry data (record format 3): a set or removed attribute of any
// namespace is a kSetxattr record in the change's own transaction; a user.* or trusted.*
// value read back (not the size probe before it) a kGetxattr; a security.* read (the
// kernel's own check on every write) none.
TEST(BentoProv, ExtendedAttributeRecords) {
  TestFs t(16384, {}, true);
  Request u = user_req(0, 0);
  u.pid = 515;
  auto c = t.fs->create(u, kRootIno, "carrier", 0644, oflag::kWriteOnly | oflag::kCreate);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(t.fs->release(u, c->entry.ino, c->open.fh, 0).ok());
  const Ino ino = c->entry.ino;
  ASSERT_TRUE(t.fs->setxattr(u, ino, "user.hidden", bytes("secret"), 0).ok());
  ASSERT_TRUE(t.fs->setxattr(u, ino, "security.capability", bytes("cap"), 0).ok());
  std::string out(16, '\0');
  std::span<uint8_t> buf{reinterpret_cast<uint8_t*>(out.data()), out.size()};
  EXPECT_EQ(*t.fs->getxattr(u, ino, "user.hidden", {}), 6u);  // the size probe
  EXPECT_EQ(*t.fs->getxattr(u, ino, "user.hidden", buf), 6u);
  EXPECT_EQ(*t.fs->getxattr(u, ino, "security.capability", buf), 3u);
  EXPECT_EQ(t.fs->getxattr(u, ino, "user.absent", buf).error(), ENODATA);
  ASSERT_TRUE(t.fs->removexattr(u, ino, "user.hidden").ok());
  auto log = read_log(*t.fs);
  std::vector<Rec> mine;
  for (const auto& r : log)
    if (r.ino == ino && r.type != RecordType::kCreate && r.type != RecordType::kRelease)
      mine.push_back(r);
  ASSERT_EQ(types(mine), (std::vector<RecordType>{RecordType::kSetxattr, RecordType::kSetxattr,
                                                  RecordType::kGetxattr, RecordType::kSetxattr}));
  EXPECT_EQ(mine[0].name, "user.hidden");
  EXPECT_EQ(mine[0].aux, 6u);
  EXPECT_EQ(mine[0].flags, 0u);
  EXPECT_EQ(mine[0].tid, 515u);
  EXPECT_EQ(mine[1].name, "security.capability");
  EXPECT_EQ(mine[2].name, "user.hidden");
  EXPECT_EQ(mine[2].aux, 6u);
  EXPECT_EQ(mine[3].name, "user.hidden");
  EXPECT_EQ(mine[3].flags, prov::kXattrRemoved);
}

// A directory's listing is data its reader takes in (record format 4): the first readdir
// through a handle by each thread is a kReaddir record naming the directory, its
// generation and the handle; the rest of the same pass, none; a listing through an
// unknown handle (no opendir) none.
TEST(BentoProv, DirectoryListingRecords) {
  TestFs t(16384, {}, true);
  Request u = user_req(0, 0);
  u.pid = 616;
  auto d = t.fs->mkdir(u, kRootIno, "d", 0755);
  ASSERT_TRUE(d.ok());
  for (const char* n : {"a", "b", "c"}) t.create(d->ino, n);
  auto od = t.fs->opendir(u, d->ino, 0);
  ASSERT_TRUE(od.ok());
  VecFiller first(2), rest;
  ASSERT_TRUE(t.fs->readdir(u, d->ino, od->fh, 0, first).ok());
  ASSERT_TRUE(t.fs->readdir(u, d->ino, od->fh, first.items.back().next, rest).ok());
  Request other = u;
  other.pid = 617;  // another thread lists through the same handle
  VecFiller again;
  ASSERT_TRUE(t.fs->readdir(other, d->ino, od->fh, 0, again).ok());
  ASSERT_TRUE(t.fs->releasedir(u, d->ino, od->fh).ok());
  VecFiller stray;
  (void)t.fs->readdir(u, d->ino, 0, 0, stray);
  std::vector<Rec> mine;
  for (const auto& r : read_log(*t.fs))
    if (r.ino == d->ino && r.type != RecordType::kMkdir) mine.push_back(r);
  ASSERT_EQ(types(mine), (std::vector<RecordType>{RecordType::kReaddir, RecordType::kReaddir}));
  EXPECT_EQ(mine[0].tid, 616u);
  EXPECT_EQ(mine[0].gen, d->generation);
  EXPECT_EQ(mine[0].fh, od->fh);
  EXPECT_EQ(mine[0].aux, 0u);
  EXPECT_EQ(mine[1].tid, 617u);
}

// fsck -y rebuilding a damaged log header keeps the acknowledged cursor when the records
// from it verify: a collector resumes where it was (same logical offsets, same records),
// instead of being handed everything it already stored again.
TEST(BentoProv, RebuiltHeaderKeepsTheAcknowledgedCursor) {
  TestFs t(16384, {}, true);
  for (int i = 0; i < 5; i++) t.create(kRootIno, "old" + std::to_string(i));
  ASSERT_TRUE(t.fs->commit_now().ok());
  const uint64_t acked = t.fs->getattr(t.r, BentoFs::kProvLogIno, 0)->size;
  ASSERT_TRUE(
      t.fs->setxattr(t.r, BentoFs::kProvLogIno, prov::kXattrAck, bytes(std::to_string(acked)), 0)
          .ok());
  for (int i = 0; i < 5; i++) t.create(kRootIno, "new" + std::to_string(i));
  t.unmount();
  t.mount();
  const auto before = read_log(*t.fs);
  ASSERT_FALSE(before.empty());
  t.unmount();
  std::vector<uint8_t> img = t.dev->durable_bytes();
  SuperBlock sb;
  memcpy(&sb, img.data(), sizeof sb);
  const Geometry g = Geometry::from(sb);
  img[g.prov_start * 4096 + 17] ^= 0x01;  // capacity: the header no longer verifies
  t.dev = ImageDevice::from_bytes(img);
  FsckOptions y;
  y.repair = true;
  auto r = run_fsck(*t.dev, y);
  EXPECT_EQ(r.exit_code, 1);
  std::string fixed;
  for (const auto& f : r.fixed)
    if (f.find("provenance log header rebuilt") != std::string::npos) fixed = f;
  EXPECT_NE(fixed.find("acknowledged cursor (offset " + std::to_string(acked) + ") is kept"),
            std::string::npos)
      << fixed;
  EXPECT_NE(fixed.find(" 0 dropped"), std::string::npos) << fixed;
  t.mount();
  const auto after = read_log(*t.fs);
  ASSERT_GE(after.size(), before.size());
  for (size_t i = 0; i < before.size(); i++) {
    EXPECT_EQ(after[i].seq, before[i].seq);
    EXPECT_EQ(after[i].name, before[i].name);
  }
  t.unmount();
}

// The cursor itself damaged, and a record after it: the records up to the damage are
// kept (the readers see them again, from the start of the run), the rest are counted as
// dropped, and the message says both.
TEST(BentoProv, RebuiltHeaderSaysWhatWasDroppedAndThatTheCursorIsLost) {
  TestFs t(16384, {}, true);
  for (int i = 0; i < 5; i++) t.create(kRootIno, "a" + std::to_string(i));
  ASSERT_TRUE(t.fs->commit_now().ok());
  const uint64_t cut = t.fs->getattr(t.r, BentoFs::kProvLogIno, 0)->size;
  for (int i = 0; i < 5; i++) t.create(kRootIno, "b" + std::to_string(i));
  ASSERT_TRUE(t.fs->commit_now().ok());
  const uint64_t end = t.fs->getattr(t.r, BentoFs::kProvLogIno, 0)->size;
  const auto all = read_log(*t.fs);
  t.unmount();
  std::vector<uint8_t> img = t.dev->durable_bytes();
  SuperBlock sb;
  memcpy(&sb, img.data(), sizeof sb);
  const Geometry g = Geometry::from(sb);
  uint8_t* hdr = img.data() + g.prov_start * 4096;
  hdr[__builtin_offsetof(prov::ProvLogHeader, head)] ^= 0x04;  // misaligned cursor
  ASSERT_LT(cut / 4096, g.prov_blocks - 1);
  img[(g.prov_start + prov::ring_block(cut, g.prov_blocks)) * 4096 + cut % 4096 + 9] ^= 0x40;
  t.dev = ImageDevice::from_bytes(img);
  FsckOptions y;
  y.repair = true;
  auto r = run_fsck(*t.dev, y);
  EXPECT_EQ(r.exit_code, 1);
  std::string fixed;
  for (const auto& f : r.fixed)
    if (f.find("provenance log header rebuilt") != std::string::npos) fixed = f;
  EXPECT_NE(fixed.find("the acknowledged cursor is lost"), std::string::npos) << fixed;
  size_t kept_n = 0, dropped_n = 0;
  ASSERT_EQ(sscanf(fixed.c_str(), "provenance log header rebuilt: %zu record(s) kept, %zu dropped",
                   &kept_n, &dropped_n),
            2)
      << fixed;
  EXPECT_GT(kept_n, 0u);
  EXPECT_GT(dropped_n, 0u);
  // Kept: the records before the damaged one; dropped: it and every later one, as the old
  // header's next_seq says.
  EXPECT_GE(kept_n + dropped_n, all.size()) << fixed << " (" << end << " bytes)";
  FsckOptions n;
  n.replay_journal = false;
  EXPECT_EQ(run_fsck(*t.dev, n).exit_code, 0);
  t.mount();
  const auto after = read_log(*t.fs);
  ASSERT_GE(after.size(), kept_n);
  EXPECT_EQ(after.front().seq, all.front().seq);
  t.unmount();
}

}  // namespace
}  // namespace bentofs::test
