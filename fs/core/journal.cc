// Journal implementation: see journal.h and FORMAT.md §6.
#include "core/journal.h"

#include <bento/log.h>
#include <bento/memory.h>
#include <bento/time.h>

#include "format/crc32c.h"
#include "format/journal.h"

namespace bentofs {

namespace {

constexpr uint32_t kBs = 4096;

uint64_t log_blocks_for(uint64_t n) {
  return n + (n + kDescriptorCapacity - 1) / kDescriptorCapacity + 1;
}

// Heap sort (no <algorithm> in the kernel build): a checkpoint writes home in block order,
// which an image file's own file system allocates and writes back sequentially.
void sort_blocks(bento::Vec<uint64_t>& v) {
  uint64_t* a = v.data();
  auto sift = [a](size_t i, size_t end) {
    for (;;) {
      size_t c = 2 * i + 1;
      if (c >= end) return;
      if (c + 1 < end && a[c + 1] > a[c]) c++;
      if (a[i] >= a[c]) return;
      const uint64_t x = a[i];
      a[i] = a[c];
      a[c] = x;
      i = c;
    }
  };
  const size_t n = v.size();
  for (size_t i = n / 2; i-- > 0;) sift(i, n);
  for (size_t end = n; end > 1; end--) {
    const uint64_t x = a[0];
    a[0] = a[end - 1];
    a[end - 1] = x;
    sift(0, end - 1);
  }
}

void fill_header(uint8_t* p, uint32_t type, uint64_t seq, uint32_t count, uint32_t csum) {
  JournalHeader h{};
  h.magic.set(kJournalMagic);
  h.type.set(type);
  h.sequence.set(seq);
  h.count.set(count);
  h.checksum.set(csum);
  __builtin_memcpy(p, &h, sizeof(h));
}

}  // namespace

// ---- Handle ----

Result<BufferHead> Handle::get_write(uint64_t n) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, j_->dev_.bread(n));
  BENTO_TRY(into_ != nullptr ? j_->register_into(*into_, n) : j_->register_block(n));
  return bh;
}

Result<BufferHead> Handle::get_new(uint64_t n) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, j_->dev_.getblk(n));
  // first: a checkpoint may need the old content frozen
  BENTO_TRY(into_ != nullptr ? j_->register_into(*into_, n) : j_->register_block(n));
  __builtin_memset(bh.data_mut().data(), 0, bh.data_mut().size());
  return bh;
}

void Handle::end() {
  if (j_ != nullptr && into_ == nullptr) j_->end_handle(credits_);
  j_ = nullptr;
}

// ---- Journal ----

Journal::Journal(BlockDevice& dev, uint64_t start, uint64_t blocks, uint64_t sequence)
    : dev_(dev), start_(start), blocks_(blocks), background_checkpoints_(dev.can_write_around()) {
  // Head room for handles that touch more blocks than their credits said (estimates).
  margin_ = blocks / 8 < 256 ? 256 : blocks / 8;
  st_.unlocked().running_tid = sequence;
  st_.unlocked().committed_tid = sequence - 1;
}

Journal::~Journal() {
  (void)shutdown();
  // Threads retired by suspend() still touch st_ and cv_ once when they wake.
  auto g = st_.lock();
  while (g->threads_alive > 0) {
    g->thread_epoch++;
    cv_.notify_all();
    cv_.wait(g);
  }
}

Status Journal::write_super(BlockDevice& dev, uint64_t start, uint64_t blocks, uint64_t seq) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev.getblk(start));
  uint8_t* p = bh.data_mut().data();
  __builtin_memset(p, 0, kBs);
  JournalSuper js{};
  js.magic.set(kJournalMagic);
  js.version.set(kJournalVersion);
  js.blocks.set(blocks);
  js.sequence.set(seq);
  js.start.set(1);
  __builtin_memcpy(p, &js, sizeof(js));
  store_le32(p + 60, crc32c(p, 60));
  bh.mark_dirty();  // caches write only dirty buffers on sync()
  BENTO_TRY(bh.sync());
  return dev.flush();
}

namespace {

// The journal superblock's first log block and sequence; EUCLEAN when it is damaged.
Status read_journal_super(BlockDevice& dev, uint64_t start, uint64_t blocks, uint64_t* seq,
                          uint64_t* pos) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev.bread(start));
  const uint8_t* p = bh.data().data();
  JournalSuper js;
  __builtin_memcpy(&js, p, sizeof(js));
  if (js.magic.get() != kJournalMagic || js.version.get() != kJournalVersion ||
      js.blocks.get() != blocks || load_le32(p + 60) != crc32c(p, 60) || js.start.get() < 1 ||
      js.start.get() >= blocks) {
    bento::log(bento::LogLevel::kError, "bento-fs: journal superblock is corrupt");
    return Err(EUCLEAN);
  }
  *seq = js.sequence.get();
  *pos = js.start.get();
  return Status::Ok();
}

// The transaction logged at area block `pos` with sequence `seq`: its home blocks, where
// their images lie, and the block after its commit. `complete` only when the commit block
// is there with the right count and checksum and no home block lies past the device or
// inside the journal (damage: it and everything after it are not replayed).
struct LoggedTxn {
  bento::Vec<uint64_t> homes;
  bento::Vec<uint64_t> logpos;
  uint64_t next = 0;
  bool complete = false;
};

Result<LoggedTxn> read_logged_txn(BlockDevice& dev, uint64_t start, uint64_t blocks, uint64_t pos,
                                  uint64_t seq) {
  LoggedTxn t;
  uint32_t crc = ~0u;
  uint64_t p = pos;
  while (p < blocks) {
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev.bread(start + p));
    const uint8_t* d = bh.data().data();
    JournalHeader h;
    __builtin_memcpy(&h, d, sizeof(h));
    if (h.magic.get() != kJournalMagic || h.sequence.get() != seq) break;
    if (h.type.get() == kJBlockCommit) {
      t.complete = (~crc == h.checksum.get()) && h.count.get() == p - pos;
      p++;
      break;
    }
    if (h.type.get() != kJBlockDescriptor || h.count.get() > kDescriptorCapacity) break;
    crc = crc32c_update(crc, d, kBs);
    uint32_t n = h.count.get();
    if (p + 1 + n >= blocks) break;
    for (uint32_t i = 0; i < n; i++) {
      BENTO_TRY(t.homes.push_back(load_le64(d + sizeof(JournalHeader) + 8 * i)));
      BENTO_TRY(t.logpos.push_back(p + 1 + i));
    }
    bh.release();
    for (uint32_t i = 0; i < n; i++) {
      BENTO_ASSIGN_OR_RETURN(BufferHead db, dev.bread(start + p + 1 + i));
      crc = crc32c_update(crc, db.data().data(), kBs);
    }
    p += 1 + n;
  }
  for (size_t i = 0; t.complete && i < t.homes.size(); i++)
    if (t.homes[i] >= dev.block_count() || (t.homes[i] >= start && t.homes[i] < start + blocks))
      t.complete = false;
  t.next = p;
  return t;
}

}  // namespace

Result<uint64_t> Journal::replay(BlockDevice& dev, uint64_t start, uint64_t blocks,
                                 uint64_t* replayed_txns, bento::Vec<BufferHead>* in_memory) {
  if (replayed_txns != nullptr) *replayed_txns = 0;
  uint64_t seq;
  uint64_t pos;
  BENTO_TRY(read_journal_super(dev, start, blocks, &seq, &pos));
  uint64_t applied = 0;
  for (;;) {
    BENTO_ASSIGN_OR_RETURN(LoggedTxn t, read_logged_txn(dev, start, blocks, pos, seq));
    if (!t.complete) break;
    // Copy every block home (or, read-only, into the pinned cache only).
    for (size_t i = 0; i < t.homes.size(); i++) {
      BENTO_ASSIGN_OR_RETURN(BufferHead src, dev.bread(start + t.logpos[i]));
      BENTO_ASSIGN_OR_RETURN(BufferHead dst, dev.getblk(t.homes[i]));
      __builtin_memcpy(dst.data_mut().data(), src.data().data(), kBs);
      if (in_memory != nullptr) {
        BENTO_TRY(in_memory->push_back(std::move(dst)));
      } else {
        dst.mark_dirty();
      }
    }
    applied++;
    seq++;
    pos = t.next;
  }
  if (replayed_txns != nullptr) *replayed_txns = applied;
  if (in_memory != nullptr) return seq;
  BENTO_TRY(dev.sync_all());
  BENTO_TRY(write_super(dev, start, blocks, seq));
  return seq;
}

Result<uint64_t> Journal::committed_in_log(BlockDevice& dev, uint64_t start, uint64_t blocks) {
  uint64_t seq;
  uint64_t pos;
  BENTO_TRY(read_journal_super(dev, start, blocks, &seq, &pos));
  uint64_t n = 0;
  for (;; n++, seq++) {
    BENTO_ASSIGN_OR_RETURN(LoggedTxn t, read_logged_txn(dev, start, blocks, pos, seq));
    if (!t.complete) return n;
    pos = t.next;
  }
}

Status Journal::start_thread(uint32_t interval_ms) {
  interval_ns_ = static_cast<int64_t>(interval_ms) * 1000000;
  BENTO_ASSIGN_OR_RETURN(auto arg, bento::make_unique<ThreadArg>());
  arg->j = this;
  {
    auto g = st_.lock();
    arg->epoch = ++g->thread_epoch;
    g->threads_alive++;
    g->current_alive = true;
    g->thread_idle = true;  // not started yet: checks its epoch before anything else
  }
  ThreadArg* raw = arg.release();
  auto t = bento::Thread::spawn(&Journal::thread_main, raw, "bentofs-jbd");
  if (!t.ok()) {
    bento::UniquePtr<ThreadArg>::adopt(raw).reset();
    auto g = st_.lock();
    g->threads_alive--;
    g->current_alive = false;
    g->thread_idle = false;
    return Err(t.error());
  }
  thread_ = std::move(*t);
  st_.lock()->thread_running = true;
  started_ = true;
  return Status::Ok();
}

void Journal::thread_main(void* p) {
  auto arg = bento::UniquePtr<ThreadArg>::adopt(static_cast<ThreadArg*>(p));
  Journal* j = arg->j;
  uint64_t epoch = arg->epoch;
  arg.reset();
  j->run(epoch);
}

void Journal::run(uint64_t epoch) {
  // Leaving: the last touch of the journal (a retired thread's journal may be freed
  // right after; the module it runs in is unloaded only after it is joined).
  auto leave = [&](Guard& g) {
    if (g->thread_epoch == epoch) {
      g->current_alive = false;
      g->thread_idle = false;
    }
    g->threads_alive--;
    cv_.notify_all();
  };
  int64_t deadline;
  {
    auto g = st_.lock();
    if (g->thread_epoch != epoch) return leave(g);
    g->thread_idle = false;
    deadline = g->deadline_ns != 0 ? g->deadline_ns : bento::now_monotonic_ns() + interval_ns_;
    g->deadline_ns = deadline;
  }
  for (;;) {
    bool checkpoint;
    {
      auto g = st_.lock();
      // The condvar is shared with handle waiters: wake-ups before the deadline that
      // carry no request are not commit triggers.
      for (;;) {
        if (g->thread_epoch != epoch) return leave(g);
        if (g->stop || g->commit_requested || g->checkpoint_requested) break;
        int64_t now = bento::now_monotonic_ns();
        if (now >= deadline) break;
        g->thread_idle = true;
        (void)cv_.wait_for(g, deadline - now);
        if (g->thread_epoch != epoch) return leave(g);  // retired: touch nothing else
        g->thread_idle = false;
      }
      if (g->stop) return leave(g);
      checkpoint = g->checkpoint_requested || g->head > blocks_ / 2;
      g->commit_requested = false;
      g->checkpoint_requested = false;
    }
    Status s = commit(checkpoint);
    if (!s.ok()) bento::log(bento::LogLevel::kError, "bento-fs: journal commit failed");
    deadline = bento::now_monotonic_ns() + interval_ns_;
    st_.lock()->deadline_ns = deadline;
  }
}

Status Journal::suspend(bento::Thread* retired) {
  if (!started_) return Status::Ok();  // read-only: no thread
  {
    auto g = st_.lock();
    // Callers are quiesced by the host, and have flushed work deferred to the hook (which
    // only this instance's hook could do); never here.
    if (g->active > 0 || g->deferred) return Err(EBUSY);
    // Retire the thread without waiting for it: it looks at its epoch every time it takes
    // the state lock between commits, and leaves once it sees a newer one. A commit it is
    // running (writing the log, or a checkpoint) finishes on the journal it was given, the
    // object the new instance adopts: commits stay ordered by commit_mu_, and handles wait
    // for a checkpoint through `locked` as they would without an upgrade. So that I/O is
    // not part of the pause (it used to be waited for here: 2-17 ms tails under load). The
    // old module's code it runs stays loaded until the old instance joins it (*retired).
    g->thread_epoch++;
    g->current_alive = false;
    g->thread_idle = false;
    g->thread_running = false;
    g->fsync_floor = g->running_tid;
    g->hook = nullptr;  // it belongs to the old instance
    cv_.notify_all();
  }
  started_ = false;
  *retired = std::move(thread_);  // joins an older retired thread first (long gone)
  return Status::Ok();
}

void Journal::set_commit_hook(CommitHook fn, void* arg) {
  auto g = st_.lock();
  g->hook = fn;
  g->hook_arg = arg;
}

Status Journal::resume(uint32_t interval_ms) {
  if (started_) return Err(EBUSY);
  return start_thread(interval_ms);
}

Status Journal::shutdown() {
  if (!started_) return Status::Ok();  // read-only mounts never write
  started_ = false;
  {
    auto g = st_.lock();
    g->stop = true;
    cv_.notify_all();
  }
  thread_.join();
  st_.lock()->thread_running = false;
  return commit(true);
}

bool Journal::fits(const State& s, uint64_t credits) const {
  uint64_t need = log_blocks_for(s.running.order.size() + s.reserved + credits);
  return s.head + need + margin_ <= blocks_;
}

Result<Handle> Journal::begin(uint32_t credits) {
  return begin_handle(credits, false);
}

Result<Handle> Journal::begin_log_only(uint32_t credits) {
  return begin_handle(credits, true);
}

Result<Handle> Journal::try_begin_log_only(uint32_t credits) {
  return begin_handle(credits, true, false);
}

Result<Handle> Journal::begin_handle(uint32_t credits, bool log_only, bool wait_if_locked) {
  uint64_t cap = (blocks_ - margin_) / 2;
  if (credits > cap) credits = static_cast<uint32_t>(cap);
  auto g = st_.lock();
  for (;;) {
    if (g->error != 0) return Err(EROFS);
    // During a checkpoint's I/O the head is still the old one: fits() over-counts, which
    // only makes a log-only handle wait for the checkpoint like any other.
    const bool open = !g->locked || (log_only && g->log_window);
    if (!open && !wait_if_locked && g->thread_running) return Err(EAGAIN);
    if (!g->thread_running) {
      // No commit thread (shutting down): only allow what fits right now.
      if (open && fits(*g, credits)) break;
      return Err(EROFS);
    }
    if (open) {
      if (fits(*g, credits)) {
        // Half the log used: checkpoint now, so its write-back (which handles need not
        // wait for where the device writes around its cache) overlaps with the other half
        // filling, instead of starting when the log is full and every handle waits.
        if (!g->checkpoint_requested && background_checkpoints_ &&
            g->head + log_blocks_for(g->running.order.size() + g->reserved + credits) >
                (blocks_ - margin_) / 2) {
          g->checkpoint_requested = true;
          cv_.notify_all();
        }
        break;
      }
      // Log space is short: checkpoint. If only other handles' reservations are in the
      // way, waiting for them to end is enough.
      uint64_t need = log_blocks_for(g->running.order.size() + credits);
      if (g->head + need + margin_ > blocks_) g->checkpoint_requested = true;
    }
    cv_.notify_all();
    g->waiters++;
    cv_.wait(g);
    g->waiters--;
  }
  g->active++;
  g->reserved += credits;
  return Handle(this, g->running_tid, credits);
}

void Journal::end_handle(uint32_t credits) {
  auto g = st_.lock();
  g->active--;
  g->reserved -= credits;
  // Wake only who waits for handles to end: a committer quiescing (locked), begin()s and
  // wait_commit()s (waiters). The idle commit thread sleeps on the same condvar; waking it
  // at every handle's end cost two context switches per operation.
  if ((g->active == 0 && g->locked && !g->log_window) || g->waiters > 0) cv_.notify_all();
}

// The commit hook's blocks go straight into the transaction being committed: the
// committer owns it, no handle is active, and no checkpoint is writing home (commits are
// serialized by commit_mu_, and a checkpoint's write-back ends inside its own commit).
Status Journal::register_into(Txn& t, uint64_t n) {
  if (t.blocks.find(n) != nullptr) return Status::Ok();
  BENTO_ASSIGN_OR_RETURN(BufferHead pin, dev_.bread(n));
  BENTO_TRY(t.order.push_back(n));
  Status s = t.blocks.insert(n, std::move(pin));
  if (!s.ok()) t.order.pop_back();
  return s;
}

bool Journal::defer_log_only() {
  auto g = st_.lock();
  if (!g->locked || g->log_window || g->hook == nullptr || !g->thread_running || g->error != 0)
    return false;
  g->deferred = true;
  return true;
}

void Journal::deferred_done() {
  st_.lock()->deferred = false;
}

Status Journal::register_block(uint64_t n) {
  {
    auto g = st_.lock();
    if (g->running.blocks.find(n) != nullptr) return Status::Ok();
    freeze_going_home(g, n);
  }
  // A second pin, owned by the transaction (a cache hit: the caller holds the block).
  BENTO_ASSIGN_OR_RETURN(BufferHead pin, dev_.bread(n));
  auto g = st_.lock();
  if (g->running.blocks.find(n) != nullptr) return Status::Ok();
  BENTO_TRY(g->running.order.push_back(n));
  Status s = g->running.blocks.insert(n, std::move(pin));
  if (!s.ok()) g->running.order.pop_back();
  return s;
}

uint64_t Journal::committed_tid() {
  return st_.lock()->committed_tid;
}
uint64_t Journal::next_sequence() {
  return st_.lock()->running_tid;
}

Status Journal::wait_commit(uint64_t tid) {
  auto g = st_.lock();
  if (tid < g->fsync_floor) tid = g->fsync_floor;
  for (;;) {
    if (g->error != 0) return Err(EIO);
    if (g->committed_tid >= tid) return Status::Ok();
    // Nothing of that transaction was written, and no earlier one is still being written:
    // a commit in flight has already moved running_tid on but not committed_tid (syncfs
    // returned before it, and the provenance records it holds were not yet readable).
    if (tid >= g->running_tid && g->running.order.empty() && g->active == 0 &&
        g->committed_tid + 1 >= g->running_tid && !g->deferred)
      return Status::Ok();
    if (!g->thread_running) return Status::Ok();  // shutdown commits everything
    g->commit_requested = true;
    cv_.notify_all();
    // Counted as a waiter: the handle that ends last must wake us (a commit that found
    // nothing to write does not notify).
    g->waiters++;
    cv_.wait(g);
    g->waiters--;
  }
}

Status Journal::checkpoint_now() {
  return commit(true);
}

Status Journal::commit(bool checkpoint) {
  commit_mu_.lock();
  Status s = commit_locked(checkpoint);
  commit_mu_.unlock();
  if (!s.ok())
    bento::log(bento::LogLevel::kError, "bento-fs: journal write failed; fs now read-only");
  return s;
}

Status Journal::commit_locked(bool checkpoint) {
  Txn t;
  uint64_t tid = 0;
  bento::Vec<BufferHead> log;
  bool have = false;
  uint64_t head = 0;
  CommitHook hook = nullptr;
  void* hook_arg = nullptr;
  bento::HashMap<uint64_t, BufferHead> home;  // a checkpoint's blocks: pinned until home
  {
    auto g = st_.lock();
    if (g->error != 0) return Err(EIO);
    if (g->running.order.empty() && !checkpoint && !g->deferred) return Status::Ok();
    g->locked = true;
    while (g->active > 0) cv_.wait(g);
    // Work deferred to the hook (defer_log_only) changes blocks there: a transaction even
    // when no handle changed anything.
    if (!g->running.order.empty() || (g->deferred && g->hook != nullptr)) {
      t = std::move(g->running);
      g->running = Txn{};
      tid = g->running_tid++;  // at once: wait_commit(tid) must not take it for empty
      head = g->head;
      have = true;
      hook = g->hook;
      hook_arg = g->hook_arg;
    }
    if (checkpoint) {
      home = std::move(g->checkpoint);
      g->checkpoint = bento::HashMap<uint64_t, BufferHead>{};
    }
  }
  // Quiescent (`locked`, no active handle): nobody modifies buffers. Copy the transaction
  // into log buffers without the state mutex: getblk may write back dirty buffers to make
  // room, and that I/O must not hold up wait_commit, status reads or a live upgrade's
  // handover (which takes the mutex inside the pause).
  uint64_t new_head = head;
  Status st = Status::Ok();
  if (have) {
    if (hook != nullptr) {
      Handle h(this, tid, 0, &t);
      st = hook(hook_arg, h);
    }
    if (st.ok() && t.order.empty()) {
      // The deferred work was done by a handle meanwhile: nothing to commit after all. The
      // id goes back (replay expects consecutive ones); no handle began while locked.
      have = false;
      auto g = st_.lock();
      g->running_tid = tid;
    }
    if (st.ok() && have) st = stage_txn(t, tid, head, &log, &new_head);
  }
  bool background = false;  // a checkpoint whose write-back lets handles run
  {
    auto g = st_.lock();
    if (!st.ok()) {
      g->error = st.error();
      g->locked = false;
      cv_.notify_all();
      return st;
    }
    if (have) g->head = new_head;
    if (checkpoint && background_checkpoints_) background = start_going_home(*g, home, t).ok();
    // Handles run again while the log is written (commit_mu_ keeps commits in order, so a
    // checkpoint's write-back holds later commits back, not handles). A checkpoint that
    // cannot write around the cache (or found no memory for its list) writes the live
    // buffers and keeps the window closed until the log is reset, except to handles that
    // only append to the provenance log (begin_log_only): its header's buffer holds this
    // transaction's header until the next commit hook, so what the write-back takes home
    // of their appends lies past the tail it records.
    if (!checkpoint || background) {
      g->locked = false;
    } else {
      g->log_window = true;
    }
    cv_.notify_all();
  }
  Status s = have ? write_staged(log) : Status::Ok();
  log.clear();
  uint64_t seq = 0;
  {
    auto g = st_.lock();
    if (s.ok() && have) {
      g->committed_tid = tid;
      auto& into = checkpoint ? home : g->checkpoint;
      for (size_t i = 0; !background && i < t.order.size(); i++) {  // else going home
        const uint64_t n = t.order[i];
        BufferHead* pin = t.blocks.find(n);
        if (into.find(n) == nullptr) s = into.insert(n, std::move(*pin));
        if (!s.ok()) break;
      }
    }
    if (!s.ok()) g->error = s.error();
    if (!s.ok() || !checkpoint) {
      if (checkpoint) g->locked = g->log_window = false;
      end_going_home(*g);
      cv_.notify_all();
      return s;
    }
    seq = g->running_tid;  // the next commit's: none runs before the log is reset
  }
  // The checkpoint's I/O runs without the state mutex: commit_mu_ keeps other committers
  // out, and fsync waiters, status reads and a live upgrade's handover (which hands the
  // journal over mid-checkpoint) are not held up by the disk.
  s = background ? write_going_home(seq) : do_checkpoint(home, seq);
  home.clear();  // unpins: every block's committed content is home now (or s failed)
  auto g = st_.lock();
  end_going_home(*g);
  if (s.ok()) {
    // Handles that waited for log space see it again; the request they made is served.
    g->head = 1;
    g->checkpoint_requested = false;
  } else {
    g->error = s.error();
  }
  g->locked = g->log_window = false;
  cv_.notify_all();
  return s;
}

// A checkpoint writing around the cache: its blocks (the committed set and the
// transaction committed with it) are listed in `going_home` while no handle runs, with
// their pins; the write-back then writes each block's live buffer, or the copy a handle
// froze before changing it (freeze_going_home). So handles run during the write-back, and
// nothing they change there reaches home before it commits. The pins keep the buffers in
// the cache until their block is home: a dropped buffer would be re-read stale. Fails
// (ENOMEM, nothing changed) to the checkpoint that keeps handles out.
Status Journal::start_going_home(State& s, bento::HashMap<uint64_t, BufferHead>& home, Txn& t) {
  const size_t count = home.size() + t.order.size();
  BENTO_TRY(s.going_home.reserve(count));
  BENTO_TRY(s.going_home_order.reserve(count));
  home.for_each([&](const uint64_t& n, BufferHead& pin) {
    (void)s.going_home.insert(n, HomeBlock{std::move(pin), {}, false});  // reserved
    (void)s.going_home_order.push_back(n);
  });
  for (uint64_t n : t.order) {
    if (s.going_home.find(n) != nullptr) continue;
    (void)s.going_home.insert(n, HomeBlock{std::move(*t.blocks.find(n)), {}, false});
    (void)s.going_home_order.push_back(n);
  }
  home.clear();
  sort_blocks(s.going_home_order);
  return Status::Ok();
}

void Journal::end_going_home(State& s) {
  s.going_home.clear();  // unpins, frees the frozen copies
  s.going_home_order.clear();
  s.writing_home = kNoBlock;
  if (s.home_waiters > 0) home_cv_.notify_all();
}

// A handle is about to change block n: if a checkpoint still has to write n home, keep a
// copy of what it must write (or wait the few µs while the writer has it in hand; also
// what happens where no memory is left for a copy).
void Journal::freeze_going_home(Guard& g, uint64_t n) {
  for (;;) {
    HomeBlock* hb = g->going_home.find(n);
    if (hb == nullptr || hb->done || !hb->frozen.empty()) return;
    if (g->writing_home != n && hb->frozen.resize(kBs).ok()) {
      __builtin_memcpy(hb->frozen.data(), hb->pin.data().data(), kBs);
      return;
    }
    g->home_waiters++;
    home_cv_.wait(g);
    g->home_waiters--;
  }
}

// Writes every going-home block (its frozen copy, or the live buffer, which no handle
// changes while `writing_home` names it), makes them durable, then resets the log.
Status Journal::write_going_home(uint64_t seq) {
  size_t count;
  {
    auto g = st_.lock();
    count = g->going_home_order.size();
  }
  for (size_t i = 0; i < count; i++) {
    uint64_t n;
    const uint8_t* src;
    {
      auto g = st_.lock();
      n = g->going_home_order[i];
      HomeBlock* hb = g->going_home.find(n);
      src = hb->frozen.empty() ? hb->pin.data().data() : hb->frozen.data();
      if (hb->frozen.empty()) g->writing_home = n;
    }
    Status w = dev_.write_around(n, {src, kBs});
    {
      auto g = st_.lock();
      g->going_home.find(n)->done = true;
      g->writing_home = kNoBlock;
      if (g->home_waiters > 0) home_cv_.notify_all();  // not cv_: no wake-up per block for begin()
    }
    BENTO_TRY(w);
  }
  BENTO_TRY(dev_.flush());
  return write_super(dev_, start_, blocks_, seq);
}

// Copies the transaction into log buffers: descriptors, block images, commit block.
Status Journal::stage_txn(Txn& t, uint64_t tid, uint64_t head, bento::Vec<BufferHead>* log,
                          uint64_t* new_head) {
  uint64_t n = t.order.size();
  if (head + log_blocks_for(n) > blocks_) return Err(ENOSPC);
  uint32_t crc = ~0u;
  uint64_t p = head;
  for (uint64_t i = 0; i < n; i += kDescriptorCapacity) {
    uint32_t cnt = static_cast<uint32_t>(n - i < kDescriptorCapacity ? n - i : kDescriptorCapacity);
    BENTO_ASSIGN_OR_RETURN(BufferHead desc, dev_.getblk(start_ + p));
    uint8_t* d = desc.data_mut().data();
    __builtin_memset(d, 0, kBs);
    fill_header(d, kJBlockDescriptor, tid, cnt, 0);
    for (uint32_t k = 0; k < cnt; k++)
      store_le64(d + sizeof(JournalHeader) + 8 * k, t.order[i + k]);
    crc = crc32c_update(crc, d, kBs);
    BENTO_TRY(log->push_back(std::move(desc)));
    p++;
    for (uint32_t k = 0; k < cnt; k++) {
      const BufferHead* src = t.blocks.find(t.order[i + k]);
      BENTO_ASSIGN_OR_RETURN(BufferHead lb, dev_.getblk(start_ + p));
      __builtin_memcpy(lb.data_mut().data(), src->data().data(), kBs);
      crc = crc32c_update(crc, lb.data().data(), kBs);
      BENTO_TRY(log->push_back(std::move(lb)));
      p++;
    }
  }
  BENTO_ASSIGN_OR_RETURN(BufferHead cb, dev_.getblk(start_ + p));
  uint8_t* c = cb.data_mut().data();
  __builtin_memset(c, 0, kBs);
  fill_header(c, kJBlockCommit, tid, static_cast<uint32_t>(p - head), ~crc);
  BENTO_TRY(log->push_back(std::move(cb)));
  *new_head = p + 1;
  return Status::Ok();
}

// Writes the staged log: every block but the commit, a barrier, the commit, a barrier.
Status Journal::write_staged(bento::Vec<BufferHead>& log) {
  for (size_t i = 0; i + 1 < log.size(); i++) {
    log[i].mark_dirty();  // caches write only dirty buffers on sync()
    BENTO_TRY(log[i].sync());
  }
  BENTO_TRY(dev_.flush());
  log.back().mark_dirty();
  BENTO_TRY(log.back().sync());
  return dev_.flush();
}

Status Journal::do_checkpoint(bento::HashMap<uint64_t, BufferHead>& home, uint64_t seq) {
  home.for_each([](const uint64_t&, BufferHead& bh) { bh.mark_dirty(); });
  home.clear();  // unpins
  BENTO_TRY(dev_.sync_all());
  return write_super(dev_, start_, blocks_, seq);
}

}  // namespace bentofs
