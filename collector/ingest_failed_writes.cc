// Ingest: writes that failed. The probes stamp an image's first write of a file at the
// call's entry (so that a writer's time precedes its reader's), before the call's result is
// known; a call that then wrote nothing (ENOSPC, EFBIG, EBADF, 0 bytes) is followed by a
// FILE_IO with is_write BENTO_FILE_IO_WRITE_FAILED at its return (events.h). That write did
// not happen: it is dropped where it still waits, or its stored row is put back as it was.
#include <algorithm>

#include "bento_bpf/events.h"
#include "ingest.h"

namespace bento::collector {

namespace {

// How long after its entry a write can still be reported failed and be undone once
// stored: the time of one write call. A call slower than this (a write to a hung network
// file system) that then fails stays a write.
constexpr uint64_t kUndoWindow = 60'000'000'000ULL;
constexpr size_t kAppliedWritesCap = 4096;

}  // namespace

// Before an outside write is stored (apply): the activity's row for that version as it is,
// so that write_failed can put it back.
void Ingest::remember_outside_write(int64_t act, const PendingItem& w, int64_t entity) {
  if (applied_writes_.size() >= kAppliedWritesCap) {
    // Entries of calls that returned long ago (they succeeded: nothing came) go.
    const uint64_t cutoff = newest_ns_ > kUndoWindow ? newest_ns_ - kUndoWindow : 0;
    std::erase_if(applied_writes_, [&](const auto& x) { return x.second.t < cutoff; });
    if (applied_writes_.size() >= kAppliedWritesCap) applied_writes_.clear();
  }
  AppliedWrite& a = applied_writes_[{act, w.dev, w.ino, w.gen}];
  a.t = w.t;
  a.entity = entity;
  a.had_row = store_.find_generated(entity, act, &a.before);
}

void Ingest::write_failed(const void* file_io_event) {
  const auto* e = static_cast<const bento_file_io_event*>(file_io_event);
  const bento_event_header& h = e->h;
  const int64_t act = activity_for_tid(h.tid, h.uid, h.gid, h.ts_ns);
  if (act == 0) return;
  // The failed write is the activity's latest reported write of the file before now.
  auto is_it = [&](const PendingItem& w, uint32_t gen) {
    return w.kind == PendingItem::kFileWrite && w.dev == e->dev && w.ino == e->ino &&
           w.gen == gen && w.t <= h.ts_ns;
  };
  if (source_for_dev(e->dev) != 0) {
    // On a mount the fs log decides who wrote (store_mount_write); a write still waiting
    // for the log is dropped here all the same.
    for (auto it = deferred_writes_.rbegin(); it != deferred_writes_.rend(); ++it)
      if (it->first == act && is_it(it->second, 0)) {
        deferred_writes_.erase(std::next(it).base());
        break;
      }
    return;
  }
  const uint32_t gen = outside_identity(e->dev, e->ino, e->generation);
  uint64_t write_t = 0;
  if (auto p = pending_.find(act); p != pending_.end()) {
    // Waiting with its undecided activity: it goes, so no reader can keep it as a writer.
    auto& items = p->second.items;
    for (auto it = items.rbegin(); it != items.rend(); ++it)
      if (is_it(*it, gen)) {
        write_t = it->t;
        items.erase(std::next(it).base());
        pending_total_--;
        break;
      }
  }
  if (write_t == 0) {
    // Stored already (its activity is kept): the row is put back as it was before the
    // write, or removed if the write made it. A version another process began during the
    // call, which carried this activity on as a writer (carry_outside_writers), keeps it.
    auto a = applied_writes_.find({act, e->dev, e->ino, gen});
    if (a != applied_writes_.end() && a->second.t <= h.ts_ns) {
      write_t = a->second.t;
      store_.restore_generated(a->second.entity, act,
                               a->second.had_row ? &a->second.before : nullptr);
      applied_writes_.erase(a);
    }
  }
  if (write_t == 0) return;
  // Noted as a writer for the file's later readers (note_outside_writer): not by this write.
  if (auto w = outside_writers_.find({e->dev, e->ino, gen}); w != outside_writers_.end()) {
    auto& v = w->second;
    if (auto it = std::find(v.begin(), v.end(), std::make_pair(act, write_t)); it != v.end())
      v.erase(it);
    if (v.empty()) outside_writers_.erase(w);
  }
}

}  // namespace bento::collector
