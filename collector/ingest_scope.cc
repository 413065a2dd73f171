// Ingest: which activities the database keeps (ingest.h "scope"), what waits until they
// are kept, and the pipe and socket flows that carry the decision from one end to the
// other.
#include <fcntl.h>

#include <algorithm>
#include <deque>

#include "ingest.h"

namespace bento::collector {

namespace {

constexpr size_t kPendingCap = 500000;  // items waiting in all
constexpr size_t kPendingPerActivity = 4096;
constexpr size_t kDroppedCap = 1 << 20;          // activities remembered as having lost events
constexpr uint64_t kMargin = 30'000'000'000ULL;  // after the logs were read past an item
// What an activity that wrote a file outside the mounts did waits this long: the file may
// be read into the mount later (a download copied in after a look at it).
constexpr uint64_t kWriterMargin = 600'000'000'000ULL;
constexpr size_t kOutsideWritersCap = 1 << 18;

bool reads(uint32_t flags) {
  return (flags & O_ACCMODE) != O_WRONLY;
}
bool writes(uint32_t flags) {
  return (flags & O_ACCMODE) != O_RDONLY;
}

}  // namespace

Ingest::Keep Ingest::kept(int64_t act) const {
  if (keep_all_) return act != 0 ? kFull : kNotKept;
  auto it = kept_.find(act);
  return it == kept_.end() ? kNotKept : it->second;
}

void Ingest::make_relevant(int64_t act) {
  keep(act, kFull);
}

void Ingest::make_forward(int64_t act) {
  keep(act, kForward);
}

// Raises an activity's level and stores what of its waiting items that level covers; the
// flows this stores may keep further activities (a worklist, not recursion: chains of
// pipes can be long).
void Ingest::keep(int64_t act, Keep level) {
  if (act == 0 || kept(act) >= level) return;
  if (keep_work_ != nullptr) {  // inside a running keep(): its loop takes it
    keep_work_->push_back({act, level});
    return;
  }
  std::deque<std::pair<int64_t, Keep>> work = {{act, level}};
  keep_work_ = &work;
  while (!work.empty()) {
    auto [a, lv] = work.front();
    work.pop_front();
    if (a == 0 || kept(a) >= lv) continue;
    if (kept_.size() > (1u << 21)) kept_.clear();  // a cache: re-learnt from later records
    kept_[a] = lv;
    if (lv == kFull) keep_ancestor_programs(a);
    if (auto d = dropped_.find(a); d != dropped_.end()) {
      // Kept after some of what it did was dropped: the answers must say so where they
      // show it.
      store_.action(a, d->second.newest, "inputs-lost", 0, 0,
                    "{\"events\":" + std::to_string(d->second.items) +
                        ",\"why\":\"provd's memory for undecided events was full\"}");
      dropped_.erase(d);
    }
    auto it = pending_.find(a);
    if (it == pending_.end()) continue;
    std::vector<PendingItem> items = std::move(it->second.items);
    pending_total_ -= items.size();
    pending_.erase(it);
    std::vector<PendingItem> still;
    for (const PendingItem& item : items) {
      if (lv == kFull || item.output)
        apply(a, item);
      else
        still.push_back(item);
    }
    if (!still.empty()) {
      pending_total_ += still.size();
      Pending& p = pending_[a];
      for (auto& item : still) {
        p.newest = std::max(p.newest, item.t);
        p.held = p.held || item.program || item.instant;
        p.reads = p.reads || item.data_read();
        p.items.push_back(std::move(item));
      }
    }
  }
  keep_work_ = nullptr;
}

void Ingest::wait(int64_t act, PendingItem item) {
  if (act == 0) return;
  if (pending_total_ >= kPendingCap) make_room();
  Pending& p = pending_[act];
  if (p.items.size() >= kPendingPerActivity) {
    // A busy process that is not (yet) kept: its oldest half goes, not what it does now.
    const size_t half = p.items.size() / 2;
    note_dropped(act, half, p.items[half - 1].t);
    p.items.erase(p.items.begin(), p.items.begin() + static_cast<ptrdiff_t>(half));
    pending_total_ -= half;
  }
  p.newest = std::max(p.newest, item.t);
  p.held = p.held || item.program || item.instant;
  p.reads = p.reads || item.data_read();
  p.items.push_back(std::move(item));
  pending_total_++;
}

// What waits is bounded (kPendingCap). When full, the activities that have waited longest
// without news go first (the least likely to be kept: a busy build host holds many
// writers of outside files for kWriterMargin), never the newest events, and each is
// remembered (note_dropped) so that keeping it later marks it.
void Ingest::make_room() {
  std::vector<std::pair<uint64_t, int64_t>> by_age;
  by_age.reserve(pending_.size());
  for (const auto& [act, p] : pending_) by_age.push_back({p.newest, act});
  std::sort(by_age.begin(), by_age.end());
  const size_t goal = kPendingCap - kPendingCap / 8;  // evict in batches: amortised O(1)
  for (const auto& [newest, act] : by_age) {
    if (pending_total_ <= goal) break;
    auto it = pending_.find(act);
    note_dropped(act, it->second.items.size(), newest);
    pending_total_ -= it->second.items.size();
    pending_.erase(it);
  }
}

void Ingest::pending_ended(int64_t act, uint64_t t) {
  if (auto it = pending_.find(act); it != pending_.end()) it->second.ended = t;
  if (auto it = dropped_.find(act); it != dropped_.end()) it->second.ended = t;
}

void Ingest::note_dropped(int64_t act, uint64_t items, uint64_t newest) {
  dropped_total_ += items;
  if (dropped_.size() >= kDroppedCap && dropped_.count(act) == 0) dropped_.clear();
  Dropped& d = dropped_[act];
  d.items += items;
  d.newest = std::max(d.newest, newest);
  if (auto p = pending_.find(act); p != pending_.end()) d.ended = p->second.ended;
}

void Ingest::apply(int64_t act, const PendingItem& item) {
  switch (item.kind) {
    case PendingItem::kOpen:
      outside_open(act, item);
      break;
    case PendingItem::kAction:
      fd_action(act, item);
      break;
    case PendingItem::kChannel:
      channel_store(item.path, act, item.t, item.output, item.program, item.open_ended,
                    item.passed);
      break;
    case PendingItem::kFileRead: {
      int64_t file = file_of(item.dev, item.ino, item.gen, "", item.t, false);
      if (source_for_dev(item.dev) == 0) {
        // Read through an fd another image opened (an inherited stdin, a passed fd): that
        // open may never be stored (its image not kept), so the file is made here with the
        // path it was opened by, and its writers are followed as for an open.
        if (file != 0 && !item.path.empty())  // a program named at its exec (a memfd's)
          name_if_never_named(file, item.path);
        if (file == 0 && !item.path.empty())
          file = outside_file(item.dev, item.ino, item.gen, item.path, item.t);
        if (file == 0)
          if (auto p = open_path_.find({item.dev, item.ino}); p != open_path_.end())
            file = outside_file(item.dev, item.ino, item.gen, p->second, item.t);
        if (file != 0) keep_outside_writers(act, item);
      }
      if (file == 0) break;
      if (item.program) {  // at the exec: the time the program's bytes began to matter
        store_.used(act, entity_at(file, item.t), item.t, "program");
      } else if (item.instant) {  // a device's bytes are those of that read (a typed line)
        const int64_t ent = device_version(file, item.t);
        store_.instant_transfer(act, ent, item.t, /*write=*/false, /*open_ended=*/false, "read");
        if (item.on_stdin) store_.used_on_stdin(act, ent);  // `tr -dc a-z < /dev/urandom`
      } else {
        const int64_t ent = entity_at(file, item.t);
        store_.used_exact(act, ent, item.t);
        if (item.on_stdin) store_.used_on_stdin(act, ent);
      }
      break;
    }
    case PendingItem::kFileWrite: {
      keep_opening_images(act, item);
      std::string name;  // for a file made here: the name it was opened by, if known
      if (auto p = open_path_.find({item.dev, item.ino});
          p != open_path_.end() && source_for_dev(item.dev) == 0)
        name = p->second;
      if (int64_t file = file_of(item.dev, item.ino, item.gen, name, item.t, true);
          file != 0 && item.instant) {
        store_.generated(terminal_session(file, act, item.t), act, item.t, "write");
      } else if (file != 0) {
        const int64_t ent = entity_at(file, item.t);
        if (source_for_dev(item.dev) == 0) remember_outside_write(act, item, ent);  // may fail
        store_.generated(ent, act, item.t, "write");
        if (source_for_dev(item.dev) == 0)  // a write after an end (end_outside_write)
          store_.reopen_outside_write(ent, act);
      }
      break;
    }
    case PendingItem::kMapping:
      store_mapping(act, item);
      break;
    case PendingItem::kRename:
      if (int64_t file = store_.find_outside_any_gen(item.dev, item.ino); file != 0)
        rename_outside(file, act, item.t, item.detail, item.path);
      break;
    case PendingItem::kUnlink:
      unlink_outside(act, item.t, item.path);
      break;
    case PendingItem::kListing:
      store_listing(act, item);
      break;
    case PendingItem::kTruncate: {
      const int64_t file = file_of(item.dev, item.ino, item.gen, item.path, item.t, true);
      if (file == 0) break;
      const int64_t prev = store_.version_at(file, item.t).id;
      const int64_t v = new_version(file, item.t, "", (item.flags & O_TRUNC) != 0);
      store_.generated(v, act, item.t, "truncate");
      // truncate(2) ends where it began; ftruncate's caller holds the file open for writing
      // and may write on, which the probes do not report again (first writes only): its
      // step lasts until it lets go of the file (end_outside_write) or ends.
      if (!item.by_fd) store_.generated_last(v, act, item.t);
      carry_outside_writers(prev, v, act, item.t);
      break;
    }
  }
}

void Ingest::defer(int64_t act, PendingItem item) {
  if (deferred_.size() + deferred_writes_.size() >= kPendingCap) {
    note_dropped(act, 1, item.t);
    return;
  }
  // Writes wait longer (kMountWriteMargin) in their own queue: the rest never waits on them.
  (item.kind == PendingItem::kFileWrite ? deferred_writes_ : deferred_)
      .push_back({act, std::move(item)});
}

// Deferred probe events whose time the mounts' logs have been read past: a mapping of a
// tracked file keeps its process (it writes the mount), a read waits like any input.
void Ingest::apply_deferred() {
  uint64_t horizon = UINT64_MAX;
  for (const auto& [source, m] : mounts_) {
    uint64_t h = 0;
    if (auto it = log_read_to_.find(source); it != log_read_to_.end()) h = it->second;
    if (auto it = record_time_.find(source); it != record_time_.end()) h = std::max(h, it->second);
    horizon = std::min(horizon, h);
  }
  const uint64_t margin = stopping_ ? 0 : kMountWriteMargin;
  while (!deferred_writes_.empty() && deferred_writes_.front().second.t + margin <= horizon) {
    auto [act, item] = std::move(deferred_writes_.front());
    deferred_writes_.pop_front();
    store_mount_write(act, item);
  }
  while (!deferred_.empty() && deferred_.front().second.t <= horizon) {
    auto [act, item] = std::move(deferred_.front());
    deferred_.pop_front();
    if (item.kind == PendingItem::kMapping)
      store_mapping(act, item);
    else if (item.kind == PendingItem::kAction)
      fd_action_or_wait(act, std::move(item));
    else if (kept(act) == kFull)
      apply(act, item);
    else
      wait(act, std::move(item));
  }
}

// ---- channels

Ingest::Channel& Ingest::channel(const std::string& key, Channel::Kind kind, uint64_t ino,
                                 const std::string& addr) {
  if (auto it = channels_.find(key); it != channels_.end() && kind == Channel::kSocket &&
                                     ino != 0 && it->second.ino != 0 && it->second.ino != ino) {
    // Another socket sending under the same name (a client port used again, a new server
    // on the port) is another connection: a new entity, not the old one's data.
    retire_channel(key);
  }
  auto [it, fresh] = channels_.emplace(key, Channel{});
  Channel& c = it->second;
  if (fresh) {
    c.kind = kind;
    c.ino = ino;
    c.addr = addr;
  }
  return c;
}

// A channel's name passes to a new identity (another socket sending under the same
// addresses, a pipe inode number handed out again). What waits on the old identity stays
// with it under a key of its own: a transfer decided later must not land on the new one.
void Ingest::retire_channel(const std::string& key) {
  auto it = channels_.find(key);
  if (it == channels_.end()) return;
  Channel old = std::move(it->second);
  channels_.erase(it);
  if (old.writers.empty() && old.readers.empty()) return;
  const std::string retired = key + " #retired " + std::to_string(++retired_channels_);
  for (const auto* waiting : {&old.writers, &old.readers})
    for (const auto& [act, t] : *waiting)
      if (auto p = pending_.find(act); p != pending_.end())
        for (PendingItem& item : p->second.items)
          if (item.kind == PendingItem::kChannel && item.path == key) item.path = retired;
  channels_.emplace(retired, std::move(old));
}

int64_t Ingest::channel_entity(const std::string& key, uint64_t t) {
  auto it = channels_.find(key);
  if (it == channels_.end()) return 0;
  Channel& c = it->second;
  if (c.kind == Channel::kPipe && c.dev != 0) {  // a FIFO: a file of its file system
    // By its generation: a file that took its inode number later is another file. A
    // terminal's output is one per session (terminal_output_key): never an earlier one's.
    if (c.file == 0 && (c.gen & kTerminalOutput) == 0)
      c.file = store_.find_outside_file(c.dev, c.ino, c.gen);
    const std::string name = c.addr.empty() ? "fifo:[" + std::to_string(c.ino) + "]" : c.addr;
    const uint64_t born = c.born != 0 ? std::min(c.born, t) : t;  // its first transfer seen
    if (c.file == 0) {
      c.file = store_.add_outside_file(c.dev, c.ino, c.gen, "fifo", born);
      store_.add_name(c.file, name, born);
    }
    return current_entity(c.file, born, name);
  }
  if (c.kind == Channel::kPipe) {
    // A pipe made while we watched (its PIPE event reset the channel) is a new identity
    // even if pipefs hands out its inode number again; one made before is found by it.
    if (c.file == 0) c.file = c.fresh ? 0 : store_.find_pipe(c.ino);
    const uint64_t born = c.born != 0 ? std::min(c.born, t) : t;  // stored late or not
    if (c.file == 0) c.file = store_.add_pipe(c.ino, born);
    return current_entity(c.file, born, "pipe:[" + std::to_string(c.ino) + "]");
  }
  if (c.file == 0) c.file = store_.find_addr(c.addr, c.ino);
  if (c.file == 0)
    c.file = store_.add_addr(c.addr, c.kind == Channel::kSocket ? "socket" : "endpoint", c.ino, t);
  return current_entity(c.file, t, c.addr);
}

void Ingest::channel_io(const std::string& key, int64_t act, uint64_t t, bool write, bool program,
                        bool open_ended) {
  if (act == 0) return;
  auto it = channels_.find(key);
  if (it == channels_.end()) return;
  it->second.newest = std::max(it->second.newest, t);
  const Keep k = kept(act);
  if ((write && k >= kForward) || (!write && k == kFull)) {
    channel_store(key, act, t, write, program, open_ended);
    return;
  }
  (write ? it->second.writers : it->second.readers).push_back({act, t});
  if (program) it->second.program_readers.insert(act);
  if (open_ended && !write) it->second.open_readers.insert({act, t});
  PendingItem item{PendingItem::kChannel, write, 0, 0, t, 0, 0, "", key, "", false};
  item.program = program;
  item.open_ended = open_ended;
  wait(act, std::move(item));
}

// A transfer on a channel by an activity that is kept: stored; the activities waiting at
// the other end follow (readers of what a kept one wrote: forward; writers of what a
// fully kept one read: its causes, in full).
void Ingest::channel_store(const std::string& key, int64_t act, uint64_t t, bool write,
                           bool program, bool open_ended, bool keep_writers) {
  const int64_t ent = channel_entity(key, t);
  if (ent == 0) return;
  auto it = channels_.find(key);
  const char* how = program                             ? "program"
                    : it->second.kind == Channel::kPipe ? "pipe"
                    : write                             ? "send"
                                                        : "receive";
  Channel& c = it->second;
  // A pipe's and a stream socket's reads and writes are reported again after news: instants
  // (a UDP flow's sends only).
  const bool instant_reads = c.kind == Channel::kPipe || (c.kind == Channel::kSocket && c.instants);
  const bool instant =
      write ? instant_reads || (c.kind == Channel::kSocket && c.instant_sends) : instant_reads;
  if (instant && !program)
    store_.instant_transfer(act, ent, t, write, open_ended, how);
  else if (write)
    store_.generated(ent, act, t, how);
  else
    store_.used(act, ent, t, how);
  // Sent its FIN since: its sends end there (an instant ends where it began).
  if (write && c.ended >= t && (!instant || open_ended)) store_.generated_last(ent, act, c.ended);
  if (c.kind == Channel::kEndpoint) return;  // no local other end
  if (write) {
    auto readers = std::move(c.readers);
    c.readers.clear();
    for (const auto& [r, rt] : readers) {
      if (c.program_readers.count(r) != 0)
        store_.used(r, ent, rt, "program");
      else if (instant_reads)
        store_.instant_transfer(r, ent, rt, false, c.open_readers.count({r, rt}) != 0,
                                c.kind == Channel::kPipe ? "pipe" : "receive");
      else
        store_.used(r, ent, rt, "receive");
      make_forward(r);
    }
    c.program_readers.clear();
    c.open_readers.clear();
    if (kept(act) != kFull && c.forward_writers.size() < 64) c.forward_writers.push_back({act, t});
  } else if (kept(act) == kFull || program || keep_writers) {
    auto writers = std::move(c.writers);
    c.writers.clear();
    for (const auto& [w, wt] : writers) make_relevant(w);
    // What a writer kept forward wrote before this read: a cause, in full, like the others.
    auto forward = std::move(c.forward_writers);
    c.forward_writers.clear();
    for (const auto& [w, wt] : forward) {
      if (wt <= t)
        make_relevant(w);
      else
        c.forward_writers.push_back({w, wt});
    }
  }
}

// ---- what waits: opens outside the mounts, marks of fd calls

// An outside file opened by an activity we keep: reads use its current version, a
// write-open starts a new one (the probes see the first write, not each one).
void Ingest::outside_open(int64_t act, const PendingItem& o) {
  if (o.owner != 0) {
    proc_memory_read(act, o);
    return;
  }
  // The open made the file (the probes say so; O_CREAT|O_EXCL always does: mkstemp's
  // O_RDWR scratch files, `> /tmp/x` of a new name): it held nothing to read at the open,
  // and no version of it was there before ("first seen" would say it was).
  const bool made =
      o.made || (writes(o.flags) && (o.flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL));
  // A program's script is followed to its writers for an ancestor not kept too.
  if (reads(o.flags) && !made && (kept(act) == kFull || o.program || o.passed))
    keep_outside_writers(act, o);
  const int64_t file = outside_file(o.dev, o.ino, o.gen, o.path, o.t);
  if (reads(o.flags) && !made) store_.used(act, entity_at(file, o.t, o.path), o.t, "open");
  if (writes(o.flags)) {
    // O_CREAT|O_TRUNC on a file never seen before: new content, whether or not the file
    // existed; O_TRUNC alone empties a file we know. Where the probes report first writes
    // (exact_reads_), the open itself put no data in: "created by", "truncated by" (dash
    // opens `> /tmp/x` in the shell, then vforks the command that writes), until the
    // opener's own first write makes its step a write (apply: kFileWrite).
    const bool new_file = store_.latest_version(file).id == 0;
    const char* how = "open-write";
    if (made && new_file)
      how = exact_reads_ ? "create" : "write";
    else if (o.flags & O_TRUNC)
      how = (o.flags & O_CREAT) && new_file && !exact_reads_ ? "write" : "truncate";
    const bool no_data = exact_reads_ && ((made && new_file) || (o.flags & O_TRUNC));
    const int64_t prev = store_.version_at(file, o.t).id;
    int64_t v = new_version(file, o.t, o.path, (o.flags & O_TRUNC) != 0);
    store_.generated(v, act, o.t, how);
    if (no_data) store_.generated_last(v, act, o.t);
    carry_outside_writers(prev, v, act, o.t);
  }
  if (!late_unlinks_.empty()) apply_late_unlink(file, o.path, o.t);
}

// A reader of another process's environment or memory (/proc/PID/environ, mem: gdb,
// a credential dumper, `cat /proc/PID/environ`, process_vm_readv; or the target of a
// process_vm_writev, which takes in its writer's) takes in what that process had read: the
// file is one version, written by the process from its start until this read ("memory"),
// and read at the open. The process is kept, with its causes.
void Ingest::proc_memory_read(int64_t act, const PendingItem& o) {
  keep(o.owner, kFull);
  const int64_t file = outside_file(o.dev, o.ino, o.gen, o.path, o.t);
  const uint64_t from = std::min(o.owner_from, o.t);
  int64_t v = store_.latest_version(file).id;
  if (v == 0) v = new_version(file, from, o.path, false);
  store_.generated(v, o.owner, from, "memory");  // once per image that had it
  store_.generated_last(v, o.owner, o.t);
  store_.used(act, v, o.t, *o.what != 0 ? o.what : "read");
}

// The probes report a process image's first write of a file only: a writer that holds an
// outside file open while another process makes a new version of it (copytruncate: a
// daemon's log emptied under it, `: > f` while a job appends) writes on into that version
// unreported. It is a writer of it from then, until it lets go of the file or ends.
void Ingest::carry_outside_writers(int64_t prev, int64_t next, int64_t act, uint64_t t) {
  if (prev == 0 || next == 0 || prev == next) return;
  for (int64_t w : store_.open_writers(prev, t))
    if (w != act) store_.generated(next, w, t, "write");
}

void Ingest::note_outside_writer(int64_t act, const PendingItem& open) {
  if (outside_writers_.size() >= kOutsideWritersCap) return;  // then as before: not followed
  auto& writers = outside_writers_[{open.dev, open.ino, open.gen}];
  if (writers.size() < 64) writers.push_back({act, open.t});
  uint64_t& newest = writer_newest_[act];
  newest = std::max(newest, open.t);
}

// A kept activity reads an outside file: its writers before the read become causes. Their
// write-opens are stored first, so the read lands on the version they made.
void Ingest::keep_outside_writers(int64_t reader, const PendingItem& read) {
  auto it = outside_writers_.find({read.dev, read.ino, read.gen});
  if (it == outside_writers_.end()) return;
  std::vector<std::pair<int64_t, uint64_t>> later;
  std::vector<std::pair<int64_t, uint64_t>> writers = std::move(it->second);
  outside_writers_.erase(it);
  std::sort(writers.begin(), writers.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  for (const auto& [w, t] : writers) {
    if (w == reader) continue;
    if (t > read.t) {
      later.push_back({w, t});  // wrote after this read: maybe a cause of a later one
      continue;
    }
    if (kept(w) == kNotKept) apply_pending_writes(w, read);
    make_relevant(w);
  }
  if (!later.empty()) outside_writers_[{read.dev, read.ino, read.gen}] = std::move(later);
}

// A kept image writes an outside file that an earlier image of its process, or of an
// ancestor it inherited the fd from, opened (a shell's `> /tmp/x`: bash opens it in the
// forked image before the exec, dash in itself before it forks the program): that image
// is kept first, so its open makes the version this write lands on.
void Ingest::keep_opening_images(int64_t writer, const PendingItem& write) {
  auto it = outside_writers_.find({write.dev, write.ino, write.gen});
  if (it == outside_writers_.end()) return;
  ActivityRow me;
  if (!store_.activity(writer, &me)) return;
  std::set<int64_t> lineage = {me.process};
  for (int64_t p = me.process; lineage.size() < 8 && (p = store_.process_parent(p)) != 0;)
    if (!lineage.insert(p).second) break;
  const auto openers = it->second;  // make_relevant() may change the map
  for (const auto& [other, t] : openers) {
    if (other == writer || t > write.t || kept(other) != kNotKept) continue;
    ActivityRow row;
    if (!store_.activity(other, &row) || lineage.count(row.process) == 0) continue;
    // Its open now (keep() may be running and would apply it only after this write).
    apply_pending_writes(other, write);
    make_relevant(other);
  }
}

// Stores now what `act` has waiting that wrote the file `of` names (write-opens, first
// writes), in the order they happened.
void Ingest::apply_pending_writes(int64_t act, const PendingItem& of) {
  auto p = pending_.find(act);
  if (p == pending_.end()) return;
  auto& items = p->second.items;
  std::vector<PendingItem> now;  // taken out first: applying may keep `act` (and move items)
  for (auto i = items.begin(); i != items.end();) {
    if ((i->kind == PendingItem::kOpen || i->kind == PendingItem::kFileWrite ||
         i->kind == PendingItem::kTruncate || i->kind == PendingItem::kRename ||
         i->kind == PendingItem::kMapping) &&
        i->output && i->dev == of.dev && i->ino == of.ino && i->gen == of.gen) {
      now.push_back(std::move(*i));
      i = items.erase(i);
      pending_total_--;
    } else {
      ++i;
    }
  }
  for (const PendingItem& item : now) apply(act, item);
}

// A mark of a call on something the graph has; calls on files it does not keep (the
// loader's libraries, a terminal) would be noise without an entity to attach to.
void Ingest::fd_action(int64_t act, const PendingItem& a) {
  if (a.ends_write) end_outside_write(act, a);
  int64_t ent = 0;
  if (!a.path.empty())
    ent = channel_entity(a.path, a.t);  // a socket's channel or endpoint
  else if (a.known)
    ent = known_entity(a.dev, a.ino, a.t);
  if (ent == 0) return;
  store_.action(act, a.t, a.what, ent, 0, a.detail);
}

void Ingest::fd_action_or_wait(int64_t act, PendingItem a) {
  if (act == 0) return;
  // A call on a tracked mount's file waits until that mount's log has been read past it:
  // the file may be made by a record still to come.
  if (a.known && a.dev != 0 && source_for_dev(a.dev) != 0 && !a.deferred) {
    a.deferred = true;
    defer(act, std::move(a));
    return;
  }
  const Keep k = kept(act);
  if (k == kFull) {
    fd_action(act, a);
    return;
  }
  // Its writes are stored already (kept forward): so is their end, in order with them.
  if (a.ends_write && k == kForward) {
    end_outside_write(act, a);
    a.ends_write = false;
  }
  wait(act, std::move(a));
}

// A probe's close (or dup2 over an fd) that dropped the last open description the activity
// wrote a file outside the mounts through: its writes of the file end there. (On a mount
// the fs log's release records end them.) The probes report the image's next open and
// write of the file again, and such a write opens the end again (apply, kFileWrite).
void Ingest::end_outside_write(int64_t act, const PendingItem& a) {
  if (a.end_dev == 0 || source_for_dev(a.end_dev) != 0) return;
  store_.end_outside_writes(store_.find_outside_any_gen(a.end_dev, a.end_ino), act, a.t);
}

// What waits from before the fs logs were read (by a margin) cannot be kept by a record
// still to come: dropped. Without tracked mounts, the probes' own clock decides.
void Ingest::expire_pending() {
  uint64_t horizon = newest_ns_;
  for (const auto& [source, m] : mounts_) {
    uint64_t h = 0;
    if (auto it = log_read_to_.find(source); it != log_read_to_.end()) h = it->second;
    if (auto it = record_time_.find(source); it != record_time_.end()) h = std::max(h, it->second);
    horizon = std::min(horizon, h);
  }
  if (horizon <= kMargin) return;
  // A scan of everything that waits: once per second of progress is enough for margins of
  // seconds to minutes, and keeps provd's cost per batch flat however much waits.
  if (horizon < expired_at_ + kExpireEvery) return;
  expired_at_ = horizon;
  const uint64_t cutoff = horizon - kMargin;
  const uint64_t writer_cutoff = horizon > kWriterMargin ? horizon - kWriterMargin : 0;
  for (auto it = writer_newest_.begin(); it != writer_newest_.end();)
    it = it->second < writer_cutoff ? writer_newest_.erase(it) : std::next(it);
  for (auto it = outside_writers_.begin(); it != outside_writers_.end();) {
    auto& w = it->second;
    w.erase(std::remove_if(w.begin(), w.end(),
                           [&](const auto& x) {
                             return x.second < writer_cutoff && pending_.count(x.first) == 0;
                           }),
            w.end());
    it = w.empty() ? outside_writers_.erase(it) : std::next(it);
  }
  // An activity's waiting events go a margin after it ended (the writer of an outside
  // file: kWriterMargin); a running one's stay (bounded by make_room()).
  for (auto it = pending_.begin(); it != pending_.end();) {
    const uint64_t ended = it->second.ended;
    const uint64_t until = writer_newest_.count(it->first) != 0 ? writer_cutoff : cutoff;
    if (ended != 0 && ended < until && it->second.newest < until) {
      pending_total_ -= it->second.items.size();
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = dropped_.begin(); it != dropped_.end();) {
    const Dropped& d = it->second;
    it = d.ended != 0 && d.ended < writer_cutoff ? dropped_.erase(it) : std::next(it);
  }
  for (auto it = channels_.begin(); it != channels_.end();) {
    Channel& c = it->second;
    // A flow's waiting ends stay while their activity's events wait.
    auto old = [&](const std::pair<int64_t, uint64_t>& x) {
      return x.second < cutoff && pending_.count(x.first) == 0;
    };
    c.writers.erase(std::remove_if(c.writers.begin(), c.writers.end(), old), c.writers.end());
    c.readers.erase(std::remove_if(c.readers.begin(), c.readers.end(), old), c.readers.end());
    if (c.newest < cutoff && c.writers.empty() && c.readers.empty())
      it = channels_.erase(it);
    else
      ++it;
  }
}

}  // namespace bento::collector
