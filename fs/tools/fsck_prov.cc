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

}  // namespace

bool prov_header_rebuild(bento::BlockDevice& dev, uint64_t prov_start, uint64_t prov_blocks,
                         std::string* what) {
  const uint64_t ring = prov_blocks - 1;
  std::vector<BlockScan> scans(ring);
  uint64_t max_seq = 0, total = 0;
  for (uint64_t i = 0; i < ring; i++) {
    auto bh = dev.bread(prov_start + 1 + i);
    if (!bh.ok()) return false;
    scans[i] = scan_block(bh->data().data());
    total += scans[i].records;
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
  uint64_t kept = 0, head = 0, tail = 0, next_seq = max_seq + 1;
  if (start != ring) {
    head = start * prov::kLogBlockSize;
    tail = head;
    uint64_t expect = scans[start].first_seq;
    for (uint64_t k = 0; k < ring; k++) {
      const BlockScan& s = scans[(start + k) % ring];
      if (s.first_seq != expect) break;
      kept += s.records;
      expect = s.last_seq + 1;
      tail += s.bytes;
      if (!s.complete) break;
    }
    next_seq = expect;
  }
  if (!write_header(dev, prov_start, prov_blocks, head, tail, next_seq, false)) return false;
  *what = "provenance log header rebuilt: " + std::to_string(kept) + " record(s) kept, " +
          std::to_string(total - kept) +
          " dropped (older or not following on; readers see the kept ones again)";
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
