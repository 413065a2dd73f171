// Copies (FILE_COPY, events.h v6): which files' bytes an activity's writes of a file carried.
// The probes send one event per (process image, file written, file copied), and one with no
// file copied for a write of any other bytes; a shared writable mapping (MMAP) is such a
// write too. When the activity ends, each file it wrote only with copies gets a `copies`
// row per file copied (schema/SCHEMA.md), and the answer lists only those among its reads
// (query-cli/LINEAGE.md §3). Whatever is unsure leaves no row, and without a row every read
// counts: an activity that began before the probes reported copies, lost events, a cap.
#include <algorithm>

#include "bento_bpf/events.h"
#include "ingest.h"

namespace bento::collector {

namespace {
constexpr size_t kFilesPerActivity = 4096;  // more: its copies are not told apart
constexpr size_t kActivities = 65536;       // running activities followed at once
}  // namespace

FileIdentity Ingest::identity_of(uint64_t dev, uint64_t ino) const {
  if (int64_t source = source_for_dev(dev); source != 0) return {source, 0, ino};
  return {0, dev, ino};
}

Ingest::ActivityCopies& Ingest::copies_of(int64_t act) {
  if (copies_.size() >= kActivities && copies_.count(act) == 0) {
    // Exits never seen (lost) would pile up: start over, from now on.
    probe_events_lost(copies_since_ == UINT64_MAX ? UINT64_MAX : copies_since_ + 1);
    copies_.clear();
  }
  auto [it, fresh] = copies_.try_emplace(act);
  if (fresh) {
    ActivityRow row;
    it->second.counts = copies_since_ != UINT64_MAX && store_.activity(act, &row) &&
                        row.origin != "observed" && row.start_ns >= copies_since_;
  }
  return it->second;
}

bool Ingest::on_file_copy(const void* data, size_t size) {
  if (size < sizeof(bento_file_copy_event)) return false;
  const auto* e = static_cast<const bento_file_copy_event*>(data);
  const bento_event_header* h = &e->h;
  const int64_t act = activity_for_tid(h->tid, h->uid, h->gid, h->ts_ns);
  if (act == 0) return true;
  ActivityCopies& c = copies_of(act);
  if (!c.counts) return true;
  if (c.files.size() >= kFilesPerActivity) {
    c.counts = false;
    c.files.clear();
    return true;
  }
  Copied& f = c.files[identity_of(e->dev, e->ino)];
  if (e->src_dev == 0 && e->src_ino == 0)
    f.other = true;
  else
    f.from.insert(identity_of(e->src_dev, e->src_ino));
  return true;
}

void Ingest::not_only_copies(int64_t act, uint64_t dev, uint64_t ino) {
  if (copies_since_ == UINT64_MAX) return;
  ActivityCopies& c = copies_of(act);
  if (c.counts) c.files[identity_of(dev, ino)].other = true;
}

void Ingest::store_copies(int64_t act) {
  auto it = copies_.find(act);
  if (it == copies_.end()) return;
  if (it->second.counts)
    for (const auto& [file, copied] : it->second.files)
      if (!copied.other)
        for (const FileIdentity& from : copied.from) store_.copy(act, file, from);
  copies_.erase(it);
}

void Ingest::probe_events_lost(uint64_t t) {
  for (auto& [act, c] : copies_) {
    c.counts = false;
    c.files.clear();
  }
  if (copies_since_ != UINT64_MAX) copies_since_ = std::max(copies_since_, t);
}

}  // namespace bento::collector
