// Provenance: reserving and appending records around operations, tracking sessions across
// mounts and live upgrades, and the hidden log file (format/prov_log.h "On the wire").
#include <bento/log.h>
#include <bento/time.h>

#include "core/bento_fs.h"

namespace bentofs {

using prov::RecordType;

Result<ProvLog::Ticket> BentoFs::prov_reserve(size_t name_len, size_t name2_len, uint64_t extra) {
  if (!tracking()) return ProvLog::Ticket();
  return prov_.reserve(name_len, name2_len, extra);
}

Status BentoFs::prov_append(Handle& h, const Request& req, const ProvDraft& d, ProvLog::Ticket& t) {
  if (!t.valid()) return Status::Ok();
  return prov_.append(h, req, d, t);
}

// The handle touches nothing but the log, so it need not wait out a checkpoint's
// write-back (Journal::begin_log_only), nor a commit's quiescent window: then the record
// is deferred to that commit's hook or the next append (ProvLog::defer). So reads, opens
// and closes of Bento-prov do not stall on commits when plain Bento-fs's, which take no
// handle, do not (fsync-heavy work commits hundreds of times a second). Either way the
// record commits no later than any handle that begins after it (an effect the caller
// makes next: a truncation).
Status BentoFs::prov_alone(const Request& req, const ProvDraft& d, ProvLog::Ticket& t) {
  if (!t.valid()) return Status::Ok();
  auto h = journal_->try_begin_log_only(ProvLog::kCredits);
  if (!h.ok() && h.error() == EAGAIN) {
    if (prov_.defer(*journal_, req, d, t)) return Status::Ok();
    h = journal_->begin_log_only(ProvLog::kCredits);  // it moved on, or no room to defer
  }
  if (!h.ok()) return Err(h.error());
  return prov_.append(*h, req, d, t);
}

Status BentoFs::prov_flush_deferred() {
  if (!prov_.has_deferred()) return Status::Ok();
  BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin_log_only(ProvLog::kCredits));
  return prov_.flush_deferred(h);
}

bool BentoFs::note_access(Fh fh, uint32_t tid, bool write, OpenFile* out, bool* fresh) {
  auto g = handles_.lock();
  OpenFile* f = g->find(fh);
  if (f == nullptr) return false;
  if (write) {
    *fresh = f->last_writer != tid;  // noted once the write succeeds (note_written)
  } else {
    *fresh = f->last_reader != tid;
    f->last_reader = tid;
  }
  *out = *f;
  return true;
}

void BentoFs::note_written(Fh fh, uint32_t tid) {
  auto g = handles_.lock();
  OpenFile* f = g->find(fh);
  if (f == nullptr) return;
  f->wrote = true;
  f->last_write_ns = bento::now_monotonic_ns();  // causality: no write through fh after it
  f->last_writer = tid;
}

void BentoFs::forget_writers(Ino ino) {
  auto g = handles_.lock();
  g->for_each([&](const Fh&, OpenFile& f) {
    if (f.ino == ino) f.last_writer = 0;
  });
}

// Mount or upgrade: a tracking instance starts a session (and, after an upgrade from the
// plain module, lists the handles it inherited, so their later writes and closes are
// attributed); a plain instance closes a session a tracking one left open.
Status BentoFs::prov_session(bool upgraded) {
  if (!prov_.present() || read_only_) return Status::Ok();
  bool was_tracking = false;
  {
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev_->bread(geo_.prov_start));
    prov::ProvLogHeader hdr;
    __builtin_memcpy(&hdr, bh.data().data(), sizeof hdr);
    was_tracking = hdr.tracking.get() != 0;
  }
  const Request sys{};  // records of the file system itself: tid 0, uid 0
  Status st = Status::Ok();
  if (tracking_) {
    // Handles carried over keep room for their release records.
    bento::Vec<Fh> fhs;
    bento::Vec<OpenFile> files;
    {
      auto g = handles_.lock();
      g->for_each([&](const Fh& fh, OpenFile& f) {
        if (!f.is_dir && st.ok()) st = fhs.push_back(fh);
        if (!f.is_dir && st.ok()) st = files.push_back(f);
      });
    }
    BENTO_TRY(st);
    // Carried handles learn their inode's generation (their records carry it).
    for (size_t i = 0; i < files.size(); i++) {
      if (auto di = read_inode(files[i].ino); di.ok()) files[i].gen = di->generation.get();
      auto g = handles_.lock();
      if (OpenFile* f = g->find(fhs[i])) {
        f->gen = files[i].gen;
        f->release_room = true;  // held just below
      }
    }
    prov_.hold_for_handles(fhs.size());
    if (upgraded && was_tracking) return Status::Ok();  // the same session goes on
    BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(ProvLog::kCredits * (2 + fhs.size())));
    BENTO_ASSIGN_OR_RETURN(ProvLog::Ticket t, prov_.reserve(0, 0));
    ProvDraft d;
    d.type = RecordType::kTrackingStart;
    d.aux = fhs.size();
    BENTO_TRY(prov_.append(h, sys, d, t));
    for (size_t i = 0; i < fhs.size(); i++) {
      BENTO_ASSIGN_OR_RETURN(ProvLog::Ticket tc, prov_.reserve(0, 0));
      ProvDraft c;
      c.type = RecordType::kHandleCarried;
      c.ino = files[i].ino;
      c.flags = files[i].flags;
      c.fh = fhs[i];
      c.aux = files[i].wrote ? prov::kAuxWritten : 0;
      c.gen = files[i].gen;
      BENTO_TRY(prov_.append(h, sys, c, tc));
    }
    return prov_.set_tracking(h, true);
  }
  if (!was_tracking) return Status::Ok();
  BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(ProvLog::kCredits));
  // A plain instance closes the session; it needs no room reserved by anyone.
  auto t = prov_.reserve(0, 0);
  if (t.ok()) {
    ProvDraft d;
    d.type = RecordType::kTrackingStop;
    BENTO_TRY(prov_.append(h, sys, d, *t));
  } else {
    bento::log(bento::LogLevel::kWarning, "bento-fs: provenance log full: no tracking-stop record");
  }
  return prov_.set_tracking(h, false);
}

Attr BentoFs::prov_file_attr() {
  Attr a;
  a.ino = kProvLogIno;
  a.size = prov_.durable_tail(journal_ ? journal_->committed_tid() : 0);
  a.mode = bento::mode::kRegular | 0400;
  a.nlink = 1;
  a.blksize = kBlockSize;
  a.mtime = a.ctime = a.atime = bento::now_realtime();
  return a;
}

Result<Entry> BentoFs::prov_file_entry(const Request& req) {
  if (!prov_.present()) return Err(ENOENT);
  if (req.uid != 0) return Err(ENOENT);  // root only; others do not see it at all
  Entry e;
  e.ino = kProvLogIno;
  e.generation = 1;
  e.attr = prov_file_attr();
  e.entry_timeout_ms = 0;  // never cached: a non-root lookup must reach us
  e.attr_timeout_ms = 0;   // the size grows
  return e;
}

Status BentoFs::prov_file_setxattr(const Request& req, std::string_view name,
                                   std::span<const uint8_t> value) {
  if (req.uid != 0) return Err(EPERM);
  if (name != prov::kXattrAck) return Err(EPERM);
  if (value.empty() || value.size() > 20) return Err(EINVAL);
  uint64_t off = 0;
  for (uint8_t c : value) {
    if (c < '0' || c > '9') return Err(EINVAL);
    uint64_t next = off * 10 + (c - '0');
    if (next < off) return Err(EINVAL);
    off = next;
  }
  if (read_only_) return Err(EROFS);
  BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(ProvLog::kCredits));
  return prov_.ack(h, off, journal_->committed_tid());
}

Result<size_t> BentoFs::prov_file_getxattr(const Request& req, std::string_view name,
                                           std::span<uint8_t> buf) {
  if (req.uid != 0) return Err(EACCES);
  if (name != prov::kXattrInfo) return Err(ENODATA);
  char tmp[512];
  size_t n = prov_.info(tmp, sizeof tmp, journal_->committed_tid(), tracking());
  if (n > sizeof tmp) return Err(EIO);
  if (buf.empty()) return n;
  if (buf.size() < n) return Err(ERANGE);
  __builtin_memcpy(buf.data(), tmp, n);
  return n;
}

Result<size_t> BentoFs::prov_file_listxattr(const Request& req, std::span<char> buf) {
  if (req.uid != 0) return size_t{0};
  constexpr size_t n = sizeof(prov::kXattrInfo);  // with its NUL
  if (buf.empty()) return n;
  if (buf.size() < n) return Err(ERANGE);
  __builtin_memcpy(buf.data(), prov::kXattrInfo, n);
  return n;
}

}  // namespace bentofs
