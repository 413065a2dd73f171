// fsck's provenance log repairs: see fsck_prov.h.
#include "tools/fsck_prov.h"

#include <cstring>
#include <vector>

#include "format/prov_log.h"

namespace bentofs {

namespace {

// One ring block: the records that decode from its start.
struct BlockScan {
  uint64_t first_seq = 0, last_seq = 0;  // 0: no (non-pad) record
  uint64_t records = 0;
  uint32_t bytes = 0;     // decoded bytes from the start
  bool complete = false;  // decodes to the end of the block (a pad fills the rest)
};

BlockScan scan_block(const uint8_t* p) {
  BlockScan s;
  uint32_t off = 0;
  while (off < prov::kLogBlockSize) {
    prov::Record r;
    uint32_t len = 0;
    if (prov::decode_record(p + off, prov::kLogBlockSize - off, &r, &len) !=
            prov::DecodeError::kOk ||
        len == 0)
      break;
    if (r.type != prov::RecordType::kPad) {
      if (s.first_seq != 0 && r.seq != s.last_seq + 1) break;
      if (s.first_seq == 0) s.first_seq = r.seq;
      s.last_seq = r.seq;
      s.records++;
    }
    off += len;
  }
  s.bytes = off;
  s.complete = off == prov::kLogBlockSize;
  return s;
}

bool write_header(bento::BlockDevice& dev, uint64_t prov_start, uint64_t prov_blocks, uint64_t head,
                  uint64_t tail, uint64_t next_seq, bool keep_counts) {
  auto bh = dev.bread(prov_start);
  if (!bh.ok()) return false;
  prov::ProvLogHeader h;
  memcpy(&h, bh->data().data(), sizeof h);
  uint64_t refused = keep_counts ? h.refused.get() : 0;
  if (!keep_counts) {
    memset(&h, 0, sizeof h);
    prov::init_header(h, prov_blocks);
  }
  h.head.set(head);
  h.tail.set(tail);
  h.next_seq.set(next_seq);
  h.refused.set(refused);
  h.tracking.set(0);
  prov::seal_header(h);
  memcpy(bh->data_mut().data(), &h, sizeof h);
  bh->mark_dirty();
  return dev.sync_all().ok();
}

// Non-pad records from logical offset `from` up to `to` (both in the same lap of the ring,
// the records verified by scan_block); false when `to` is not a record boundary.
bool count_records(bento::BlockDevice& dev, uint64_t prov_start, uint64_t prov_blocks,
                   uint64_t from, uint64_t to, uint64_t* n) {
  *n = 0;
  uint64_t off = from;
  while (off < to) {
    auto bh = dev.bread(prov_start + prov::ring_block(off, prov_blocks));
    if (!bh.ok()) return false;
    const uint64_t block_end = (off / prov::kLogBlockSize + 1) * prov::kLogBlockSize;
    while (off < to && off < block_end) {
      prov::Record r;
      uint32_t len = 0;
      const size_t in = off % prov::kLogBlockSize;
      if (prov::decode_record(bh->data().data() + in, prov::kLogBlockSize - in, &r, &len) !=
              prov::DecodeError::kOk ||
          len == 0)
        return false;
      if (r.type != prov::RecordType::kPad) ++*n;
      off += len;
    }
  }
  return off == to;
}

}  // namespace

bool prov_header_rebuild(bento::BlockDevice& dev, uint64_t prov_start, uint64_t prov_blocks,
                         std::string* what) {
  const uint64_t ring = prov_blocks - 1;
  prov::ProvLogHeader old;
  {
    auto bh = dev.bread(prov_start);
    if (!bh.ok()) return false;
    memcpy(&old, bh->data().data(), sizeof old);
  }
  std::vector<BlockScan> scans(ring);
  uint64_t max_seq = 0;
  for (uint64_t i = 0; i < ring; i++) {
    auto bh = dev.bread(prov_start + 1 + i);
    if (!bh.ok()) return false;
    scans[i] = scan_block(bh->data().data());
    if (scans[i].last_seq > max_seq) max_seq = scans[i].last_seq;
  }
  // The run starting at the block with the smallest sequence number, while each next
  // ring block continues the sequence.
  uint64_t start = ring, best = ~0ULL;
  for (uint64_t i = 0; i < ring; i++)
    if (scans[i].first_seq != 0 && scans[i].first_seq < best) {
      best = scans[i].first_seq;
      start = i;
    }
  uint64_t kept = 0, head = 0, tail = 0, next_seq = max_seq + 1, run_blocks = 0;
  if (start != ring) {
    uint64_t expect = scans[start].first_seq;
    for (uint64_t k = 0; k < ring; k++) {
      const BlockScan& s = scans[(start + k) % ring];
      if (s.first_seq != expect) break;
      kept += s.records;
      expect = s.last_seq + 1;
      tail += s.bytes;
      run_blocks++;
      if (!s.complete) break;
    }
    next_seq = expect;
  }
  // Records the ring still holds past the run (a damaged one ends it): dropped. The damaged
  // header's next_seq, when it is plausible, also counts those its damaged blocks hid.
  uint64_t dropped = 0;
  for (const BlockScan& s : scans)
    if (s.first_seq != 0 && s.last_seq >= next_seq)
      dropped += s.last_seq - (s.first_seq > next_seq ? s.first_seq : next_seq) + 1;
  if (old.next_seq.get() > next_seq && old.next_seq.get() - next_seq <= ring * 512 &&
      old.next_seq.get() - next_seq > dropped)
    dropped = old.next_seq.get() - next_seq;
  // The acknowledged cursor (the damaged header's head, a logical offset readers hold):
  // kept when it lies in the run on a record boundary, with the run's logical offsets
  // placed around it, so readers resume exactly where they were.
  const uint64_t oh = old.head.get();
  const uint64_t k = ((oh / prov::kLogBlockSize) % ring + ring - start) % ring;
  uint64_t acked = 0;
  bool cursor = false;
  if (start != ring && oh % 8 == 0 && k < run_blocks) {
    const uint64_t base = (oh / prov::kLogBlockSize - k) * prov::kLogBlockSize;
    if (oh <= base + tail && count_records(dev, prov_start, prov_blocks, base, oh, &acked)) {
      cursor = true;
      tail += base;
      head = oh;
      kept -= acked;
    }
  }
  if (!cursor && start != ring) {  // offsets restart in the first lap
    head = start * prov::kLogBlockSize;
    tail += head;
  }
  if (!write_header(dev, prov_start, prov_blocks, head, tail, next_seq, false)) return false;
  *what = "provenance log header rebuilt: " + std::to_string(kept) + " record(s) kept, " +
          std::to_string(dropped) + " dropped (damaged or not following on); " +
          (cursor ? "the acknowledged cursor (offset " + std::to_string(oh) + ") is kept"
                  : "the acknowledged cursor is lost: readers see the kept records again");
  return true;
}

bool prov_truncate(bento::BlockDevice& dev, uint64_t prov_start, uint64_t tail, uint64_t next_seq) {
  auto bh = dev.bread(prov_start);
  if (!bh.ok()) return false;
  prov::ProvLogHeader h;
  memcpy(&h, bh->data().data(), sizeof h);
  bh->release();
  (void)next_seq;
  return write_header(dev, prov_start, 0, h.head.get(), tail, next_seq, true);
}

}  // namespace bentofs
