// Ingest: attribution (which activity a thread stood for), files, versions and names, open
// handles and write sessions. The fs records are in ingest_fs_log.cc, the probe events in
// ingest_probes.cc.
#include "ingest.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string_view>

namespace bento::collector {

Ingest::Ingest(GraphStore& store, HostFacts& host) : store_(store), host_(host) {}

void Ingest::add_mount(int64_t source, const std::string& mountpoint, uint64_t last_seq) {
  Mount& m = mounts_[source];
  m.mountpoint = mountpoint;
  m.last_seq = last_seq;
  m.dev = host_.dev_of(mountpoint);
  m.dirs[1] = mountpoint;
  if (!m.handles.empty()) return;
  for (const StoredHandle& sh : store_.load_handles(source)) {
    Handle h;
    h.file = sh.file;
    h.flags = sh.flags;
    h.writing = sh.writing;
    m.handles[sh.fh] = h;
    m.stored_handles.insert(sh.fh);
    if (sh.writing) {
      Session& s = sessions_[sh.file];
      s.handles++;
      if (sh.session_entity != 0) s.entity = sh.session_entity;
    }
  }
}

uint64_t Ingest::last_seq(int64_t source) const {
  auto it = mounts_.find(source);
  return it != mounts_.end() ? it->second.last_seq : 0;
}

void Ingest::end_batch() {
  for (auto& [source, m] : mounts_) {
    for (uint64_t fh : m.dirty_handles) {
      auto it = m.handles.find(fh);
      if (it == m.handles.end()) {
        if (m.stored_handles.erase(fh) != 0) store_.drop_handle(source, fh);
        continue;
      }
      const Handle& h = it->second;
      StoredHandle sh{fh, h.file, h.flags, h.writing, 0};
      if (auto s = sessions_.find(h.file); h.writing && s != sessions_.end())
        sh.session_entity = s->second.entity;
      store_.store_handle(source, sh);
      m.stored_handles.insert(fh);
    }
    m.dirty_handles.clear();
  }
  apply_deferred();
  expire_pending();
}

void Ingest::forget_after_rollback() {
  tid_activity_.clear();
  fd_senders_.clear();
  kept_.clear();
  pending_.clear();
  channels_.clear();
  mappings_.clear();
  mapped_.clear();
  deferred_.clear();
  deferred_writes_.clear();
  outside_writers_.clear();
  writer_newest_.clear();
  pending_total_ = 0;
  dropped_.clear();
  // Handles and sessions follow the fs log, which is re-read from the stored cursor only
  // after a restart; provd exits after a failed commit, so they are not rebuilt here.
}

// ---- attribution

int64_t Ingest::process_for(uint32_t pid, uint64_t start_ns, uint32_t uid, uint32_t gid) {
  int64_t p = store_.find_process(pid, start_ns);
  if (p != 0) return p;
  // The probes stamp a process's start in ns, /proc in clock ticks (10 ms, rounded down):
  // one process either way. (Both count from boot; a host that suspended would differ.)
  static const uint64_t tick = 1'000'000'000ULL / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  if (const uint64_t floor = start_ns / tick * tick; floor != start_ns)
    p = store_.find_process(pid, floor);  // a probe's start; seen in /proc first
  else
    p = store_.find_process_between(pid, start_ns, start_ns + tick);  // from /proc
  return p != 0 ? p : store_.add_process(pid, start_ns, uid, gid);
}

int64_t Ingest::activity_for_tid(uint32_t tid, uint32_t uid, uint32_t gid, uint64_t t) {
  if (tid == 0) return 0;
  const auto ts = static_cast<int64_t>(t);
  if (auto it = tid_activity_.find(tid);
      it != tid_activity_.end() && it->second.from <= ts && ts < it->second.until) {
    return it->second.activity;
  }
  TaskAt task = store_.task_at(tid, t);
  ActivityAt a = task.process != 0 ? store_.activity_at(task.process, t) : ActivityAt{};
  int64_t act = a.id;
  int64_t from = task.from, until = task.until;
  if (act == 0) {
    int64_t process = 0, start = 0;
    act = observed_activity(tid, uid, gid, t, &process, &start);
    from = start;
    until = INT64_MAX;
    if (act == 0) return 0;
    a = store_.activity_at(process, t);
  }
  // The answer holds from the activity's start (or the task's) until the process's next
  // activity (or the task's end); exec, fork and exit events drop it earlier.
  from = std::max(from, a.from);
  until = std::min(until, a.until);
  tid_activity_[tid] = {act, from, until};
  return act;
}

// A thread the probes never saw (it started before them): ask /proc while it exists.
int64_t Ingest::observed_activity(uint32_t tid, uint32_t uid, uint32_t gid, uint64_t t,
                                  int64_t* process, int64_t* task_start) {
  ProcessFacts f = host_.process_of_thread(tid);
  if (!f.found) {
    f.pid = tid;
    f.start_ns = 0;  // unknown: one process per tid with start 0
    f.argv_json = "[]";
  }
  *process = process_for(f.pid, f.start_ns, uid, gid);
  *task_start = static_cast<int64_t>(f.start_ns);
  ActivityAt a = store_.activity_at(*process, t);
  if (a.id != 0) return a.id;
  ActivityRow row;
  row.process = *process;
  row.exe = f.exe;
  row.program = f.exe;
  row.argv_json = f.argv_json.empty() ? "[]" : f.argv_json;
  row.uid = row.euid = uid;
  row.gid = gid;
  row.start_ns = f.start_ns;
  row.origin = "observed";
  row.login_uid = f.login_uid;
  row.session_id = f.session_id;
  return store_.add_activity(row);
}

// ---- files, versions, names

int64_t Ingest::source_for_dev(uint64_t dev) const {
  if (dev == 0) return 0;
  for (const auto& [id, m] : mounts_)
    if (m.dev == dev) return id;
  return 0;
}

// A file of a tracked mount, made before tracking began when we never saw its creation:
// its name(s) come from the mount as it is now.
int64_t Ingest::mount_file(int64_t source, uint64_t ino, uint32_t gen, const char* kind,
                           uint64_t t) {
  if (int64_t f = store_.find_file(source, ino, gen); f != 0) return f;
  int64_t id = store_.add_file(source, ino, gen, kind, 0);
  Mount& m = mounts_[source];
  if (!m.walked) walk_tree(m);
  auto [a, b] = m.seen_files.equal_range(ino);
  for (auto it = a; it != b; ++it) store_.add_name(id, it->second, t);
  if (auto d = m.dirs.find(ino); d != m.dirs.end() && a == b) store_.add_name(id, d->second, t);
  return id;
}

// A file from before tracking that the walk never saw: it was renamed, replaced or removed
// before the walk ran (records are read after the fact: `sed -i f` replaces f at once). The
// call that renames or removes it by name says what it was called until then.
void Ingest::name_if_never_named(int64_t file, const std::string& path) {
  if (store_.ever_named(file)) return;
  store_.add_name(file, path, 0);
  store_.name_unnamed_versions(file, path);
}

int64_t Ingest::current_entity(int64_t file, uint64_t t, const std::string& path, bool emptied) {
  VersionRef v = store_.latest_version(file);
  return v.id != 0 ? v.id : new_version(file, t, path, emptied);
}

int64_t Ingest::entity_at(int64_t file, uint64_t t, const std::string& path) {
  VersionRef v = store_.version_at(file, t);
  return v.id != 0 ? v.id : new_version(file, t, path);
}

int64_t Ingest::new_version(int64_t file, uint64_t t, const std::string& path, bool emptied) {
  return store_.add_version(file, path.empty() ? store_.latest_name(file) : path, t, emptied).id;
}

void Ingest::metadata_change(int64_t file, int64_t act, uint64_t t, const char* how,
                             const std::string& path, bool emptied, const std::string& before) {
  if (auto s = sessions_.find(file); s != sessions_.end() && s->second.entity != 0) {
    store_.generated(s->second.entity, act, t, how);
    return;
  }
  // A mode or owner set by the process that made the current version (zstd, cp -p, tar
  // restoring them after the write) changes nothing of what the file holds or who made
  // it: no new version. (Another process's `chmod +x` is a change of its own.)
  // Likewise an attribute removed by it; one it set (`cp -a`, `rsync -X`, or a program
  // storing data there after writing the file) is more of its writing: its step on that
  // version lasts until now, so what it read in between counts.
  const bool setxattr = std::strcmp(how, "setxattr") == 0;
  if (setxattr || std::strcmp(how, "chmod") == 0 || std::strcmp(how, "chown") == 0 ||
      std::strcmp(how, "removexattr") == 0) {
    GeneratedRow made;
    const VersionRef v = store_.latest_version(file);
    if (v.id != 0 && store_.find_generated(v.id, act, &made)) {
      if (setxattr) store_.generated_last(v.id, act, t);
      return;
    }
  }
  // Its content is from before the record, not this call's: a first version nothing
  // recorded made (a payload renamed, read and removed by its loader is not the loader's
  // own scratch file, and `ln f g` did not make f).
  if (store_.latest_version(file).id == 0) new_version(file, t, before.empty() ? path : before);
  int64_t v = new_version(file, t, path, emptied);
  store_.generated(v, act, t, how);
  store_.generated_last(v, act, t);
}

// Names of what existed before tracking began: one walk of the mount as it is now. Once
// per tracking session: a directory still unknown after it was made and removed before
// its records were read (a lagging or restarted collector), and walking again for each
// of its records made the collector quadratic (and its name cache grow without bound).
void Ingest::walk_tree(Mount& m) {
  m.walked = true;
  tree_walks_++;
  walker_tids_.insert(static_cast<uint32_t>(gettid()));
  m.seen_files.clear();
  host_.walk(m.mountpoint, [&](const std::string& p, uint64_t ino, bool is_dir) {
    if (is_dir)
      m.dirs.emplace(ino, p);  // a path from the records is as of their time: kept
    else
      m.seen_files.emplace(ino, p);
  });
}

// A directory's path: from mkdir/rename records, else from the tree walk.
std::string Ingest::dir_path(Mount& m, uint64_t ino) {
  if (auto it = m.dirs.find(ino); it != m.dirs.end()) return it->second;
  if (!m.walked) {
    walk_tree(m);
    if (auto it = m.dirs.find(ino); it != m.dirs.end()) return it->second;
  }
  return m.mountpoint + "/<dir " + std::to_string(ino) + ">";
}

std::string Ingest::path_of(Mount& m, uint64_t parent, const char* name, size_t len) {
  return dir_path(m, parent) + "/" + std::string(name, len);
}

// A directory moved from `from` to `to`: every path below it changes (names, the caches).
void Ingest::rename_subtree(Mount& m, const std::string& from, const std::string& to, uint64_t t) {
  store_.move_names_below(from, to, t);
  const std::string lo = from + "/";
  auto moved = [&](std::string& p) {
    if (p == from)
      p = to;
    else if (p.compare(0, lo.size(), lo) == 0)
      p = to + p.substr(from.size());
  };
  for (auto& [ino, p] : m.dirs) moved(p);
  for (auto& [ino, p] : m.seen_files) moved(p);
}

// ---- handles and write sessions

// The handle starts writing: the first writing handle of its file begins a new version
// (the session), which every handle writing at the same time shares.
void Ingest::begin_writing(Mount& m, uint64_t fh, Handle& h, int64_t act, uint64_t t,
                           const char* how, bool emptied, const std::string& path) {
  h.writing = true;
  m.dirty_handles.insert(fh);
  Session& s = sessions_[h.file];
  if (s.handles++ == 0 || s.entity == 0) {
    s.entity = new_version(h.file, t, path, emptied);
    held_readers(m, h.file, s.entity, t, act);
  }
  store_.generated(s.entity, act, t, how);
  if (std::string_view(how) == "write") {
    add_writer(h, act);
    return;
  }
  // A create or an O_TRUNC open (or a truncation) put nothing in yet: what others write
  // through the handle later (a shell's `{ cat a; } > out`: cat, forked) is not this
  // activity's. Its own writes, if any, come as write records and make it a writer then;
  // if none came by the release, its step ends where it began (end_handle).
  if (act == 0) return;
  if (fs_writers_.size() > kFsWritersCap) fs_writers_.clear();
  fs_writers_.insert({h.file, act});
  h.openers.push_back({act, t});
}

void Ingest::add_writer(Handle& h, int64_t act) {
  if (act == 0) return;
  if (fs_writers_.size() > kFsWritersCap) fs_writers_.clear();  // then a duplicate row at worst
  fs_writers_.insert({h.file, act});
  if (fs_data_writers_.size() > kFsWritersCap) fs_data_writers_.clear();
  fs_data_writers_.insert({h.file, act});
  if (std::find(h.writers.begin(), h.writers.end(), act) != h.writers.end()) return;
  h.writers.push_back(act);
  sessions_[h.file].writers[act].handles++;
}

void Ingest::add_reader(Mount& m, Handle& h, int64_t act) {
  if (act == 0 || h.readers.size() >= kHeldReaders ||
      std::find(h.readers.begin(), h.readers.end(), act) != h.readers.end())
    return;
  if (h.readers.empty()) m.reading[h.file]++;
  h.readers.push_back(act);
}

// A process that holds a file open for reading reads what others write into it later
// through the same handle (tail -f, a config read again, a log shipper), and the fs logs
// only a thread's first read through a handle (the page cache serves the rest): each
// reader of a handle open when a new version begins is a reader of that version from then.
void Ingest::held_readers(Mount& m, int64_t file, int64_t v, uint64_t t, int64_t writer) {
  auto n = m.reading.find(file);
  if (n == m.reading.end() || n->second <= 0) return;
  for (const auto& [fh, h] : m.handles)
    if (h.file == file)
      for (int64_t r : h.readers)
        if (r != writer) store_.used(r, v, t, "open");
}

// What the session's writers wrote is gone: each wrote its version no later than now. The
// handles stay open, no longer writing: the fs logs each one's next write again (a new
// kWrite after a truncation to 0), which makes its writer a writer of the version the
// truncation begins, and a writer that writes nothing more is not one.
void Ingest::end_session_emptied(Mount& m, int64_t file, uint64_t t) {
  auto s = sessions_.find(file);
  if (s == sessions_.end()) return;
  const int64_t v = s->second.entity;
  for (auto& [fh, h] : m.handles) {
    if (h.file != file || !h.writing) continue;
    for (const auto& [act, at] : h.openers)
      if (s->second.writers.count(act) == 0 &&
          std::find(h.writers.begin(), h.writers.end(), act) == h.writers.end())
        store_.generated_last(v, act, at);  // it wrote nothing
    h.writing = false;
    h.writers.clear();
    h.openers.clear();
    m.dirty_handles.insert(fh);
  }
  for (const auto& [act, w] : s->second.writers) store_.generated_last(v, act, t);
  sessions_.erase(s);
}

// Closing a writing handle: each activity that wrote through it gets its last write time
// once none of its handles on the session is open any more; the last handle ends the
// session (the next write makes a new version).
void Ingest::end_handle(Mount& m, std::map<uint64_t, Handle>::iterator it, uint64_t t,
                        uint64_t last_write) {
  Handle& h = it->second;
  if (h.writing) {
    auto s = sessions_.find(h.file);
    if (s != sessions_.end()) {
      // The release's last-write time; one from before the open cannot be (a record of an
      // older format, a clock gone wrong): the release itself bounds the writes then.
      const bool known = last_write != 0 && last_write >= h.opened;
      const uint64_t last = known ? std::min(last_write, t) : t;
      for (const auto& [act, at] : h.openers)
        if (s->second.writers.count(act) == 0 &&
            std::find(h.writers.begin(), h.writers.end(), act) == h.writers.end())
          store_.generated_last(s->second.entity, act, at);  // it wrote nothing
      for (int64_t act : h.writers) {
        auto w = s->second.writers.find(act);
        if (w == s->second.writers.end()) continue;
        w->second.last = std::max(w->second.last, last);
        if (--w->second.handles <= 0) {
          store_.generated_last(s->second.entity, act, w->second.last);
          s->second.writers.erase(w);
        }
      }
      if (--s->second.handles <= 0) sessions_.erase(s);
    }
  }
  // Its readers read through it until now at the latest: what reaches the file after they
  // let go of it cannot reach them (the bound of their last read), unless one still holds
  // another handle of it.
  const auto reading = m.reading.find(h.file);
  const bool others = reading != m.reading.end() && reading->second > 1;  // handles with readers
  for (int64_t r : h.readers) {
    bool holds = false;
    if (others)
      for (const auto& [fh, other] : m.handles)
        holds = holds ||
                (fh != it->first && other.file == h.file &&
                 std::find(other.readers.begin(), other.readers.end(), r) != other.readers.end());
    if (!holds) store_.used_last_of_file(r, h.file, t);
  }
  if (!h.readers.empty())
    if (auto n = m.reading.find(h.file); n != m.reading.end() && --n->second <= 0)
      m.reading.erase(n);
  m.dirty_handles.insert(it->first);
  m.handles.erase(it);
}

}  // namespace bento::collector
