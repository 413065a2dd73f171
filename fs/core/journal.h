// The journal: physical block journaling with group commit (FORMAT.md §6).
//
// Every change to a block goes through a Handle, which joins the single running
// transaction. The commit thread closes the running transaction every interval (or when
// fsync or journal space asks): new handles wait while the active ones finish (a short
// quiescent window), the changed blocks are copied into log buffers, handles resume, and
// the log blocks, then the commit block, are written and flushed. Journaled home buffers
// stay pinned and clean until a checkpoint writes them home and resets the log, so nothing
// reaches its home location before its commit. Where the device writes around its cache
// (BlockDevice::write_around), a checkpoint starts when half the log is in use and lets
// handles run during its write-back: a handle about to change a block still to be written
// home first freezes a copy of it (fs/NOTES.md "Checkpoints that keep no handle out");
// only the next commit waits. Elsewhere it writes the live buffers with handles kept out.
//
// Rule for callers: begin() a handle BEFORE taking any inode lock (begin may wait for a
// commit, which waits for active handles).
#pragma once

#include <bento/block_device.h>
#include <bento/hash_map.h>
#include <bento/result.h>
#include <bento/sync.h>
#include <bento/thread.h>
#include <bento/vec.h>

#include <cstdint>

namespace bentofs {

using bento::BlockDevice;
using bento::BufferHead;
using bento::Err;
using bento::Result;
using bento::Status;

class Journal;
// A transaction's blocks (journal.cc): pinned buffers and the order they were first changed.
struct TxnBlocks {
  bento::HashMap<uint64_t, BufferHead> blocks;
  bento::Vec<uint64_t> order;
};

class Handle {
 public:
  Handle() = default;
  Handle(Handle&& o) noexcept : j_(o.j_), tid_(o.tid_), credits_(o.credits_), into_(o.into_) {
    o.j_ = nullptr;
  }
  Handle& operator=(Handle&&) = delete;
  Handle(const Handle&) = delete;
  ~Handle() { end(); }

  // Block n for modification (read from disk/cache), registered with the transaction.
  Result<BufferHead> get_write(uint64_t n);
  // Block n zero-filled, registered: for freshly allocated blocks.
  Result<BufferHead> get_new(uint64_t n);
  uint64_t tid() const { return tid_; }
  Journal& journal() const { return *j_; }
  void end();

 private:
  friend class Journal;
  Handle(Journal* j, uint64_t tid, uint32_t credits, TxnBlocks* into = nullptr)
      : j_(j), tid_(tid), credits_(credits), into_(into) {}
  Journal* j_ = nullptr;
  uint64_t tid_ = 0;
  uint32_t credits_ = 0;
  // The commit hook's handle: registers straight into the transaction being committed
  // (quiescent, owned by the committer), and is not one of the active handles.
  TxnBlocks* into_ = nullptr;
};

class Journal {
 public:
  // start/blocks: the journal area. sequence: the next transaction id (from replay).
  Journal(BlockDevice& dev, uint64_t start, uint64_t blocks, uint64_t sequence);
  ~Journal();

  // Replays committed transactions into their home blocks, syncs, resets the journal.
  // Returns the next sequence number. EUCLEAN when the journal superblock is bad.
  // With `in_memory` (read-only mounts) nothing is written: the replayed blocks are put in
  // the device's cache, clean, and kept pinned by the handles appended to *in_memory, so
  // the mount sees the replayed image while the device stays untouched.
  static Result<uint64_t> replay(BlockDevice& dev, uint64_t start, uint64_t blocks,
                                 uint64_t* replayed_txns,
                                 bento::Vec<BufferHead>* in_memory = nullptr);
  // How many committed transactions replay would apply (writes nothing): fsck -n's
  // "not replayed" note. A transaction whose commit block never made it does not count.
  static Result<uint64_t> committed_in_log(BlockDevice& dev, uint64_t start, uint64_t blocks);
  // Writes an empty journal superblock (mkfs, and after replay).
  static Status write_super(BlockDevice& dev, uint64_t start, uint64_t blocks, uint64_t seq);

  Status start_thread(uint32_t interval_ms);
  // Commits and checkpoints everything and stops the thread (unmount).
  Status shutdown();

  // Live upgrade (NOTES.md "Live upgrade"): the Journal object itself is handed to the new
  // instance. suspend() retires the commit thread at a safe point WITHOUT committing: the
  // running transaction, the committed-but-not-checkpointed buffers (all still pinned in
  // the device's cache, clean, so nothing reaches a home location early), head, sequence
  // numbers and pending commit/checkpoint requests stay as they are. The thread is never
  // waited for (no scheduler wake-up and no disk I/O inside the pause): its epoch is
  // bumped; an idle one only leaves when it wakes, a busy one finishes the commit or
  // checkpoint it is running on this same object first (commit_mu_ keeps commits in
  // order; a checkpoint keeps handles out through `locked` as usual). Its handle goes to
  // *retired, which the caller (in the module whose code the thread runs) must join
  // before that module is unloaded. EBUSY (nothing changed) if a handle is active or
  // work deferred to the hook is waiting (defer_log_only: the caller flushes it first).
  // resume() (the new module) starts a new thread and keeps the commit deadline.
  Status suspend(bento::Thread* retired);
  // Called once per commit, in the quiescent window (no active handle, `locked`) before the
  // transaction is copied into the log, without the state mutex: lets a block that many
  // handles of one transaction change (the provenance log's header) be filled in once,
  // with its final content, instead of by every handle, and lets work deferred while the
  // journal was quiescing (defer_log_only) join the transaction. `h` changes blocks in the
  // transaction being committed (tid h.tid()). nullptr: none. suspend() clears it (the new
  // instance sets its own); a commit already under way may still call the old one.
  using CommitHook = Status (*)(void* arg, Handle& h);
  void set_commit_hook(CommitHook fn, void* arg);
  // Instead of a log-only handle that would wait for a commit's quiescent window: true when
  // the journal is quiescing or copying a transaction (`locked`, not a checkpoint's log
  // window) and a commit hook is set, which then takes on the work: the commit under way if
  // its hook has not run yet, else the next one, which runs even with no other change
  // (`deferred`, also seen by wait_commit) and so no later than the commit of any handle
  // that begins after this call. The caller keeps its work for the hook until it calls
  // deferred_done(), under a lock that also covers its own call of this (the provenance
  // log's mutex), so that no deferral is left without a commit to take it.
  bool defer_log_only();
  void deferred_done();
  Status resume(uint32_t interval_ms);
  BlockDevice& device() const { return dev_; }

  // Joins the running transaction; credits bounds the blocks this handle will touch.
  Result<Handle> begin(uint32_t credits);
  // The same, for a handle that only appends to the provenance log (bytes at or past the
  // log's tail, and registering its header block, whose buffer only the commit hook
  // writes): it may also begin during the I/O of a checkpoint writing live buffers
  // (`log_window`), which keeps every other handle out for the whole write-back (hundreds
  // of ms). What that write-back takes home of such a handle's blocks lies past the tail of
  // the header it also writes home, which readers and recovery ignore; the handle's
  // transaction commits after the checkpoint as usual.
  Result<Handle> begin_log_only(uint32_t credits);
  // begin_log_only, but EAGAIN instead of waiting out a commit's quiescent window (the
  // caller may defer its work to the hook instead: defer_log_only).
  Result<Handle> try_begin_log_only(uint32_t credits);
  // Waits until transaction tid is durable (fsync); after a live upgrade, at least every
  // transaction handed over (the new instance's inodes lost their last_tid).
  Status wait_commit(uint64_t tid);
  // Commits and checkpoints now (tests, sync).
  Status checkpoint_now();
  uint64_t committed_tid();
  uint64_t next_sequence();

 private:
  friend class Handle;
  using Txn = TxnBlocks;
  // A block a checkpoint is writing home while handles run (start_going_home).
  struct HomeBlock {
    BufferHead pin;              // the live buffer, kept in the cache until home
    bento::Vec<uint8_t> frozen;  // its committed content, copied before a handle changed it
    bool done = false;           // home (not yet durable before the checkpoint's flush)
  };
  static constexpr uint64_t kNoBlock = ~uint64_t{0};
  struct State {
    bool locked = false;      // quiescing: new handles wait
    bool log_window = false;  // locked for a checkpoint's I/O: begin_log_only() may join
    uint32_t active = 0;
    uint32_t waiters = 0;  // threads blocked in begin() or wait_commit()
    uint64_t reserved = 0;
    uint64_t running_tid = 1;
    uint64_t committed_tid = 0;
    Txn running;
    bento::HashMap<uint64_t, BufferHead> checkpoint;  // committed, not yet written home
    // A checkpoint's write-back in progress with handles running: its blocks, the order
    // it writes them in, and the one it is writing from the live buffer now.
    bento::HashMap<uint64_t, HomeBlock> going_home;
    bento::Vec<uint64_t> going_home_order;
    uint64_t writing_home = kNoBlock;
    uint32_t home_waiters = 0;  // handles waiting on home_cv_ for writing_home
    uint64_t head = 1;          // next free log block (area-relative)
    bool commit_requested = false;
    bool checkpoint_requested = false;
    bool stop = false;
    bool thread_running = false;
    int64_t deadline_ns = 0;  // next periodic commit (monotonic; survives suspend/resume)
    // Commit threads: only the one of the current epoch works; older ones (retired by
    // suspend while idle) leave as soon as they wake. ~Journal waits for all to leave.
    uint64_t thread_epoch = 0;
    uint32_t threads_alive = 0;
    bool current_alive = false;  // the current epoch's thread has not left
    bool thread_idle = false;    // the current thread waits for work (or has not started)
    // wait_commit waits for at least this transaction: set by suspend() because the new
    // instance's inodes do not know which transaction last changed them (fsync).
    uint64_t fsync_floor = 0;
    int error = 0;  // sticky: after an I/O error the journal refuses new handles
    CommitHook hook = nullptr;
    void* hook_arg = nullptr;
    bool deferred = false;  // the hook has work deferred to it (defer_log_only)
  };
  using Guard = bento::Mutex<State>::Guard;

  struct ThreadArg {
    Journal* j;
    uint64_t epoch;
  };
  static void thread_main(void* arg);
  void run(uint64_t epoch);
  void end_handle(uint32_t credits);
  Status register_block(uint64_t n);
  Status register_into(Txn& t, uint64_t n);
  bool fits(const State& s, uint64_t credits) const;
  Result<Handle> begin_handle(uint32_t credits, bool log_only, bool wait_if_locked = true);
  // Quiesces, commits the running transaction; keeps the quiescent window open when
  // checkpoint is set and then writes everything home and resets the log.
  Status commit(bool checkpoint);
  Status commit_locked(bool checkpoint);
  Status stage_txn(Txn& t, uint64_t tid, uint64_t head, bento::Vec<BufferHead>* log,
                   uint64_t* new_head);
  Status write_staged(bento::Vec<BufferHead>& log);
  // Writes a checkpoint's blocks home and resets the log (called without the state mutex,
  // with commit_mu_ held and handles kept out by `locked`).
  Status do_checkpoint(bento::HashMap<uint64_t, BufferHead>& home, uint64_t seq);
  // A checkpoint that writes around the cache (journal.cc, start_going_home).
  Status start_going_home(State& s, bento::HashMap<uint64_t, BufferHead>& home, Txn& t);
  void end_going_home(State& s);
  void freeze_going_home(Guard& g, uint64_t n);
  Status write_going_home(uint64_t seq);

  BlockDevice& dev_;
  uint64_t start_;
  uint64_t blocks_;
  uint64_t margin_;
  const bool background_checkpoints_;  // the device writes around its cache
  int64_t interval_ns_ = 1000000000;
  bool started_ = false;  // set by start_thread, cleared by shutdown
  bento::Mutex<State> st_;
  bento::CondVar cv_;
  bento::CondVar home_cv_;     // a block being written home (freeze_going_home)
  bento::RawMutex commit_mu_;  // one commit/checkpoint at a time
  bento::Thread thread_;
};

}  // namespace bentofs
