// The provenance log: see prov_log.h and format/prov_log.h.
#include "core/prov_log.h"

#include <bento/log.h>
#include <bento/time.h>

namespace bentofs {

namespace {

using prov::kLogBlockSize;

// Appends the decimal form of v to buf at *at (freestanding: no printf).
void put_u64(char* buf, size_t n, size_t* at, uint64_t v) {
  char tmp[24];
  int k = 0;
  do {
    tmp[k++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (k > 0) {
    if (*at < n) buf[*at] = tmp[k - 1];
    ++*at;
    --k;
  }
}
void put_str(char* buf, size_t n, size_t* at, std::string_view s) {
  for (char c : s) {
    if (*at < n) buf[*at] = c;
    ++*at;
  }
}

}  // namespace

ProvLog::Ticket& ProvLog::Ticket::operator=(Ticket&& o) noexcept {
  if (this != &o) {
    release();
    log_ = o.log_;
    bytes_ = o.bytes_;
    o.log_ = nullptr;
  }
  return *this;
}

void ProvLog::Ticket::release() {
  if (log_ != nullptr && bytes_ != 0) log_->unreserve(bytes_);
  log_ = nullptr;
  bytes_ = 0;
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
  // A record may need a pad before it (less than its own length): reserve twice its size.
  uint64_t need = 2ULL * prov::record_len(name_len, name2_len) + extra;
  auto g = st_.lock();
  uint64_t used = g->hdr.tail.get() - g->hdr.head.get();
  if (used + g->reserved + need > g->hdr.capacity.get()) {
    g->hdr.refused.set(g->hdr.refused.get() + 1);  // persisted with the next header write
    uint64_t refused = g->hdr.refused.get();
    if (refused >= 2 * g->refused_logged || refused == 1) {
      g->refused_logged = refused;
      char msg[200];
      size_t at = 0;
      put_str(msg, sizeof msg, &at, "bento-prov: provenance log full (");
      put_u64(msg, sizeof msg, &at, used);
      put_str(msg, sizeof msg, &at, " bytes unacknowledged): operation refused (");
      put_u64(msg, sizeof msg, &at, refused);
      put_str(msg, sizeof msg, &at, " so far); run the collector or `prov log --ack`");
      bento::log(bento::LogLevel::kWarning,
                 std::string_view(msg, at < sizeof msg ? at : sizeof msg));
    }
    return Err(ENOSPC);
  }
  g->reserved += need;
  Ticket t;
  t.log_ = this;
  t.bytes_ = need;
  return t;
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

Status ProvLog::write_at(Handle& h, uint64_t off, const uint8_t* data, uint32_t len) {
  uint64_t block = start_ + prov::ring_block(off, blocks_);
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(block));
  __builtin_memcpy(bh.data_mut().data() + off % kLogBlockSize, data, len);
  return Status::Ok();
}

Status ProvLog::write_header(Handle& h, State& s) {
  prov::seal_header(s.hdr);
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(start_));
  __builtin_memcpy(bh.data_mut().data(), &s.hdr, sizeof(s.hdr));
  return Status::Ok();
}

Status ProvLog::append(Handle& h, const bento::Request& req, const ProvDraft& d, Ticket& t) {
  if (!present()) return Err(EOPNOTSUPP);
  size_t n1 = d.name.size() < 4095 ? d.name.size() : 4095;
  size_t n2 = d.name2.size() < 4095 - n1 ? d.name2.size() : 4095 - n1;
  uint32_t len = prov::record_len(n1, n2);
  if (len > kLogBlockSize) return Err(ENAMETOOLONG);
  auto g = st_.lock();
  uint8_t* rec = g->rec;
  __builtin_memset(rec, 0, len);
  prov::RecordHeader r;
  __builtin_memset(&r, 0, sizeof r);
  r.len.set(len);
  r.type.set(static_cast<uint16_t>(d.type));
  r.version.set(prov::kRecordVersion);
  r.realtime_ns.set(static_cast<uint64_t>(bento::now_realtime().to_ns()));
  r.monotonic_ns.set(static_cast<uint64_t>(bento::now_monotonic_ns()));
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
  if (n1 != 0) __builtin_memcpy(rec + sizeof r, d.name.data(), n1);
  if (n2 != 0) __builtin_memcpy(rec + sizeof r + n1, d.name2.data(), n2);

  r.seq.set(g->hdr.next_seq.get());
  __builtin_memcpy(rec, &r, sizeof r);
  Le32 crc;
  crc.set(prov::record_checksum(rec, len));
  __builtin_memcpy(rec + __builtin_offsetof(prov::RecordHeader, checksum), &crc, 4);

  uint64_t tail = g->hdr.tail.get();
  uint32_t room = kLogBlockSize - tail % kLogBlockSize;
  uint64_t pad = room < len ? room : 0;
  if (tail + pad + len - g->hdr.head.get() > g->hdr.capacity.get()) return Err(ENOSPC);
  if (pad != 0) {
    uint8_t p[prov::kPadHeaderSize] = {};
    store_le32(p, static_cast<uint32_t>(pad));
    p[6] = static_cast<uint8_t>(prov::kRecordVersion);
    BENTO_TRY(write_at(h, tail, p, sizeof p));
    tail += pad;
  }
  BENTO_TRY(write_at(h, tail, rec, len));
  tail += len;
  g->hdr.tail.set(tail);
  g->hdr.next_seq.set(g->hdr.next_seq.get() + 1);
  BENTO_TRY(write_header(h, *g));
  // Remember when this transaction's records become durable.
  State& s = *g;
  if (s.npending > 0 && s.pending[s.npending - 1].tid == h.tid()) {
    s.pending[s.npending - 1].tail = tail;
  } else if (s.npending < 8) {
    s.pending[s.npending++] = {h.tid(), tail};
  } else {
    s.pending[7] = {h.tid(), tail};
  }
  // The ticket's room is consumed: the tail grew instead.
  uint64_t give = t.bytes_;
  s.reserved = give < s.reserved ? s.reserved - give : 0;
  t.bytes_ = 0;
  t.log_ = nullptr;
  return Status::Ok();
}

Status ProvLog::set_tracking(Handle& h, bool on) {
  if (!present()) return Status::Ok();
  auto g = st_.lock();
  g->hdr.tracking.set(on ? 1 : 0);
  return write_header(h, *g);
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
  if (off == g->hdr.head.get()) return Status::Ok();
  g->hdr.head.set(off);
  return write_header(h, *g);
}

size_t ProvLog::info(char* buf, size_t n, uint64_t committed_tid, bool tracking) {
  size_t at = 0;
  if (!present()) {
    put_str(buf, n, &at, "version=0\n");
    return at;
  }
  auto g = st_.lock();
  uint64_t durable = durable_locked(*g, committed_tid);
  auto kv = [&](std::string_view k, uint64_t v) {
    put_str(buf, n, &at, k);
    put_str(buf, n, &at, "=");
    put_u64(buf, n, &at, v);
    put_str(buf, n, &at, "\n");
  };
  kv("version", g->hdr.version.get());
  kv("head", g->hdr.head.get());
  kv("tail", g->hdr.tail.get());
  kv("durable", durable);
  kv("capacity", g->hdr.capacity.get());
  kv("next_seq", g->hdr.next_seq.get());
  kv("refused", g->hdr.refused.get());
  kv("tracking", tracking ? 1 : 0);
  return at;
}

}  // namespace bentofs
