// The provenance log: see prov_log.h and format/prov_log.h.
#include "core/prov_log.h"

#include <bento/log.h>
#include <bento/time.h>

#include "core/text_out.h"

namespace bentofs {

namespace {

using prov::kLogBlockSize;

}  // namespace

ProvLog::Ticket& ProvLog::Ticket::operator=(Ticket&& o) noexcept {
  if (this != &o) {
    release();
    log_ = o.log_;
    bytes_ = o.bytes_;
    unrecorded_ = o.unrecorded_;
    o.log_ = nullptr;
  }
  return *this;
}

void ProvLog::Ticket::release() {
  if (log_ != nullptr && bytes_ != 0) log_->unreserve(bytes_);
  log_ = nullptr;
  bytes_ = 0;
  unrecorded_ = false;
}

void ProvLog::Ticket::keep(uint64_t bytes) {
  bytes_ = bytes < bytes_ ? bytes_ - bytes : 0;
}

Status ProvLog::load(BlockDevice& dev, uint64_t start, uint64_t blocks, uint64_t floor_tid,
                     const char** why) {
  dev_ = &dev;
  start_ = start;
  blocks_ = blocks;
  if (blocks == 0) return Status::Ok();
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev.bread(start));
  auto g = st_.lock();
  __builtin_memcpy(&g->hdr, bh.data().data(), sizeof(g->hdr));
  if (const char* w = prov::check_header(g->hdr, blocks)) {
    *why = w;
    blocks_ = 0;
    return Err(EUCLEAN);
  }
  g->reserved = 0;
  g->npending = 0;
  g->hdr_dirty = false;
  g->hdr_tid = g->tail_tid = 0;
  g->tail_block = 0;
  g->durable = g->hdr.tail.get();
  if (floor_tid != 0) {
    // Handed over by a live upgrade: what is in the cache may not be committed yet.
    g->pending[0] = {floor_tid, g->hdr.tail.get()};
    g->npending = 1;
    g->durable = g->hdr.head.get();
  }
  return Status::Ok();
}

void ProvLog::unreserve(uint64_t bytes) {
  auto g = st_.lock();
  g->reserved = bytes < g->reserved ? g->reserved - bytes : 0;
}

Result<ProvLog::Ticket> ProvLog::reserve(size_t name_len, size_t name2_len, uint64_t extra) {
  if (!present()) return Err(EOPNOTSUPP);
  // A record may need a pad before it (less than its own length): reserve twice its size,
  // and room for the pending gap's record, which goes first.
  uint64_t need = 2ULL * prov::record_len(name_len, name2_len) + extra;
  auto g = st_.lock();
  if (g->hdr.gap_records.get() != 0) need += 2ULL * prov::record_len(0, 0);
  uint64_t used = g->hdr.tail.get() - g->hdr.head.get();
  Ticket t;
  t.log_ = this;
  if (used + g->reserved + need > g->hdr.capacity.get()) {
    t.unrecorded_ = true;  // the operation goes on; append() counts its record
    return t;
  }
  g->reserved += need;
  t.bytes_ = need;
  return t;
}

void ProvLog::count_gap(State& s, const ProvDraft& d) {
  using prov::RecordType;
  bool mutating = true;
  if (d.type == RecordType::kRead || d.type == RecordType::kGetxattr ||
      d.type == RecordType::kReaddir) {
    mutating = false;
  } else if (d.type == RecordType::kOpen || d.type == RecordType::kHandleCarried) {
    mutating = bento::oflag::writes(d.flags) || (d.flags & bento::oflag::kTruncate) != 0;
  } else if (d.type == RecordType::kRelease) {
    mutating = (d.aux & prov::kAuxWritten) != 0;
  }
  uint64_t now = static_cast<uint64_t>(bento::now_monotonic_ns());
  if (s.hdr.gap_records.get() == 0) s.hdr.gap_first_ns.set(now);
  s.hdr.gap_last_ns.set(now);
  s.hdr.gap_records.set(s.hdr.gap_records.get() + 1);
  if (mutating) s.hdr.gap_mutating.set(s.hdr.gap_mutating.get() + 1);
  s.hdr.refused.set(s.hdr.refused.get() + 1);
  uint64_t refused = s.hdr.refused.get();
  if (refused >= 2 * s.refused_logged || refused == 1) {
    s.refused_logged = refused;
    char msg[200];
    TextOut out(msg, sizeof msg);
    out.str("bento-prov: provenance log full (")
        .num(s.hdr.tail.get() - s.hdr.head.get())
        .str(" bytes unacknowledged): records not written (")
        .num(refused)
        .str(" so far, a gap record follows); run the collector");
    bento::log(bento::LogLevel::kWarning, out.view());
  }
}

ProvLog::Ticket ProvLog::held(uint64_t bytes) {
  Ticket t;
  t.log_ = this;
  t.bytes_ = bytes;
  return t;
}

void ProvLog::hold_for_handles(uint64_t handles) {
  st_.lock()->reserved += handles * kReleaseRoom;
}

Status ProvLog::register_block_locked(Handle& h, State& s, uint64_t off) {
  uint64_t block = start_ + prov::ring_block(off, blocks_);
  if (s.tail_tid == h.tid() && s.tail_block == block) return Status::Ok();
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(block));
  s.tail_tid = h.tid();
  s.tail_block = block;
  return Status::Ok();
}

Status ProvLog::write_at_locked(Handle& h, State& s, uint64_t off, const uint8_t* data,
                                uint32_t len) {
  BENTO_TRY(register_block_locked(h, s, off));
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(start_ + prov::ring_block(off, blocks_)));
  __builtin_memcpy(bh.data_mut().data() + off % kLogBlockSize, data, len);
  return Status::Ok();
}

Status ProvLog::touch_header(Handle& h, State& s) {
  s.hdr_dirty = true;
  if (s.hdr_tid == h.tid()) return Status::Ok();
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(start_));
  s.hdr_tid = h.tid();
  return Status::Ok();
}

Status ProvLog::flush_header_locked(State& s) {
  if (!s.hdr_dirty) return Status::Ok();
  prov::seal_header(s.hdr);
  // Registered in the transaction (touch_header) and so pinned: a cache hit.
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev_->bread(start_));
  __builtin_memcpy(bh.data_mut().data(), &s.hdr, sizeof(s.hdr));
  s.hdr_dirty = false;
  return Status::Ok();
}

Status ProvLog::commit_hook(void* self, Handle& h) {
  ProvLog* log = static_cast<ProvLog*>(self);
  auto g = log->st_.lock();
  BENTO_TRY(log->drain_locked(h, *g));
  return log->flush_header_locked(*g);
}

Status ProvLog::sync_header() {
  if (!present()) return Status::Ok();
  auto g = st_.lock();
  return flush_header_locked(*g);
}

namespace {

// The fixed fields of a record (all but seq and checksum, which put_locked fills).
void build_record(uint8_t* rec, uint32_t len, const bento::Request& req, const ProvDraft& d,
                  size_t n1, size_t n2, int64_t real_ns, int64_t mono_ns) {
  __builtin_memset(rec, 0, len);
  prov::RecordHeader r;
  __builtin_memset(&r, 0, sizeof r);
  r.len.set(len);
  r.type.set(static_cast<uint16_t>(d.type));
  r.version.set(prov::record_version(d.type));
  r.realtime_ns.set(static_cast<uint64_t>(real_ns));
  r.monotonic_ns.set(static_cast<uint64_t>(mono_ns));
  r.pid.set(0);  // the FUSE host does not know the caller's thread group
  r.tid.set(req.pid);
  r.uid.set(req.uid);
  r.gid.set(req.gid);
  r.ino.set(d.ino);
  r.gen.set(d.gen);
  r.flags.set(d.flags);
  r.parent.set(d.parent);
  r.ino2.set(d.ino2);
  r.gen2.set(d.gen2);
  r.mode.set(d.mode);
  r.fh.set(d.fh);
  r.aux.set(d.aux);
  r.parent2.set(d.parent2);
  r.name_len.set(static_cast<uint16_t>(n1));
  r.name2_len.set(static_cast<uint16_t>(n2));
  __builtin_memcpy(rec, &r, sizeof r);
  if (n1 != 0) __builtin_memcpy(rec + sizeof r, d.name.data(), n1);
  if (n2 != 0) __builtin_memcpy(rec + sizeof r + n1, d.name2.data(), n2);
}

// Fills in a built record's seq and checksum.
void seal_record(uint8_t* rec, uint32_t len, uint64_t seq) {
  Le64 sq;
  sq.set(seq);
  __builtin_memcpy(rec + __builtin_offsetof(prov::RecordHeader, seq), &sq, 8);
  Le32 crc;
  crc.set(prov::record_checksum(rec, len));
  __builtin_memcpy(rec + __builtin_offsetof(prov::RecordHeader, checksum), &crc, 4);
}

// The bytes of a draft's names a record holds (together at most 4095).
void name_lengths(const ProvDraft& d, size_t* n1, size_t* n2) {
  *n1 = d.name.size() < 4095 ? d.name.size() : 4095;
  *n2 = d.name2.size() < 4095 - *n1 ? d.name2.size() : 4095 - *n1;
}

// The fields a deferred record's gap count needs (count_gap), from the built record.
ProvDraft draft_of(const uint8_t* rec) {
  prov::RecordHeader r;
  __builtin_memcpy(&r, rec, sizeof r);
  ProvDraft d;
  d.type = static_cast<prov::RecordType>(r.type.get());
  d.flags = r.flags.get();
  d.aux = r.aux.get();
  return d;
}

// Bytes a record of len takes at tail: a Pad first when the block's rest is too small.
uint64_t room_at(uint64_t tail, uint32_t len) {
  uint32_t room = kLogBlockSize - tail % kLogBlockSize;
  return (room < len ? room : 0) + len;
}

}  // namespace

// A record never straddles a block: when the rest of the tail's block is too small for len
// bytes, a Pad record fills it. Returns where the record goes.
Result<uint64_t> ProvLog::pad_for_locked(Handle& h, State& s, uint32_t len) {
  uint64_t tail = s.hdr.tail.get();
  uint32_t room = kLogBlockSize - tail % kLogBlockSize;
  if (room < len) {
    uint8_t p[prov::kPadHeaderSize] = {};
    store_le32(p, room);
    p[6] = static_cast<uint8_t>(prov::kRecordVersionMin);
    BENTO_TRY(write_at_locked(h, s, tail, p, sizeof p));
    tail += room;
  }
  return tail;
}

Status ProvLog::put_locked(Handle& h, State& s, uint8_t* rec, uint32_t len) {
  seal_record(rec, len, s.hdr.next_seq.get());
  BENTO_ASSIGN_OR_RETURN(uint64_t tail, pad_for_locked(h, s, len));
  BENTO_TRY(write_at_locked(h, s, tail, rec, len));
  s.hdr.tail.set(tail + len);
  s.hdr.next_seq.set(s.hdr.next_seq.get() + 1);
  return Status::Ok();
}

Result<bool> ProvLog::flush_gap_locked(Handle& h, State& s, uint64_t also,
                                       uint64_t held_by_others) {
  if (s.hdr.gap_records.get() == 0) return false;
  constexpr uint32_t len = prov::record_len(0, 0);
  uint64_t used = s.hdr.tail.get() - s.hdr.head.get();
  if (used + room_at(s.hdr.tail.get(), len) + also + held_by_others > s.hdr.capacity.get())
    return false;
  ProvDraft d;
  d.type = prov::RecordType::kGap;
  d.aux = s.hdr.gap_records.get();
  d.ino2 = s.hdr.gap_mutating.get();
  d.parent = s.hdr.gap_first_ns.get();
  d.parent2 = s.hdr.gap_last_ns.get();
  uint8_t rec[len];
  // the fs's own record: tid 0, uid 0
  build_record(rec, len, bento::Request{}, d, 0, 0, bento::now_realtime().to_ns(),
               bento::now_monotonic_ns());
  BENTO_TRY(put_locked(h, s, rec, len));
  s.hdr.gap_records.set(0);
  s.hdr.gap_mutating.set(0);
  s.hdr.gap_first_ns.set(0);
  s.hdr.gap_last_ns.set(0);
  return true;
}

void ProvLog::note_pending(State& s, uint64_t tid, uint64_t tail) {
  // Remember when this transaction's records become durable.
  if (s.npending > 0 && s.pending[s.npending - 1].tid == tid) {
    s.pending[s.npending - 1].tail = tail;
  } else if (s.npending < 8) {
    s.pending[s.npending++] = {tid, tail};
  } else {
    s.pending[7] = {tid, tail};
  }
}

Status ProvLog::drain_locked(Handle& h, State& s) {
  if (s.deferred_len == 0) return Status::Ok();
  // Their tickets' room is consumed (the tail grows instead) or given back.
  s.reserved = s.deferred_room < s.reserved ? s.reserved - s.deferred_room : 0;
  s.deferred_room = 0;
  uint32_t off = 0;
  auto place = [&]() -> Status {
    BENTO_TRY(touch_header(h, s));
    while (off < s.deferred_len) {
      uint8_t* rec = s.deferred + off;
      const uint32_t len = load_le32(rec);  // RecordHeader::len
      // As append(): the pending gap's record first; while it cannot go, records join it.
      BENTO_ASSIGN_OR_RETURN(bool gap_written,
                             flush_gap_locked(h, s, room_at(0, len) * 2, s.reserved));
      const bool fits = s.hdr.gap_records.get() == 0 &&
                        s.hdr.tail.get() - s.hdr.head.get() + room_at(s.hdr.tail.get(), len) <=
                            s.hdr.capacity.get();
      if (fits) {
        BENTO_TRY(put_locked(h, s, rec, len));
        note_pending(s, h.tid(), s.hdr.tail.get());
      } else {
        count_gap(s, draft_of(rec));
        if (gap_written) note_pending(s, h.tid(), s.hdr.tail.get());
      }
      off += len;
    }
    return Status::Ok();
  };
  Status st = place();
  // A failure leaves the rest unwritten: they join the gap (the hole is told, no record is
  // written twice), in the header this handle registered when it could.
  for (; off < s.deferred_len; off += load_le32(s.deferred + off))
    count_gap(s, draft_of(s.deferred + off));
  s.deferred_len = 0;
  h.journal().deferred_done();
  return st;
}

bool ProvLog::defer(Journal& j, const bento::Request& req, const ProvDraft& d, Ticket& t) {
  if (!present() || !t.recorded()) return false;
  size_t n1 = 0, n2 = 0;
  name_lengths(d, &n1, &n2);
  const uint32_t len = prov::record_len(n1, n2);
  auto g = st_.lock();
  if (g->deferred_len + len > kDeferBytes) return false;
  // Under this mutex, which the hook and every append hold while they drain: the commit
  // that tells us to defer has not run its hook yet, or the next one will.
  if (!j.defer_log_only()) return false;
  build_record(g->deferred + g->deferred_len, len, req, d, n1, n2, bento::now_realtime().to_ns(),
               bento::now_monotonic_ns());
  g->deferred_len += len;
  g->deferred_room += t.bytes_;
  t.bytes_ = 0;
  t.log_ = nullptr;
  return true;
}

bool ProvLog::has_deferred() {
  return st_.lock()->deferred_len != 0;
}

Status ProvLog::flush_deferred(Handle& h) {
  auto g = st_.lock();
  return drain_locked(h, *g);
}

Status ProvLog::append(Handle& h, const bento::Request& req, const ProvDraft& d, Ticket& t) {
  if (!present()) return Err(EOPNOTSUPP);
  if (t.unrecorded_) {
    t.log_ = nullptr;
    t.unrecorded_ = false;
    auto g = st_.lock();
    BENTO_TRY(drain_locked(h, *g));  // they happened before this one
    count_gap(*g, d);
    return touch_header(h, *g);
  }
  size_t n1 = 0, n2 = 0;
  name_lengths(d, &n1, &n2);
  uint32_t len = prov::record_len(n1, n2);
  if (len > kLogBlockSize) return Err(ENAMETOOLONG);
  // Under the mutex: the byte range, seq and timestamps (so both follow log order), and
  // the journal calls that can fail (registering a block this transaction has not touched
  // yet: once per block and transaction). The record itself is built in place outside it:
  // appenders of one transaction write disjoint ranges of pinned, registered buffers.
  uint64_t at = 0, seq = 0;
  int64_t real_ns = 0, mono_ns = 0;
  {
    auto g = st_.lock();
    State& s = *g;
    // The ticket's room is consumed (the tail grows instead) or given back.
    uint64_t give = t.bytes_;
    s.reserved = give < s.reserved ? s.reserved - give : 0;
    t.bytes_ = 0;
    t.log_ = nullptr;
    // Records deferred during a commit go first: they happened before this one.
    BENTO_TRY(drain_locked(h, s));
    // The pending gap's record goes first; while it cannot, records join the gap (so a
    // reader never sees records after a hole before the record that tells of it).
    BENTO_ASSIGN_OR_RETURN(bool gap_written,
                           flush_gap_locked(h, s, room_at(0, len) * 2, s.reserved));
    bool fits = s.hdr.gap_records.get() == 0 &&
                s.hdr.tail.get() - s.hdr.head.get() + room_at(s.hdr.tail.get(), len) <=
                    s.hdr.capacity.get();
    if (!fits) {
      count_gap(s, d);  // e.g. room an upgrade promised to carried handles that was not there
      BENTO_TRY(touch_header(h, s));
      if (gap_written) note_pending(s, h.tid(), s.hdr.tail.get());
      return Status::Ok();
    }
    BENTO_TRY(touch_header(h, s));
    BENTO_ASSIGN_OR_RETURN(uint64_t tail, pad_for_locked(h, s, len));
    BENTO_TRY(register_block_locked(h, s, tail));
    at = tail;
    seq = s.hdr.next_seq.get();
    real_ns = bento::now_realtime().to_ns();
    mono_ns = bento::now_monotonic_ns();
    s.hdr.tail.set(tail + len);
    s.hdr.next_seq.set(seq + 1);
    note_pending(s, h.tid(), s.hdr.tail.get());
  }
  // The block is registered in h's transaction and pinned by it: neither call below can
  // fail for want of memory or I/O (a cache hit, a registration found).
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(start_ + prov::ring_block(at, blocks_)));
  uint8_t* rec = bh.data_mut().data() + at % kLogBlockSize;
  build_record(rec, len, req, d, n1, n2, real_ns, mono_ns);
  seal_record(rec, len, seq);
  return Status::Ok();
}

Status ProvLog::set_tracking(Handle& h, bool on) {
  if (!present()) return Status::Ok();
  auto g = st_.lock();
  g->hdr.tracking.set(on ? 1 : 0);
  return touch_header(h, *g);
}

uint64_t ProvLog::durable_locked(State& s, uint64_t committed_tid) {
  uint32_t i = 0;
  while (i < s.npending && s.pending[i].tid <= committed_tid) s.durable = s.pending[i++].tail;
  for (uint32_t k = i; k < s.npending; k++) s.pending[k - i] = s.pending[k];
  s.npending -= i;
  if (s.npending == 0) s.durable = s.hdr.tail.get();
  return s.durable;
}

uint64_t ProvLog::durable_tail(uint64_t committed_tid) {
  if (!present()) return 0;
  auto g = st_.lock();
  return durable_locked(*g, committed_tid);
}

Result<size_t> ProvLog::read(uint64_t off, std::span<uint8_t> out, uint64_t committed_tid) {
  if (!present()) return Err(EOPNOTSUPP);
  auto g = st_.lock();
  uint64_t durable = durable_locked(*g, committed_tid);
  if (off < g->hdr.head.get()) return Err(ERANGE);
  if (off % 8 != 0) return Err(EINVAL);
  size_t done = 0;
  while (off < durable) {
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev_->bread(start_ + prov::ring_block(off, blocks_)));
    const uint8_t* p = bh.data().data();
    uint32_t in = off % kLogBlockSize;
    // Whole records of this block, up to the durable tail and the room in out.
    uint32_t run = 0;
    while (in + run < kLogBlockSize && off + run < durable) {
      uint32_t len = load_le32(p + in + run);
      if (len < prov::kPadHeaderSize || len % 8 != 0 || in + run + len > kLogBlockSize) {
        bento::log(bento::LogLevel::kError, "bento-prov: corrupt record in the provenance log");
        if (done + run == 0) return Err(EUCLEAN);
        break;
      }
      if (done + run + len > out.size()) break;
      run += len;
    }
    if (run == 0) break;
    __builtin_memcpy(out.data() + done, p + in, run);
    done += run;
    off += run;
    if (off % kLogBlockSize != 0) break;  // out is full (or the log ended mid-block)
  }
  if (done == 0 && off < durable) return Err(EINVAL);  // out smaller than one record
  return done;
}

Status ProvLog::ack(Handle& h, uint64_t off, uint64_t committed_tid) {
  if (!present()) return Err(EOPNOTSUPP);
  auto g = st_.lock();
  uint64_t durable = durable_locked(*g, committed_tid);
  if (off % 8 != 0 || off < g->hdr.head.get() || off > durable) return Err(EINVAL);
  if (off == g->hdr.head.get() && g->hdr.gap_records.get() == 0) return Status::Ok();
  g->hdr.head.set(off);
  BENTO_TRY(drain_locked(h, *g));  // records deferred during a commit go before a gap's
  // The room this made may be what the pending gap's record waited for.
  BENTO_ASSIGN_OR_RETURN(bool gap_written, flush_gap_locked(h, *g, 0, g->reserved));
  BENTO_TRY(touch_header(h, *g));
  if (gap_written) note_pending(*g, h.tid(), g->hdr.tail.get());
  return Status::Ok();
}

size_t ProvLog::info(char* buf, size_t n, uint64_t committed_tid, bool tracking) {
  TextOut out(buf, n);
  if (!present()) return out.str("version=0\n").needed();
  auto g = st_.lock();
  uint64_t durable = durable_locked(*g, committed_tid);
  auto kv = [&](std::string_view k, uint64_t v) { out.str(k).str("=").num(v).str("\n"); };
  kv("version", g->hdr.version.get());
  kv("head", g->hdr.head.get());
  kv("tail", g->hdr.tail.get());
  kv("durable", durable);
  kv("capacity", g->hdr.capacity.get());
  kv("next_seq", g->hdr.next_seq.get());
  kv("refused", g->hdr.refused.get());
  kv("tracking", tracking ? 1 : 0);
  kv("gap_records", g->hdr.gap_records.get());
  kv("gap_mutating", g->hdr.gap_mutating.get());
  return out.needed();
}

}  // namespace bentofs
