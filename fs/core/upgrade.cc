// Live upgrade: update_prepare hands the state on; update_transfer starts from it.
#include <bento/log.h>

#include "core/bento_fs.h"
#include "core/upgrade_state.h"

namespace bentofs {

Result<bento::TransferState> BentoFs::update_prepare() {
  if (!running()) return Err(EINVAL);
  BENTO_ASSIGN_OR_RETURN(auto st, bento::make_unique<BentoFsStateV1>());
  Status err = Status::Ok();
  icache_.for_each([&](InodeObj* o) {
    if (err.ok() && !o->deleted && (o->nlookup > 0 || o->nopen > 0))
      err = st->inodes.push_back({o->ino, o->nlookup, o->nopen});
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
  // Make the disk consistent and stop the journal thread; the device stays as it is.
  if (!read_only_) {
    BENTO_TRY(write_super_fields(false));
    BENTO_TRY(journal_->shutdown());
  }
  journal_.reset();
  BENTO_TRY(dev_->sync_all());
  icache_.clear();
  handles_.lock()->clear();
  inert_ = true;  // from now on this instance touches nothing
  return bento::TransferState::make(std::move(st));
}

Status BentoFs::update_transfer(bento::TransferState& state, BlockDevice& dev) {
  if (running()) return Err(EBUSY);
  if (state.kind() != std::string_view(BentoFsStateV1::kKind) ||
      state.version() != BentoFsStateV1::kVersion || !state.holds<BentoFsStateV1>()) {
    bento::log(bento::LogLevel::kError, "bento-fs: refusing upgrade state of another kind/version");
    return Err(EPROTO);
  }
  auto st = state.take<BentoFsStateV1>();
  commit_ms_ = st->commit_ms;
  // Orphans still referenced by the state must survive: no orphan processing here.
  Status s = mount(dev, st->read_only != 0, false);
  if (!s.ok()) {
    state = bento::TransferState::make(std::move(st));  // leave the state as it was
    return s;
  }
  for (const auto& c : st->inodes) {
    auto r = icache_.get(c.ino);
    if (!r.ok()) continue;
    icache_.add_lookup(r->get(), c.nlookup);
    for (uint64_t i = 0; i < c.nopen; i++) icache_.add_open(r->get());
  }
  {
    auto g = handles_.lock();
    for (const auto& h : st->handles)
      (void)g->insert(h.fh, OpenFile{h.ino, h.flags, h.is_dir != 0});
  }
  next_fh_.store(st->next_fh);
  return Status::Ok();
}

}  // namespace bentofs
