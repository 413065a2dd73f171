#include "collector.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bento_bpf/events.h"
#include "json_text.h"
#include "wall_clock.h"

namespace bento::collector {

namespace prov = bentofs::prov;
using lineage::Stmt;
using prov::RecordType;

namespace {

bool writes(uint32_t flags) {
  return (flags & O_ACCMODE) != O_RDONLY;
}
bool reads(uint32_t flags) {
  return (flags & O_ACCMODE) != O_WRONLY;
}

std::string argv_json(const char* args, uint32_t len) {
  nlohmann::json a = nlohmann::json::array();
  for (uint32_t at = 0; at < len;) {
    std::string s(args + at, strnlen(args + at, len - at));
    a.push_back(s);
    at += static_cast<uint32_t>(s.size()) + 1;
  }
  return to_json_text(a);
}

// A small /proc file; empty when it is gone. POSIX reads: /proc files of a process that
// exits mid-read fail with ESRCH, which std::filebuf turns into an exception.
std::string read_file(const std::string& path) {
  std::string out;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace

Collector::Collector(lineage::Database& db) : db_(db) {}

// Prepared once per call site (the SQL literal's address is the key), reset for reuse.
Stmt& Collector::st(const char* sql) {
  auto it = stmts_.find(sql);  // NOLINT: keyed by address on purpose
  if (it == stmts_.end()) it = stmts_.emplace(sql, std::make_unique<Stmt>(db_.handle(), sql)).first;
  it->second->reset();
  return *it->second;
}

void Collector::begin() {
  db_.exec("BEGIN");
}

bool Collector::commit(std::string* error) {
  for (auto& [id, s] : sources_) store_handles(id, s);
  for (auto& [id, s] : sources_) {
    if (!s.progressed) continue;
    st("UPDATE sources SET cursor = ?, last_seq = ?, records = records + ? WHERE id = ?")
        .bind(1, static_cast<int64_t>(s.cursor))
        .bind(2, static_cast<int64_t>(s.last_seq))
        .bind(3, static_cast<int64_t>(s.pending_records))
        .bind(4, id)
        .run();
    s.progressed = false;
    s.pending_records = 0;
  }
  // Pending outside opens of activities that never touched a mount or a pipe in a minute
  // after the open are dropped (the fs log may lag the probes by a few journal commits).
  if (pending_total_ > 0) {
    for (auto it = pending_opens_.begin(); it != pending_opens_.end();) {
      if (!it->second.empty() && newest_ns_ > it->second.back().t + 60'000'000'000ULL) {
        pending_total_ -= it->second.size();
        it = pending_opens_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& [sql, stmt] : stmts_) stmt->reset();  // no statement may hold the transaction
  if (db_.exec("COMMIT", error)) return true;
  db_.exec("ROLLBACK");
  forget_caches();
  return false;
}

// Write-behind of the open handles: only those that changed in this batch; a handle opened
// and released within one batch never touches the table.
void Collector::store_handles(int64_t source, Source& s) {
  for (uint64_t fh : s.dirty_handles) {
    auto it = s.handles.find(fh);
    if (it == s.handles.end()) {
      if (s.stored_handles.erase(fh) == 0) continue;
      st("DELETE FROM open_handles WHERE source_id = ? AND fh = ?")
          .bind(1, source)
          .bind(2, static_cast<int64_t>(fh))
          .run();
      continue;
    }
    const Handle& h = it->second;
    Stmt& ins =
        st("INSERT OR REPLACE INTO open_handles(source_id, fh, file_id, flags, writing, "
           "session_entity) VALUES(?, ?, ?, ?, ?, ?)");
    ins.bind(1, source).bind(2, static_cast<int64_t>(fh)).bind(3, h.file).bind(4, h.flags);
    ins.bind(5, h.writing ? 1 : 0);
    auto se = session_entity_.find(h.file);
    if (h.writing && se != session_entity_.end())
      ins.bind(6, se->second);
    else
      ins.bind_null(6);
    ins.run();
    s.stored_handles.insert(fh);
  }
  s.dirty_handles.clear();
}

void Collector::load_handles(int64_t source, Source& s) {
  Stmt& q = st(
      "SELECT fh, file_id, flags, writing, session_entity FROM open_handles WHERE source_id = ?");
  q.bind(1, source);
  while (q.step()) {
    auto fh = static_cast<uint64_t>(q.int64(0));
    Handle h{q.int64(1), static_cast<uint32_t>(q.int64(2)), q.int64(3) != 0};
    s.handles[fh] = h;
    s.stored_handles.insert(fh);
    if (h.writing) {
      write_sessions_[h.file]++;
      if (!q.is_null(4)) session_entity_[h.file] = q.int64(4);
    }
  }
}

void Collector::end_handle(Source& s, std::map<uint64_t, Handle>::iterator it) {
  if (it->second.writing && --write_sessions_[it->second.file] <= 0) {
    write_sessions_.erase(it->second.file);
    session_entity_.erase(it->second.file);
  }
  s.dirty_handles.insert(it->first);
  s.handles.erase(it);
}

void Collector::forget_caches() {
  tid_activity_.clear();
  process_ids_.clear();
  file_ids_.clear();
  outside_ids_.clear();
  fd_senders_.clear();
  latest_entity_.clear();
  used_seen_.clear();
  generated_seen_.clear();
  relevant_.clear();
  pending_opens_.clear();
  pending_total_ = 0;
}

int64_t Collector::fs_source(const std::string& mountpoint, uint64_t* cursor, uint64_t* last_seq) {
  st("INSERT OR IGNORE INTO sources(kind, name) VALUES('fs', ?)").bind(1, mountpoint).run();
  Stmt& q = st("SELECT id, cursor, last_seq FROM sources WHERE name = ?");
  q.bind(1, mountpoint);
  if (!q.step()) return 0;
  int64_t id = q.int64(0);
  *cursor = static_cast<uint64_t>(q.int64(1));
  *last_seq = static_cast<uint64_t>(q.int64(2));
  Source& s = sources_[id];
  s.mountpoint = mountpoint;
  s.last_seq = *last_seq;
  s.cursor = *cursor;
  struct stat st {};
  if (stat(mountpoint.c_str(), &st) == 0) s.dev = st.st_dev;
  if (s.handles.empty()) load_handles(id, s);
  s.dirs[1] = mountpoint;
  return id;
}

int64_t Collector::probes_source() {
  st("INSERT OR IGNORE INTO sources(kind, name) VALUES('probes', 'probes')").run();
  Stmt& q = st("SELECT id FROM sources WHERE name = 'probes'");
  probes_id_ = q.step() ? q.int64(0) : 0;
  return probes_id_;
}

void Collector::set_lost(int64_t source, uint64_t lost) {
  st("UPDATE sources SET lost = ? WHERE id = ?")
      .bind(1, static_cast<int64_t>(lost))
      .bind(2, source)
      .run();
}

void Collector::set_meta(const std::string& key, const std::string& value) {
  st("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)").bind(1, key).bind(2, value).run();
}

// ---- processes and activities

int64_t Collector::process_for(uint32_t pid, uint64_t start_ns, bool create, uint32_t uid,
                               uint32_t gid) {
  const auto key = std::make_pair(pid, start_ns);
  if (auto it = process_ids_.find(key); it != process_ids_.end()) return it->second;
  Stmt& q = st("SELECT id FROM processes WHERE pid = ? AND start_ns = ?");
  q.bind(1, pid).bind(2, static_cast<int64_t>(start_ns));
  if (q.step()) return process_ids_[key] = q.int64(0);
  if (!create) return 0;
  Stmt& ins = st("INSERT INTO processes(pid, start_ns, uid, gid) VALUES(?, ?, ?, ?)");
  ins.bind(1, pid).bind(2, static_cast<int64_t>(start_ns)).bind(3, uid).bind(4, gid).run();
  int64_t id = sqlite3_last_insert_rowid(db_.handle());
  process_ids_[key] = id;
  if (process_ids_.size() > (1u << 20)) process_ids_.clear();
  st("INSERT INTO tasks(tid, process_id, start_ns) VALUES(?, ?, ?)")
      .bind(1, pid)
      .bind(2, id)
      .bind(3, static_cast<int64_t>(start_ns))
      .run();
  return id;
}

int64_t Collector::current_activity(int64_t process, uint64_t t) {
  Stmt& q =
      st("SELECT id FROM activities WHERE process_id = ? ORDER BY (start_ns <= ?) DESC, "
         "CASE WHEN start_ns <= ? THEN -start_ns ELSE start_ns END LIMIT 1");
  q.bind(1, process).bind(2, static_cast<int64_t>(t)).bind(3, static_cast<int64_t>(t));
  return q.step() ? q.int64(0) : 0;
}

int64_t Collector::new_activity(int64_t process, const std::string& exe, const std::string& argv,
                                uint64_t exe_ino, uint64_t exe_dev, uint32_t uid, uint32_t gid,
                                uint32_t euid, uint64_t t, const char* origin, int64_t informant,
                                const char* how) {
  int64_t wall = wall_offset_ns() + static_cast<int64_t>(t);
  Stmt& ins =
      st("INSERT INTO activities(process_id, exe, argv, exe_ino, exe_dev, uid, gid, euid, "
         "start_ns, start_wall_ns, origin) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
  ins.bind(1, process).bind(2, exe).bind(3, argv).bind(4, static_cast<int64_t>(exe_ino));
  ins.bind(5, static_cast<int64_t>(exe_dev)).bind(6, uid).bind(7, gid).bind(8, euid);
  ins.bind(9, static_cast<int64_t>(t)).bind(10, wall).bind(11, origin).run();
  int64_t id = sqlite3_last_insert_rowid(db_.handle());
  if (informant != 0) informed(id, informant, t, how);
  return id;
}

int64_t Collector::activity_for_tid(uint32_t tid, uint32_t uid, uint32_t gid, uint64_t t) {
  if (tid == 0) return 0;
  const auto ts = static_cast<int64_t>(t);
  if (auto it = tid_activity_.find(tid);
      it != tid_activity_.end() && it->second.from <= ts && ts < it->second.until) {
    return it->second.activity;
  }
  int64_t proc = 0, task_start = 0, task_end = INT64_MAX;
  Stmt& q =
      st("SELECT process_id, start_ns, end_ns FROM tasks WHERE tid = ? AND start_ns <= ? AND "
         "(end_ns IS NULL OR end_ns >= ?) ORDER BY start_ns DESC LIMIT 1");
  q.bind(1, tid).bind(2, ts).bind(3, ts);
  if (q.step()) {
    proc = q.int64(0);
    task_start = q.int64(1);
    if (!q.is_null(2)) task_end = q.int64(2) + 1;
  }
  int64_t a = proc != 0 ? current_activity(proc, t) : 0;
  if (a == 0) {
    // Not seen by the probes (it started before them): ask /proc while it still exists.
    std::string status = read_file("/proc/" + std::to_string(tid) + "/status");
    uint32_t pid = tid;
    if (auto at = status.find("\nTgid:"); at != std::string::npos)
      pid = static_cast<uint32_t>(std::strtoul(status.c_str() + at + 6, nullptr, 10));
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    uint64_t start = 0;
    if (auto rp = stat.rfind(')'); rp != std::string::npos) {
      std::istringstream in(stat.substr(rp + 2));
      std::string field;
      for (int i = 3; i <= 22 && (in >> field); i++)
        if (i == 22)
          start =
              std::strtoull(field.c_str(), nullptr, 10) * (1000000000ULL / sysconf(_SC_CLK_TCK));
    }
    proc = process_for(pid, start, true, uid, gid);
    task_start = static_cast<int64_t>(start);
    task_end = INT64_MAX;
    a = current_activity(proc, t);
    if (a == 0) {
      std::string cmd = read_file("/proc/" + std::to_string(pid) + "/cmdline");
      char exe[4096] = {};
      ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), exe, sizeof exe - 1);
      std::string argv =
          cmd.empty() ? "[]" : argv_json(cmd.data(), static_cast<uint32_t>(cmd.size()));
      a = new_activity(proc, n > 0 ? std::string(exe, n) : std::string(), argv, 0, 0, uid, gid, uid,
                       start, "observed", 0, nullptr);
    }
  }
  // The answer holds from the activity's start (or the task's) until the process's next
  // activity (or the task's end); exec, fork and exit events drop it earlier.
  TidActivity c{a, task_start, task_end};
  Stmt& span =
      st("SELECT a.start_ns, (SELECT MIN(n.start_ns) FROM activities n WHERE n.process_id = "
         "a.process_id AND n.start_ns > a.start_ns) FROM activities a WHERE a.id = ?");
  span.bind(1, a);
  if (span.step()) {
    c.from = std::max(c.from, span.int64(0));
    if (!span.is_null(1)) c.until = std::min(c.until, span.int64(1));
  }
  tid_activity_[tid] = c;
  return a;
}

bool Collector::on_probe_event(const void* data, size_t size) {
  if (size < sizeof(bento_event_header)) return false;
  const auto* h = static_cast<const bento_event_header*>(data);
  newest_ns_ = std::max<uint64_t>(newest_ns_, h->ts_ns);
  switch (h->type) {
    case BENTO_EV_FORK: {
      if (size < sizeof(bento_fork_event)) return false;
      const auto* e = static_cast<const bento_fork_event*>(data);
      tid_activity_.erase(e->child_tid);  // a reused tid now means the new task
      int64_t parent = process_for(h->pid, h->start_ns, true, h->uid, h->gid);
      if (e->is_thread) {
        st("INSERT INTO tasks(tid, process_id, start_ns) VALUES(?, ?, ?)")
            .bind(1, e->child_tid)
            .bind(2, parent)
            .bind(3, static_cast<int64_t>(e->child_start_ns))
            .run();
        return true;
      }
      int64_t child = process_for(e->child_pid, e->child_start_ns, true, h->uid, h->gid);
      st("UPDATE processes SET parent_id = ? WHERE id = ?").bind(1, parent).bind(2, child).run();
      int64_t pa = current_activity(parent, h->ts_ns);
      if (pa == 0) pa = activity_for_tid(h->pid, h->uid, h->gid, h->ts_ns);  // born before us
      std::string exe, argv = "[]";
      if (pa != 0) {
        Stmt& q = st("SELECT exe, argv FROM activities WHERE id = ?");
        q.bind(1, pa);
        if (q.step()) {
          exe = q.text(0);
          argv = q.text(1);
        }
      }
      int64_t a = new_activity(child, exe, argv, 0, 0, h->uid, h->gid, h->euid, e->child_start_ns,
                               "fork", pa, "fork");
      tid_activity_[e->child_tid] = {a, static_cast<int64_t>(e->child_start_ns), INT64_MAX};
      return true;
    }
    case BENTO_EV_EXEC: {
      if (size < sizeof(bento_exec_event)) return false;
      const auto* e = static_cast<const bento_exec_event*>(data);
      tid_activity_.erase(h->tid);  // a new activity begins
      tid_activity_.erase(h->pid);
      tid_activity_.erase(e->old_tid);
      int64_t proc = process_for(h->pid, h->start_ns, true, h->uid, h->gid);
      int64_t prev = current_activity(proc, h->ts_ns);
      if (prev != 0) {
        st("UPDATE activities SET end_ns = ? WHERE id = ? AND end_ns IS NULL")
            .bind(1, static_cast<int64_t>(h->ts_ns))
            .bind(2, prev)
            .run();
      }
      std::string fname(e->filename, strnlen(e->filename, sizeof e->filename));
      int64_t a = new_activity(proc, fname, argv_json(e->args, e->args_len), e->exe_ino, e->exe_dev,
                               h->uid, h->gid, h->euid, h->ts_ns, "exec", prev, "exec");
      tid_activity_[h->tid] = {a, static_cast<int64_t>(h->ts_ns), INT64_MAX};
      for (int fd = 0; fd < 3 && exec_std_pipes_; fd++) {
        if (e->std_pipe_ino[fd] == 0) continue;
        int64_t ent = current_entity(pipe_file(e->std_pipe_ino[fd], h->ts_ns), h->ts_ns,
                                     "pipe:[" + std::to_string(e->std_pipe_ino[fd]) + "]");
        if (fd == 0)
          used(a, ent, h->ts_ns, "pipe");
        else
          generated(ent, a, h->ts_ns, "pipe");
      }
      return true;
    }
    case BENTO_EV_EXIT: {
      if (size < sizeof(bento_exit_event)) return false;
      const auto* e = static_cast<const bento_exit_event*>(data);
      tid_activity_.erase(h->tid);
      st("UPDATE tasks SET end_ns = ? WHERE tid = ? AND end_ns IS NULL")
          .bind(1, static_cast<int64_t>(h->ts_ns))
          .bind(2, h->tid)
          .run();
      if (e->group_dead) {
        int64_t proc = process_for(h->pid, h->start_ns, false, 0, 0);
        if (proc != 0) {
          st("UPDATE processes SET exit_ns = ?, exit_code = ? WHERE id = ?")
              .bind(1, static_cast<int64_t>(h->ts_ns))
              .bind(2, e->exit_code)
              .bind(3, proc)
              .run();
          st("UPDATE activities SET end_ns = ? WHERE process_id = ? AND end_ns IS NULL")
              .bind(1, static_cast<int64_t>(h->ts_ns))
              .bind(2, proc)
              .run();
        }
      }
      return true;
    }
    default:
      return on_fd_event(data, size);
  }
}

int64_t Collector::source_for_dev(uint64_t dev) const {
  for (const auto& [id, s] : sources_)
    if (s.dev == dev && dev != 0) return id;
  return 0;
}

namespace {
// Shared libraries and the loader's files: every program opens them; as lineage inputs
// they are noise.
bool system_file(const std::string& p) {
  for (const char* prefix : {"/usr/lib/", "/lib/", "/lib64/", "/usr/lib64/", "/etc/ld.so.",
                             "/usr/share/locale/", "/usr/lib/locale/", "/etc/localtime"}) {
    if (p.rfind(prefix, 0) == 0) return true;
  }
  return false;
}
}  // namespace

bool Collector::on_fd_event(const void* data, size_t size) {
  const auto* h = static_cast<const bento_event_header*>(data);
  const uint64_t t = h->ts_ns;
  switch (h->type) {
    case BENTO_EV_PIPE_IO: {
      // First read / first write of a process image on a pipe or FIFO: the pipe is an
      // entity the writers generate and the readers use (stdio or not, passed or not).
      if (size < sizeof(bento_pipe_io_event)) return false;
      const auto* e = static_cast<const bento_pipe_io_event*>(data);
      int64_t act = activity_for_tid(h->tid, h->uid, h->gid, t);
      make_relevant(act);
      int64_t src = source_for_dev(e->dev);
      int64_t ent = 0;
      if (src != 0) {  // a FIFO on a tracked mount: its data never reaches the fs log
        Stmt& q =
            st("SELECT id FROM files WHERE source_id = ? AND ino = ? ORDER BY id DESC LIMIT 1");
        q.bind(1, src).bind(2, static_cast<int64_t>(e->ino));
        int64_t file = q.step() ? q.int64(0) : file_for(src, e->ino, 0, "fifo", t, false);
        ent = current_entity(file, t, "");
      } else {
        ent = current_entity(pipe_file(e->ino, t), t, "pipe:[" + std::to_string(e->ino) + "]");
      }
      if (e->is_write)
        generated(ent, act, t, "pipe");
      else
        used(act, ent, t, "pipe");
      return true;
    }
    case BENTO_EV_OPEN: {
      // Files outside the tracked mounts (those inside are in the fs log, in more detail).
      if (size < sizeof(bento_open_event)) return false;
      const auto* e = static_cast<const bento_open_event*>(data);
      if (source_for_dev(e->dev) != 0) return true;
      std::string path(e->path, strnlen(e->path, sizeof e->path));
      if (!path.empty() && path[0] != '/') {
        char cwd[4096] = {};
        ssize_t n =
            readlink(("/proc/" + std::to_string(h->pid) + "/cwd").c_str(), cwd, sizeof cwd - 1);
        if (n > 0) path = std::string(cwd, n) + "/" + path;
      }
      if (path.empty() || system_file(path)) return true;
      int64_t act = activity_for_tid(h->tid, h->uid, h->gid, t);
      if (act == 0) return true;
      PendingOpen o{e->dev, e->ino, t, e->flags, path};
      if (relevant_.count(act) != 0) {
        outside_open(act, o);
      } else if (pending_total_ < 200000) {
        auto& list = pending_opens_[act];
        if (list.size() < 256) {
          list.push_back(std::move(o));
          pending_total_++;
        }
      }
      return true;
    }
    case BENTO_EV_FD_SEND:
    case BENTO_EV_FD_RECV: {
      // An fd handed over a Unix socket: the receiver was informed by the sender.
      if (size < sizeof(bento_fd_pass_event)) return false;
      const auto* e = static_cast<const bento_fd_pass_event*>(data);
      int64_t act = activity_for_tid(h->tid, h->uid, h->gid, t);
      if (fd_senders_.size() > 100000) fd_senders_.clear();
      for (uint32_t i = 0; i < e->nfds && i < BENTO_FDS_MAX; i++) {
        if (h->type == BENTO_EV_FD_SEND) {
          fd_senders_[e->file_ids[i]] = act;
        } else if (auto it = fd_senders_.find(e->file_ids[i]); it != fd_senders_.end()) {
          if (it->second != act && act != 0) informed(act, it->second, t, "fd-pass");
          fd_senders_.erase(it);
        }
      }
      return true;
    }
    case BENTO_EV_PIPE: {
      // A new pipe: a new identity, even if pipefs hands out an inode number again.
      if (size < sizeof(bento_pipe_event)) return false;
      const auto* e = static_cast<const bento_pipe_event*>(data);
      st("INSERT INTO files(ino, kind, created_ns) VALUES(?, 'pipe', ?)")
          .bind(1, static_cast<int64_t>(e->pipe_ino))
          .bind(2, static_cast<int64_t>(t))
          .run();
      return true;
    }
    case BENTO_EV_DUP:
    case BENTO_EV_CLOSE:
      // fd bookkeeping: PIPE_IO and the fs log already say who used what.
      return size >= sizeof(bento_event_header);
    default:
      return false;
  }
}

void Collector::outside_open(int64_t act, const PendingOpen& o) {
  int64_t ent = current_entity(outside_file(o.dev, o.ino, o.path, o.t), o.t, o.path);
  if (reads(o.flags)) used(act, ent, o.t, "open");
  if (writes(o.flags)) generated(ent, act, o.t, "open-write");
}

void Collector::make_relevant(int64_t act) {
  if (act == 0 || relevant_.count(act) != 0) return;
  if (relevant_.size() > (1u << 20)) relevant_.clear();  // a cache: re-learnt on next use
  relevant_.insert(act);
  auto it = pending_opens_.find(act);
  if (it == pending_opens_.end()) return;
  for (const auto& o : it->second) outside_open(act, o);
  pending_total_ -= it->second.size();
  pending_opens_.erase(it);
}

// ---- files, versions, names

int64_t Collector::outside_file(uint64_t dev, uint64_t ino, const std::string& path, uint64_t t) {
  const auto key = std::make_pair(dev, ino);
  if (auto it = outside_ids_.find(key); it != outside_ids_.end()) return it->second;
  Stmt& q =
      st("SELECT id FROM files WHERE source_id IS NULL AND kind = 'file' AND ino = ? AND dev = ? "
         "ORDER BY id DESC LIMIT 1");
  q.bind(1, static_cast<int64_t>(ino)).bind(2, static_cast<int64_t>(dev));
  if (q.step()) return outside_ids_[key] = q.int64(0);
  st("INSERT INTO files(ino, dev, kind) VALUES(?, ?, 'file')")
      .bind(1, static_cast<int64_t>(ino))
      .bind(2, static_cast<int64_t>(dev))
      .run();
  int64_t id = sqlite3_last_insert_rowid(db_.handle());
  name_add(id, path, t);
  return outside_ids_[key] = id;
}

int64_t Collector::file_for(int64_t source, uint64_t ino, uint32_t gen, const char* kind,
                            uint64_t t, bool create) {
  const auto key = std::make_tuple(source, ino, gen);
  if (auto it = file_ids_.find(key); it != file_ids_.end()) return it->second;
  Stmt& q = st(
      "SELECT id FROM files WHERE source_id = ? AND ino = ? AND gen = ? ORDER BY id DESC LIMIT 1");
  q.bind(1, source).bind(2, static_cast<int64_t>(ino)).bind(3, gen);
  if (q.step()) return file_ids_[key] = q.int64(0);
  Stmt& ins = st("INSERT INTO files(source_id, ino, gen, kind, created_ns) VALUES(?, ?, ?, ?, ?)");
  ins.bind(1, source).bind(2, static_cast<int64_t>(ino)).bind(3, gen).bind(4, kind);
  if (create)
    ins.bind(5, static_cast<int64_t>(t));
  else
    ins.bind_null(5);
  ins.run();
  int64_t id = sqlite3_last_insert_rowid(db_.handle());
  file_ids_[key] = id;
  if (!create) {
    // Made before tracking began: find its name(s) in the mount as it is now.
    Source& s = sources_[source];
    if (!s.walked) walk_tree(s);
    auto [a, b] = s.seen_files.equal_range(ino);
    for (auto it = a; it != b; ++it) name_add(id, it->second, t);
  }
  return id;
}

int64_t Collector::pipe_file(uint64_t ino, uint64_t t) {
  Stmt& q =
      st("SELECT id FROM files WHERE source_id IS NULL AND kind = 'pipe' AND ino = ? "
         "ORDER BY id DESC LIMIT 1");
  q.bind(1, static_cast<int64_t>(ino));
  if (q.step()) return q.int64(0);
  st("INSERT INTO files(ino, kind, created_ns) VALUES(?, 'pipe', ?)")
      .bind(1, static_cast<int64_t>(ino))
      .bind(2, static_cast<int64_t>(t))
      .run();
  return sqlite3_last_insert_rowid(db_.handle());
}

int64_t Collector::current_entity(int64_t file, uint64_t t, const std::string& path) {
  if (auto it = latest_entity_.find(file); it != latest_entity_.end()) return it->second.first;
  Stmt& q = st("SELECT id, version FROM entities WHERE file_id = ? ORDER BY version DESC LIMIT 1");
  q.bind(1, file);
  if (q.step()) {
    latest_entity_[file] = {q.int64(0), q.int64(1)};
    return q.int64(0);
  }
  return new_version(file, t, path);
}

int64_t Collector::new_version(int64_t file, uint64_t t, const std::string& path) {
  int64_t prev = 0, version = 1;
  if (auto it = latest_entity_.find(file); it != latest_entity_.end()) {
    prev = it->second.first;
    version = it->second.second + 1;
  } else {
    Stmt& q =
        st("SELECT id, version FROM entities WHERE file_id = ? ORDER BY version DESC LIMIT 1");
    q.bind(1, file);
    if (q.step()) {
      prev = q.int64(0);
      version = q.int64(1) + 1;
    }
  }
  std::string p = path.empty() ? path_of_file(file) : path;
  st("INSERT INTO entities(file_id, version, path, created_ns) VALUES(?, ?, ?, ?)")
      .bind(1, file)
      .bind(2, version)
      .bind(3, p)
      .bind(4, static_cast<int64_t>(t))
      .run();
  int64_t id = sqlite3_last_insert_rowid(db_.handle());
  latest_entity_[file] = {id, version};
  if (prev != 0) {
    st("INSERT OR IGNORE INTO derived(generated_id, used_id, time_ns, how) VALUES(?, ?, ?, "
       "'version')")
        .bind(1, id)
        .bind(2, prev)
        .bind(3, static_cast<int64_t>(t))
        .run();
  }
  return id;
}

void Collector::generated(int64_t entity, int64_t activity, uint64_t t, const char* how) {
  if (activity == 0) return;
  if (generated_seen_.size() > (1u << 20)) generated_seen_.clear();
  if (!generated_seen_.insert({entity, activity}).second) return;  // stored already
  Stmt& ins =
      st("INSERT OR IGNORE INTO generated(entity_id, activity_id, time_ns, how) VALUES(?,?,?,?)");
  ins.bind(1, entity).bind(2, activity).bind(3, static_cast<int64_t>(t)).bind(4, how).run();
  // wasDerivedFrom through the process (what it used before) is not stored: it is
  // used x generated per activity, quadratic on a busy process; queries derive it.
}

void Collector::used(int64_t activity, int64_t entity, uint64_t t, const char* how) {
  if (activity == 0) return;
  if (used_seen_.size() > (1u << 20)) used_seen_.clear();
  if (!used_seen_.insert({activity, entity}).second) return;  // stored already
  st("INSERT OR IGNORE INTO used(activity_id, entity_id, time_ns, how) VALUES(?,?,?,?)")
      .bind(1, activity)
      .bind(2, entity)
      .bind(3, static_cast<int64_t>(t))
      .bind(4, how)
      .run();
}

void Collector::informed(int64_t informed_id, int64_t informant, uint64_t t, const char* how) {
  st("INSERT INTO informed(informed_id, informant_id, time_ns, how) VALUES(?,?,?,?)")
      .bind(1, informed_id)
      .bind(2, informant)
      .bind(3, static_cast<int64_t>(t))
      .bind(4, how)
      .run();
}

void Collector::invalidated(int64_t entity, int64_t activity, uint64_t t, const char* how) {
  Stmt& ins = st("INSERT INTO invalidated(entity_id, activity_id, time_ns, how) VALUES(?,?,?,?)");
  ins.bind(1, entity);
  if (activity != 0)
    ins.bind(2, activity);
  else
    ins.bind_null(2);
  ins.bind(3, static_cast<int64_t>(t)).bind(4, how).run();
}

// Names of what existed before tracking began: one walk of the mount as it is now. Once
// per tracking session: a directory still unknown after it was made and removed before
// its records were read (a lagging or restarted collector), and walking again for each
// of its records made the collector quadratic (and its name cache grow without bound).
void Collector::walk_tree(Source& s) {
  s.walked = true;
  tree_walks_++;
  s.seen_files.clear();
  std::vector<std::string> todo = {s.mountpoint};
  for (size_t i = 0; i < todo.size() && i < 1000000; i++) {
    if (DIR* d = opendir(todo[i].c_str())) {
      while (dirent* e = readdir(d)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        std::string p = todo[i] + "/" + e->d_name;
        if (e->d_type != DT_DIR) {
          s.seen_files.emplace(e->d_ino, p);
          continue;
        }
        s.dirs.emplace(e->d_ino, p);  // a path from the records is as of their time: kept
        todo.push_back(std::move(p));
      }
      closedir(d);
    }
  }
}

// A directory's path: from mkdir/rename records, else from the tree walk.
std::string Collector::dir_path(Source& s, uint64_t ino) {
  if (auto it = s.dirs.find(ino); it != s.dirs.end()) return it->second;
  if (!s.walked) {
    walk_tree(s);
    if (auto it = s.dirs.find(ino); it != s.dirs.end()) return it->second;
  }
  return s.mountpoint + "/<dir " + std::to_string(ino) + ">";
}

std::string Collector::path_of(Source& s, uint64_t parent, const char* name, size_t len) {
  return dir_path(s, parent) + "/" + std::string(name, len);
}

void Collector::name_add(int64_t file, const std::string& path, uint64_t t) {
  st("INSERT INTO names(file_id, path, from_ns) VALUES(?, ?, ?)")
      .bind(1, file)
      .bind(2, path)
      .bind(3, static_cast<int64_t>(t))
      .run();
}

void Collector::name_end(int64_t file, const std::string& path, uint64_t t) {
  st("UPDATE names SET to_ns = ? WHERE file_id = ? AND path = ? AND to_ns IS NULL")
      .bind(1, static_cast<int64_t>(t))
      .bind(2, file)
      .bind(3, path)
      .run();
}

// A directory moved from `from` to `to`: every path below it changes (names, the caches).
void Collector::rename_subtree(Source& s, const std::string& from, const std::string& to,
                               uint64_t t) {
  const std::string lo = from + "/", hi = from + "0";  // '0' follows '/': the prefix range
  const int64_t ts = static_cast<int64_t>(t);
  st("INSERT INTO names(file_id, path, from_ns) SELECT file_id, ? || substr(path, ?), ? FROM "
     "names WHERE to_ns IS NULL AND path >= ? AND path < ?")
      .bind(1, to)
      .bind(2, static_cast<int64_t>(from.size() + 1))
      .bind(3, ts)
      .bind(4, lo)
      .bind(5, hi)
      .run();
  st("UPDATE names SET to_ns = ? WHERE to_ns IS NULL AND path >= ? AND path < ?")
      .bind(1, ts)
      .bind(2, lo)
      .bind(3, hi)
      .run();
  auto moved = [&](std::string& p) {
    if (p == from)
      p = to;
    else if (p.compare(0, lo.size(), lo) == 0)
      p = to + p.substr(from.size());
  };
  for (auto& [ino, p] : s.dirs) moved(p);
  for (auto& [ino, p] : s.seen_files) moved(p);
}

std::string Collector::path_of_file(int64_t file) {
  Stmt& q = st("SELECT path FROM names WHERE file_id = ? ORDER BY from_ns DESC LIMIT 1");
  q.bind(1, file);
  return q.step() ? q.text(0) : std::string();
}

void Collector::on_fs_malformed(int64_t source, uint64_t next_offset) {
  st("UPDATE sources SET malformed = malformed + 1 WHERE id = ?").bind(1, source).run();
  Source& s = sources_[source];
  s.cursor = next_offset;
  s.progressed = true;
}

void Collector::on_fs_record(int64_t source, const prov::Record& r, uint64_t next_offset) {
  Source& s = sources_[source];
  if (r.seq <= s.last_seq) return;  // stored before a restart
  const uint64_t t = r.monotonic_ns;
  std::string name(r.name, r.name_len), name2(r.name2, r.name2_len);
  int64_t act = activity_for_tid(r.tid, r.uid, r.gid, t);
  make_relevant(act);
  switch (r.type) {
    case RecordType::kCreate:
    case RecordType::kMknod:
    case RecordType::kMkdir:
    case RecordType::kSymlink: {
      const char* kind = r.type == RecordType::kMkdir                                    ? "dir"
                         : r.type == RecordType::kSymlink                                ? "symlink"
                         : (r.mode & S_IFMT) == S_IFIFO                                  ? "fifo"
                         : (r.mode & S_IFMT) == S_IFREG || r.type == RecordType::kCreate ? "file"
                                                                                         : "other";
      int64_t file = file_for(source, r.ino, r.gen, kind, t, true);
      std::string path = path_of(s, r.parent, r.name, r.name_len);
      name_add(file, path, t);
      int64_t ent = new_version(file, t, path);
      generated(ent, act, t,
                r.type == RecordType::kMkdir     ? "mkdir"
                : r.type == RecordType::kSymlink ? "symlink"
                                                 : "create");
      if (r.type == RecordType::kMkdir) s.dirs[r.ino] = path;
      if (r.type == RecordType::kCreate) {
        Handle h{file, r.flags, false};
        if (writes(r.flags)) {
          h.writing = true;
          write_sessions_[file]++;
          session_entity_[file] = ent;
        }
        s.handles[r.fh] = h;
        s.dirty_handles.insert(r.fh);
      }
      break;
    }
    case RecordType::kLink:
      name_add(file_for(source, r.ino, r.gen, "file", t, false),
               path_of(s, r.parent, r.name, r.name_len), t);
      break;
    case RecordType::kRename: {
      int64_t file =
          file_for(source, r.ino, r.gen, (r.mode & S_IFMT) == S_IFDIR ? "dir" : "file", t, false);
      std::string from = path_of(s, r.parent, r.name, r.name_len);
      std::string to = path_of(s, r.parent2, r.name2, r.name2_len);
      name_end(file, from, t);
      if (r.ino2 != 0) {
        int64_t other = file_for(source, r.ino2, r.gen2, "file", t, false);
        name_end(other, to, t);
        if (r.flags & 2) {  // RENAME_EXCHANGE
          name_add(other, from, t);
        } else if (r.aux & prov::kAuxDied) {
          invalidated(current_entity(other, t, to), act, t, "rename-over");
          st("UPDATE files SET died_ns = ? WHERE id = ?")
              .bind(1, static_cast<int64_t>(t))
              .bind(2, other)
              .run();
        }
      }
      name_add(file, to, t);
      if ((r.mode & S_IFMT) == S_IFDIR || s.dirs.count(r.ino) != 0) rename_subtree(s, from, to, t);
      break;
    }
    case RecordType::kUnlink:
    case RecordType::kRmdir: {
      int64_t file =
          file_for(source, r.ino, r.gen, r.type == RecordType::kRmdir ? "dir" : "file", t, false);
      std::string path = path_of(s, r.parent, r.name, r.name_len);
      name_end(file, path, t);
      if (r.aux & prov::kAuxDied) {
        invalidated(current_entity(file, t, path), act, t,
                    r.type == RecordType::kRmdir ? "rmdir" : "unlink");
        st("UPDATE files SET died_ns = ? WHERE id = ?")
            .bind(1, static_cast<int64_t>(t))
            .bind(2, file)
            .run();
      }
      if (r.type == RecordType::kRmdir) s.dirs.erase(r.ino);
      break;
    }
    case RecordType::kOpen:
    case RecordType::kHandleCarried: {
      int64_t file = file_for(source, r.ino, r.gen, "file", t, false);
      if (auto old = s.handles.find(r.fh); old != s.handles.end()) end_handle(s, old);
      s.handles[r.fh] = Handle{file, r.flags, false};
      s.dirty_handles.insert(r.fh);
      if (r.type == RecordType::kOpen && reads(r.flags))
        used(act, current_entity(file, t, ""), t, "open");
      break;
    }
    case RecordType::kWrite: {
      auto it = s.handles.find(r.fh);
      int64_t file = it != s.handles.end() ? it->second.file
                                           : file_for(source, r.ino, r.gen, "file", t, false);
      if (it != s.handles.end() && !it->second.writing) {
        it->second.writing = true;
        s.dirty_handles.insert(r.fh);
        if (write_sessions_[file]++ == 0) session_entity_[file] = new_version(file, t, "");
      }
      int64_t ent =
          session_entity_.count(file) ? session_entity_[file] : current_entity(file, t, "");
      generated(ent, act, t, "write");
      break;
    }
    case RecordType::kRead: {
      auto it = s.handles.find(r.fh);
      int64_t file = it != s.handles.end() ? it->second.file
                                           : file_for(source, r.ino, r.gen, "file", t, false);
      used(act, current_entity(file, t, ""), t, "read");
      break;
    }
    case RecordType::kRelease: {
      auto it = s.handles.find(r.fh);
      if (it != s.handles.end()) end_handle(s, it);
      break;
    }
    case RecordType::kTruncate: {
      int64_t file = file_for(source, r.ino, r.gen, "file", t, false);
      if (write_sessions_[file] == 0) generated(new_version(file, t, ""), act, t, "truncate");
      break;
    }
    case RecordType::kTrackingStart:
    case RecordType::kTrackingStop:
      // A new session of the mount: handles from before are gone (carried ones follow),
      // and what was made while untracked needs a new walk.
      while (!s.handles.empty()) end_handle(s, s.handles.begin());
      s.walked = false;
      break;
    default:
      break;  // chmod, chown: kept in events only
  }
  Stmt& ev =
      st("INSERT INTO events(source_id, seq, ts_ns, wall_ns, type, tid, uid, activity_id, ino, "
         "name, name2) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
  ev.bind(1, source).bind(2, static_cast<int64_t>(r.seq)).bind(3, static_cast<int64_t>(t));
  ev.bind(4, static_cast<int64_t>(r.realtime_ns)).bind(5, prov::record_type_name(r.type));
  ev.bind(6, r.tid).bind(7, r.uid).bind(8, act).bind(9, static_cast<int64_t>(r.ino));
  ev.bind(10, name).bind(11, name2).run();
  s.last_seq = r.seq;
  s.cursor = next_offset;
  s.pending_records++;
  s.progressed = true;
  ingested_++;
}

}  // namespace bento::collector
