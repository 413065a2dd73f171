// Live upgrade: update_prepare hands the state on; update_transfer starts from it.
//
// v2 (NOTES.md "Live upgrade"): the journal is not flushed inside the pause. The Journal
// object, with its commit thread stopped at a safe point, travels in the payload; the
// dirty (journaled, pinned) buffers stay in the host's cache. Prepare gathers and
// allocates first and dismantles last, so it fails without side effects.
#include <bento/log.h>

#include "core/bento_fs.h"
#include "core/upgrade_state.h"

namespace bentofs {

Result<bento::TransferState> BentoFs::update_prepare() {
  if (!running()) return Err(EINVAL);
  if (!ro_replayed_.empty()) {
    // Its journal was replayed only into this instance's pinned buffers.
    bento::log(bento::LogLevel::kError,
               "bento-fs: cannot upgrade a read-only mount whose journal was replayed in "
               "memory; remount it read-write once (or run fsck.bento -y) first");
    return Err(EBUSY);
  }
  // 1. Allocate and gather (may fail; changes nothing).
  BENTO_ASSIGN_OR_RETURN(auto st, bento::make_unique<BentoFsStateV3>());
  Status err = Status::Ok();
  icache_.for_each([&](InodeObj* o) {
    if (err.ok() && !o->deleted && (o->nlookup > 0 || o->nopen > 0))
      err = st->inodes.push_back({o->ino, o->nlookup, o->nopen, o->linkable ? 1u : 0u, 0});
  });
  BENTO_TRY(err);
  {
    auto g = handles_.lock();
    g->for_each([&](const Fh& fh, OpenFile& f) {
      if (err.ok()) err = st->handles.push_back({fh, f.ino, f.flags, f.is_dir ? 1u : 0u});
    });
  }
  BENTO_TRY(err);
  st->next_fh = next_fh_.load();
  st->block_cursor = balloc_.cursor();
  st->inode_cursor = ialloc_.cursor();
  st->commit_ms = commit_ms_;
  st->read_only = read_only_ ? 1 : 0;
  st->next_generation = next_generation_.load();
  st->atime_policy = static_cast<uint32_t>(atime_);
  st->nodiratime = nodiratime_ ? 1 : 0;
  st->lazytime = lazytime_ ? 1 : 0;
  // 2. Retire the commit thread at a safe point; nothing is committed or written. Records
  // deferred to the next commit's hook go in first (only this instance's hook knows them),
  // then the log header into its (journaled) buffer: the next instance loads it there.
  BENTO_TRY(prov_flush_deferred());
  BENTO_TRY(prov_.sync_header());
  BENTO_TRY(journal_->suspend(&retired_jthread_));
  // 3. Dismantle (cannot fail). From now on this instance touches nothing.
  st->journal = std::move(journal_);
  icache_.clear();
  handles_.lock()->clear();
  inert_ = true;
  return bento::TransferState::make(std::move(st));
}

template <typename S>
void BentoFs::restore_counts(const S& st) {
  for (const auto& c : st.inodes) {
    auto r = icache_.get(c.ino);
    if (!r.ok()) continue;
    icache_.add_lookup(r->get(), c.nlookup);
    for (uint64_t i = 0; i < c.nopen; i++) icache_.add_open(r->get());
    if constexpr (requires { c.linkable; }) (*r)->linkable = c.linkable != 0;
  }
  {
    auto g = handles_.lock();
    for (const auto& h : st.handles) {
      OpenFile f;
      f.ino = h.ino;
      f.flags = h.flags;
      f.is_dir = h.is_dir != 0;
      (void)g->insert(h.fh, f);
    }
  }
  next_fh_.store(st.next_fh);
}

template <typename S>
Status BentoFs::transfer_live(bento::TransferState& state, BlockDevice& dev) {
  auto st = state.take<S>();
  if (!st->journal || st->journal_layout != sizeof(Journal) || &st->journal->device() != &dev) {
    bento::log(bento::LogLevel::kError, "bento-fs: upgrade state unusable here (journal)");
    state = bento::TransferState::make(std::move(st));  // leave the state as it was
    return Err(EINVAL);
  }
  uint32_t old_commit_ms = commit_ms_;
  const AtimePolicy old_atime = atime_;
  const bool old_nodiratime = nodiratime_, old_lazytime = lazytime_;
  commit_ms_ = st->commit_ms;
  if constexpr (requires { st->atime_policy; }) {
    atime_ = st->atime_policy <= static_cast<uint32_t>(AtimePolicy::kNever)
                 ? static_cast<AtimePolicy>(st->atime_policy)
                 : AtimePolicy::kRelatime;
    nodiratime_ = st->nodiratime != 0;
    lazytime_ = st->lazytime != 0;
  }
  Resumed res{&st->journal, st->block_cursor, st->inode_cursor, st->next_generation};
  Status s = mount(dev, st->read_only != 0, false, &res);
  if (!s.ok()) {
    commit_ms_ = old_commit_ms;
    atime_ = old_atime;
    nodiratime_ = old_nodiratime;
    lazytime_ = old_lazytime;
    state = bento::TransferState::make(std::move(st));  // mount gave the journal back
    return s;
  }
  restore_counts(*st);
  (void)prov_session(true);  // logs; the mount is already live
  return Status::Ok();
}

Status BentoFs::update_transfer(bento::TransferState& state, BlockDevice& dev) {
  if (running()) return Err(EBUSY);
  const bool ours = state.kind() == std::string_view(BentoFsStateV3::kKind);
  if (ours && state.version() == BentoFsStateV3::kVersion && state.holds<BentoFsStateV3>())
    return transfer_live<BentoFsStateV3>(state, dev);
  if (ours && state.version() == BentoFsStateV2::kVersion && state.holds<BentoFsStateV2>())
    return transfer_live<BentoFsStateV2>(state, dev);
  // v1: an older module committed and checkpointed everything; mount normally.
  if (state.kind() != std::string_view(BentoFsStateV1::kKind) ||
      state.version() != BentoFsStateV1::kVersion || !state.holds<BentoFsStateV1>()) {
    bento::log(bento::LogLevel::kError, "bento-fs: refusing upgrade state of another kind/version");
    return Err(EPROTO);
  }
  auto st = state.take<BentoFsStateV1>();
  uint32_t old_commit_ms = commit_ms_;
  commit_ms_ = st->commit_ms;
  // Orphans still referenced by the state must survive: no orphan processing here.
  Status s = mount(dev, st->read_only != 0, false);
  if (!s.ok()) {
    commit_ms_ = old_commit_ms;
    state = bento::TransferState::make(std::move(st));  // leave the state as it was
    return s;
  }
  restore_counts(*st);
  (void)prov_session(true);  // logs; the mount is already live
  return Status::Ok();
}

}  // namespace bentofs
