// Ingest: the eBPF probes' events (bpf/include/bento_bpf/events.h): dispatch, processes
// (fork, exec, exit, uid changes, signals) and fds (pipes, dup, close, fd passing). Files
// outside the mounts are in ingest_files.cc, sockets in ingest_sockets.cc.
#include <fcntl.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "argv_text.h"
#include "bento_bpf/events.h"
#include "ingest.h"
#include "json_text.h"

namespace bento::collector {

namespace {

std::string pipe_name(uint64_t ino) {
  return "pipe:[" + std::to_string(ino) + "]";
}

const char* dup_call(uint32_t nr) {
  switch (nr) {
    case SYS_dup:
      return "dup";
    case SYS_dup2:
      return "dup2";
    case SYS_dup3:
      return "dup3";
    default:
      return "fcntl";
  }
}

const char* close_how(uint32_t how) {
  switch (how & BENTO_CLOSE_HOW_MASK) {
    case BENTO_CLOSE_RANGE:
      return "close_range";
    case BENTO_CLOSE_EXEC:
      return "cloexec";
    default:
      return "close";
  }
}

}  // namespace

bool Ingest::on_probe_event(const void* data, size_t size) {
  if (size < sizeof(bento_event_header)) return false;
  const auto* h = static_cast<const bento_event_header*>(data);
  newest_ns_ = std::max<uint64_t>(newest_ns_, h->ts_ns);
  switch (h->type) {
    case BENTO_EV_FORK:
      return on_fork(data, size);
    case BENTO_EV_EXEC:
      return on_exec(data, size);
    case BENTO_EV_EXIT:
      return on_exit(data, size);
    case BENTO_EV_PIPE_IO:
      return on_pipe_io(data, size);
    case BENTO_EV_OPEN:
      return on_open(data, size);
    case BENTO_EV_LISTING:
      return on_listing(data, size);
    case BENTO_EV_FD_SEND:
    case BENTO_EV_FD_RECV:
      return on_fd_pass(data, size);
    case BENTO_EV_PIPE:
      return on_pipe(data, size);
    case BENTO_EV_DUP:
      return on_dup(data, size);
    case BENTO_EV_CLOSE:
      return on_close(data, size);
    case BENTO_EV_SOCK_SEND:
    case BENTO_EV_SOCK_RECV:
    case BENTO_EV_SOCK_CONNECT:
    case BENTO_EV_SOCK_ACCEPT:
    case BENTO_EV_SOCK_BIND:
    case BENTO_EV_SOCK_END:
      return on_sock(data, size);
    case BENTO_EV_SOCKETPAIR:
      return on_socketpair(data, size);
    case BENTO_EV_MMAP:
      return on_mmap(data, size, false);
    case BENTO_EV_MUNMAP:
      return on_mmap(data, size, true);
    case BENTO_EV_FILE_IO:
      return on_file_io(data, size);
    case BENTO_EV_FILE_COPY:
      return on_file_copy(data, size);
    case BENTO_EV_TRUNCATE:
      return on_truncate(data, size);
    case BENTO_EV_RENAME:
    case BENTO_EV_LINK:
    case BENTO_EV_UNLINK:
      return on_path(data, size);
    case BENTO_EV_CRED:
      return on_cred(data, size);
    case BENTO_EV_KILL:
      return on_kill(data, size);
    case BENTO_EV_PROC_MEMORY:
      return on_proc_memory(data, size);
    default:
      return false;
  }
}

// fork/clone: a process (and a child activity running the parent's program until it
// execs, informed by the parent's activity at the fork) or a thread (a task row).
bool Ingest::on_fork(const void* data, size_t size) {
  if (size < sizeof(bento_fork_event)) return false;
  const auto* e = static_cast<const bento_fork_event*>(data);
  const bento_event_header* h = &e->h;
  tid_activity_.erase(e->child_tid);  // a reused tid now means the new task
  int64_t parent = process_for(h->pid, h->start_ns, h->uid, h->gid);
  if (e->is_thread) {
    store_.add_task(e->child_tid, parent, e->child_start_ns);
    // Its reads and writes on the mounts are kept per thread from now (thread_io).
    if (const int64_t act = activity_for_tid(h->tid, h->uid, h->gid, h->ts_ns); act != 0)
      threaded_.insert(act);
    return true;
  }
  int64_t child = store_.find_process(e->child_pid, e->child_start_ns);
  if (child == 0) child = store_.add_process(e->child_pid, e->child_start_ns, h->uid, h->gid);
  store_.set_process_parent(child, parent);
  int64_t pa = store_.activity_at(parent, h->ts_ns).id;
  if (pa == 0) pa = activity_for_tid(h->pid, h->uid, h->gid, h->ts_ns);  // born before us
  ActivityRow row;
  if (pa != 0) store_.activity(pa, &row);
  row.process = child;
  row.exe_ino = row.exe_dev = 0;
  row.uid = h->uid;  // a forked child runs its parent's program (exe, program kept)
  row.gid = h->gid;
  row.euid = h->euid;
  row.start_ns = e->child_start_ns;
  row.origin = "fork";
  if (row.argv_json.empty()) row.argv_json = "[]";
  int64_t a = store_.add_activity(row);
  store_.informed(a, pa, e->child_start_ns, "fork");
  if (forked_from_.size() > (1u << 18)) forked_from_.clear();  // a cache
  forked_from_[child] = pa;
  if (parent_pid_.size() > (1u << 18)) parent_pid_.clear();  // a cache
  parent_pid_[e->child_pid] = h->pid;
  tid_activity_[e->child_tid] = {a, static_cast<int64_t>(e->child_start_ns), INT64_MAX};
  return true;
}

// What a process in the host's mount namespace runs: its program path as the host names it.
void Ingest::name_on_host(const bento_event_header* h, const bento_exec_event* e,
                          const std::string& filename, int64_t prev, ActivityRow* row) {
  if (process_relative_path(filename)) {
    // fexecve's "/dev/fd/3", "/proc/self/exe": the probes' path of what runs (events.h v8),
    // placed on the host; a file with no path by its name (memfd:NAME); else /proc's.
    const std::string p(e->exe_path, strnlen(e->exe_path, sizeof e->exe_path));
    row->exe = filename;
    row->program = p.empty() || p[0] != '/' ? p : host_.host_path(e->exe_dev, p);
    if (row->program.empty()) row->program = host_.exe_of(h->pid);
    return;
  }
  const std::string dir(e->cwd, strnlen(e->cwd, sizeof e->cwd));
  // A relative program path is made absolute from the cwd; an absolute one under chroot
  // from the chroot's directory, the root it runs under (a relative one runs under the
  // root of the image before: exec does not leave a chroot).
  const bool absolute_name = !filename.empty() && filename[0] == '/';
  row->exe = filename.empty() ? filename : absolute(h->pid, filename, dir);
  if (absolute_name)  // what absolute() put in front of it: the chroot's directory, or none
    row->root = row->exe.substr(0, row->exe.size() - filename.size());
  ActivityRow before;
  if (!absolute_name && prev != 0 && store_.activity(prev, &before)) row->root = before.root;
  // The program it runs: the path with symlinks resolved now (under chroot inside the
  // root, as the kernel did), else what the process runs (a script's interpreter then),
  // else unknown.
  if (!row->root.empty() && row->exe.size() > row->root.size() &&
      row->exe.compare(0, row->root.size() + 1, row->root + "/") == 0)
    row->program = host_.resolve_in(row->root, row->exe.substr(row->root.size()));
  else
    row->program = host_.resolve(row->exe);
  if (row->program.empty()) row->program = host_.exe_of(h->pid);
}

// What a process in another mount namespace runs (a container, a service with private
// directories): the probes sent the executable's and the root's paths in fs form, which
// the host's mount table places. Its root, where it is not the host's, is kept like a
// chroot's: its paths are judged as it saw them (the container's /usr/lib is runtime).
void Ingest::name_in_namespace(const bento_exec_event* e, const std::string& filename,
                               ActivityRow* row) {
  std::string root =
      host_path(e->root_dev, std::string(e->root_path, strnlen(e->root_path, sizeof e->root_path)));
  if (!root.empty() && root.back() == '/') root.pop_back();  // the host's own "/": none
  row->root = root;
  row->program =
      host_path(e->exe_dev, std::string(e->exe_path, strnlen(e->exe_path, sizeof e->exe_path)));
  // The name it was called by, where it is absolute: under its root, like a chroot's.
  row->exe = !filename.empty() && filename[0] == '/' ? root + filename : row->program;
}

// exec: the process's current activity ends, a new one (the program, its argv) begins,
// informed by the one before.
bool Ingest::on_exec(const void* data, size_t size) {
  if (size < sizeof(bento_exec_event)) return false;
  const auto* e = static_cast<const bento_exec_event*>(data);
  const bento_event_header* h = &e->h;
  tid_activity_.erase(h->tid);
  tid_activity_.erase(h->pid);
  tid_activity_.erase(e->old_tid);
  int64_t proc = process_for(h->pid, h->start_ns, h->uid, h->gid);
  int64_t prev = store_.activity_at(proc, h->ts_ns).id;
  if (prev != 0) {
    store_.end_activity(prev, h->ts_ns);
    pending_ended(prev, h->ts_ns);
    store_copies(prev);
  }
  ActivityRow row;
  row.process = proc;
  const std::string filename(e->filename, strnlen(e->filename, sizeof e->filename));
  if (h->mnt_ns != 0)
    name_in_namespace(e, filename, &row);
  else
    name_on_host(h, e, filename, prev, &row);
  row.argv_json = argv_json(e->args, std::min<size_t>(e->args_len, sizeof e->args));
  row.exe_ino = e->exe_ino;
  row.exe_dev = e->exe_dev;
  row.uid = h->uid;
  row.gid = h->gid;
  row.euid = h->euid;
  row.start_ns = h->ts_ns;
  row.origin = "exec";
  if (e->login_uid != 0xffffffffu) row.login_uid = e->login_uid;  // events.h v8
  if (e->session_id != 0xffffffffu) row.session_id = e->session_id;
  int64_t a = store_.add_activity(row);
  store_.informed(a, prev, h->ts_ns, "exec");
  tid_activity_[h->tid] = {a, static_cast<int64_t>(h->ts_ns), INT64_MAX};
  if (prev != 0) {
    if (exec_prev_.size() > (1u << 18)) exec_prev_.clear();  // a cache
    exec_prev_[a] = prev;
  }
  note_program(a, e, row);
  for (int fd = 0; fd < 3 && exec_std_pipes_; fd++) {
    if (e->std_pipe_ino[fd] == 0) continue;
    int64_t file = store_.find_pipe(e->std_pipe_ino[fd]);
    if (file == 0) file = store_.add_pipe(e->std_pipe_ino[fd], h->ts_ns);
    int64_t ent = current_entity(file, h->ts_ns, pipe_name(e->std_pipe_ino[fd]));
    if (fd == 0)
      store_.used(a, ent, h->ts_ns, "pipe");
    else
      store_.generated(ent, a, h->ts_ns, "pipe");
  }
  return true;
}

bool Ingest::on_exit(const void* data, size_t size) {
  if (size < sizeof(bento_exit_event)) return false;
  const auto* e = static_cast<const bento_exit_event*>(data);
  const bento_event_header* h = &e->h;
  tid_activity_.erase(h->tid);
  store_.end_task(h->tid, h->ts_ns);
  if (!e->group_dead) return true;
  int64_t proc = store_.find_process(h->pid, h->start_ns);
  if (proc == 0) return true;
  if (int64_t last = store_.activity_at(proc, h->ts_ns).id; last != 0) {
    pending_ended(last, h->ts_ns);
    store_copies(last);
  }
  store_.set_process_exit(proc, h->ts_ns, e->exit_code);
  store_.end_process_activities(proc, h->ts_ns);
  terminal_holder_exited(proc);
  return true;
}

// The channel of a terminal's output for this event: its session's. A master read makes
// its process a holder of the session; once every holder has exited, the next event on the
// pts number (its device, inode and number are the same) begins a new session.
std::string Ingest::terminal_output_key(const bento_pipe_io_event* e) {
  TerminalOutput& s = terminal_outputs_[{e->dev, e->ino, e->generation}];
  if (s.closed) {
    s.session++;
    s.closed = false;
    s.holders.clear();
  }
  if (!e->is_write)
    if (const int64_t process = store_.find_process(e->h.pid, e->h.start_ns); process != 0)
      s.holders.insert(process);
  return fifo_key(e->dev, e->ino, e->generation | kTerminalOutput) + " session " +
         std::to_string(s.session);
}

// A FIFO's channel outside the mounts (a named FIFO, a terminal's output): a file of its
// file system by (dev, ino, gen), existing from its first transfer seen, stored or not.
Ingest::Channel& Ingest::fifo_channel(const std::string& key, const bento_pipe_io_event* e,
                                      uint32_t gen, uint64_t t) {
  remember_file_id(e->file_id, e->dev, e->ino);
  Channel& c = channel(key, Channel::kPipe, e->ino, "");
  c.dev = e->dev;
  c.gen = gen;
  if (c.born == 0) c.born = t;
  return c;
}

// A POSIX queue is named as mq_open names it ("/jobs": its fd shows that path on the
// queue file system), while the event's process still holds it; a System V queue by its
// msqid (what ipcs lists).
std::string Ingest::message_queue_name(const bento_pipe_io_event* e) {
  if (e->channel == BENTO_CHANNEL_SYSV_MSG)
    return "[System V message queue " + std::to_string(e->ino) + "]";
  std::string name = host_.fd_path(e->h.pid, e->fd, e->dev, e->ino);
  if (name.empty()) return "[message queue " + std::to_string(e->ino) + "]";
  return "message queue " + name;
}

void Ingest::terminal_holder_exited(int64_t process) {
  for (auto& [terminal, s] : terminal_outputs_)
    if (s.holders.erase(process) != 0 && s.holders.empty()) s.closed = true;
}

// First read / first write of a process image on a pipe or FIFO: the pipe is an entity the
// writers generate and the readers use (stdio or not, passed or not). A FIFO on a tracked
// mount is that mount's file (its data never reaches the fs log); a pipe is a flow whose
// ends are stored once either end is kept (ingest_scope.cc).
bool Ingest::on_pipe_io(const void* data, size_t size) {
  if (size < sizeof(bento_pipe_io_event)) return false;
  const auto* e = static_cast<const bento_pipe_io_event*>(data);
  const bento_event_header* h = &e->h;
  const uint64_t t = h->ts_ns;
  int64_t act = activity_for_tid(h->tid, h->uid, h->gid, t);
  if (int64_t src = source_for_dev(e->dev); src != 0) {
    make_relevant(act);
    const int64_t file = mount_file(src, e->ino, e->generation, "fifo", t);
    // A FIFO holds nothing: a first version made here does not carry on the one its mknod
    // record, read from the fs log later, puts before it (insert_version: "replaced").
    const int64_t ent = current_entity(file, t, "", /*emptied=*/true);
    store_.instant_transfer(act, ent, t, e->is_write != 0, e->again == BENTO_PIPE_IO_OPEN, "pipe");
    return true;
  }
  // A pseudo-terminal's output (events.h v13): a pipe from the programs that write its
  // /dev/pts/N to the holder of its master that reads it (sshd, script, tmux). A file of
  // kind fifo, "/dev/pts/N (output)", apart from the device's own row (its input, what was
  // typed: the same dev and ino): kTerminalOutput in its generation.
  if (e->channel == BENTO_CHANNEL_TERMINAL) {
    const std::string key = terminal_output_key(e);
    Channel& c = fifo_channel(key, e, e->generation | kTerminalOutput, t);
    if (c.addr.empty()) {
      std::string name = host_.device_path(e->generation);
      if (name.empty()) name = "[terminal " + std::to_string(e->generation) + "]";
      c.addr = name + " (output)";
    }
    channel_io(key, act, t, e->is_write != 0, false, e->again == BENTO_PIPE_IO_OPEN);
    return true;
  }
  // A message queue (events.h v14): a stream from its senders to its receivers, like a
  // FIFO; named by the queue's name (POSIX) or its msqid (System V).
  if (e->channel == BENTO_CHANNEL_MQUEUE || e->channel == BENTO_CHANNEL_SYSV_MSG) {
    const std::string key = fifo_key(e->dev, e->ino, e->generation) + " queue";
    Channel& c = fifo_channel(key, e, e->generation, t);
    if (c.addr.empty()) c.addr = message_queue_name(e);
    channel_io(key, act, t, e->is_write != 0, false, e->again == BENTO_PIPE_IO_OPEN);
    return true;
  }
  // A FIFO outside the mounts (not on pipefs): its inode number is its file system's, and
  // may equal a pipe's (pipefs numbers its inodes apart): a file of its own, named by the
  // path its fd shows while a process holds it.
  if (const uint64_t pipefs = host_.pipefs_dev(); pipefs != 0 && e->dev != pipefs) {
    const std::string key = fifo_key(e->dev, e->ino, e->generation);
    Channel& c = fifo_channel(key, e, e->generation, t);
    if (c.addr.empty()) c.addr = host_.fd_path(h->pid, e->fd, e->dev, e->ino);  // each end
    channel_io(key, act, t, e->is_write != 0,
               !e->is_write && runs_stdin(act, e->dev, e->ino, e->fd),
               e->again == BENTO_PIPE_IO_OPEN);
    return true;
  }
  remember_file_id(e->file_id, 0, e->ino);
  const std::string key = "pipe " + std::to_string(e->ino);
  channel(key, Channel::kPipe, e->ino, "");
  // An interpreter reading its stdin runs what it reads (ingest_programs.cc).
  channel_io(key, act, t, e->is_write != 0, !e->is_write && runs_stdin(act, 0, e->ino, e->fd),
             e->again == BENTO_PIPE_IO_OPEN);
  return true;
}

// set*id, capset: a change of the uid or gid is a new activity from that moment (the
// agent of what follows), informed by the one before (how setuid). One event per thread:
// the second finds the change made.
bool Ingest::on_cred(const void* data, size_t size) {
  if (size < sizeof(bento_cred_event)) return false;
  const auto* e = static_cast<const bento_cred_event*>(data);
  const bento_event_header* h = &e->h;
  const uint64_t t = h->ts_ns;
  const int64_t prev = activity_for_tid(h->tid, h->uid, h->gid, t);
  ActivityRow row;
  if (prev == 0 || !store_.activity(prev, &row)) return true;
  if (row.uid == e->uid && row.euid == e->euid && row.gid == e->gid) return true;
  const bool uid_changed = row.uid != e->uid || row.euid != e->euid;
  row.uid = e->uid;
  row.euid = e->euid;
  row.gid = e->gid;
  row.start_ns = t;
  row.origin = uid_changed ? "setuid" : "setgid";
  const int64_t a = store_.add_activity(row);
  store_.end_activity(prev, t);
  store_.informed(a, prev, t, uid_changed ? "setuid" : "setgid");
  if (Keep k = kept(prev); k != kNotKept) kept_[a] = k;
  tid_activity_.clear();  // every thread of the process now stands for the new activity
  return true;
}

// A signal: a mark from the sender to the target process's activity at that moment.
bool Ingest::on_kill(const void* data, size_t size) {
  if (size < sizeof(bento_kill_event)) return false;
  const auto* e = static_cast<const bento_kill_event*>(data);
  const bento_event_header* h = &e->h;
  const uint64_t t = h->ts_ns;
  const int64_t act = activity_for_tid(h->tid, h->uid, h->gid, t);
  int64_t target = 0;
  if (e->resolved) {
    if (int64_t proc =
            store_.find_process(static_cast<uint32_t>(e->target_pid), e->target_start_ns))
      target = store_.activity_at(proc, t).id;
  }
  if (act == 0 || target == 0) return true;  // a group, or a process the graph never saw
  store_.action(act, t, "signal", 0, target,
                to_json_text({{"signal", e->sig},
                              {"target_pid", e->target_pid},
                              {"target_tid", e->target_tid},
                              {"syscall", e->syscall_nr}}));
  return true;
}

// An fd handed over a Unix socket: the receiver was informed by the sender.
bool Ingest::on_fd_pass(const void* data, size_t size) {
  if (size < sizeof(bento_fd_pass_event)) return false;
  const auto* e = static_cast<const bento_fd_pass_event*>(data);
  const bento_event_header* h = &e->h;
  int64_t act = activity_for_tid(h->tid, h->uid, h->gid, h->ts_ns);
  if (fd_senders_.size() > 100000) fd_senders_.clear();
  for (uint32_t i = 0; i < e->nfds && i < BENTO_FDS_MAX; i++) {
    if (h->type == BENTO_EV_FD_SEND) {
      fd_senders_[e->file_ids[i]] = act;
      continue;
    }
    remember_file_id(e->file_ids[i], e->devs[i], e->inos[i]);
    if (auto it = fd_senders_.find(e->file_ids[i]); it != fd_senders_.end()) {
      if (it->second != act && act != 0) store_.informed(act, it->second, h->ts_ns, "fd-pass");
      fd_senders_.erase(it);
    }
  }
  return true;
}

// A new pipe: a new identity, even if pipefs hands out an inode number again.
bool Ingest::on_pipe(const void* data, size_t size) {
  if (size < sizeof(bento_pipe_event)) return false;
  const auto* e = static_cast<const bento_pipe_event*>(data);
  const bento_event_header* h = &e->h;
  // A new pipe: a new identity, even if pipefs hands out an inode number again. Its row is
  // made when a kept process uses it (most pipes on a host never are).
  const std::string key = "pipe " + std::to_string(e->pipe_ino);
  retire_channel(key);
  Channel& c = channels_[key];
  c.kind = Channel::kPipe;
  c.ino = e->pipe_ino;
  c.fresh = true;
  c.born = h->ts_ns;
  c.newest = h->ts_ns;
  remember_file_id(e->file_ids[0], 0, e->pipe_ino);
  remember_file_id(e->file_ids[1], 0, e->pipe_ino);
  int64_t act = activity_for_tid(h->tid, h->uid, h->gid, h->ts_ns);
  PendingItem mark{PendingItem::kAction};
  mark.t = h->ts_ns;
  mark.what = e->flags != 0 ? "pipe2" : "pipe";
  mark.path = key;
  mark.detail = to_json_text({{"fds", {e->fds[0], e->fds[1]}}, {"flags", e->flags}});
  fd_action_or_wait(act, std::move(mark));
  return true;
}

bool Ingest::on_dup(const void* data, size_t size) {
  if (size < sizeof(bento_dup_event)) return false;
  const auto* e = static_cast<const bento_dup_event*>(data);
  const bento_event_header* h = &e->h;
  // A pipe's fd was remembered with dev 0 (its PIPE event): keep that meaning.
  uint64_t dev = e->dev, ino = e->ino;
  if (auto known = file_ids_.find(e->file_id); known != file_ids_.end()) {
    dev = known->second.first;
    ino = known->second.second;
  }
  remember_file_id(e->file_id, dev, ino);
  int64_t act = activity_for_tid(h->tid, h->uid, h->gid, h->ts_ns);
  nlohmann::json detail = {{"oldfd", e->oldfd}, {"newfd", e->newfd}};
  if (e->replaced) detail["replaced"] = true;
  PendingItem mark{PendingItem::kAction};
  mark.t = h->ts_ns;
  mark.what = dup_call(e->syscall_nr);
  mark.dev = dev;
  mark.ino = ino;
  mark.known = true;
  mark.detail = to_json_text(detail);
  if (e->replaced & BENTO_DUP_REPLACED_LAST_WRITE) {
    if (auto old = file_ids_.find(e->replaced_file_id); old != file_ids_.end()) {
      mark.ends_write = true;
      mark.end_dev = old->second.first;
      mark.end_ino = old->second.second;
    }
  }
  fd_action_or_wait(act, std::move(mark));
  return true;
}

bool Ingest::on_close(const void* data, size_t size) {
  if (size < sizeof(bento_close_event)) return false;
  const auto* e = static_cast<const bento_close_event*>(data);
  const bento_event_header* h = &e->h;
  int64_t act = activity_for_tid(h->tid, h->uid, h->gid, h->ts_ns);
  auto known = file_ids_.find(e->file_id);
  PendingItem mark{PendingItem::kAction};
  mark.t = h->ts_ns;
  mark.what = "close";
  mark.known = known != file_ids_.end();
  mark.detail = to_json_text({{"fd", e->fd}, {"how", close_how(e->how)}});
  if (mark.known) {
    mark.dev = known->second.first;
    mark.ino = known->second.second;
    mark.ends_write = (e->how & BENTO_CLOSE_LAST_WRITE) != 0;
    mark.end_dev = mark.dev;
    mark.end_ino = mark.ino;
  }
  fd_action_or_wait(act, std::move(mark));
  return true;
}

// dev 0 marks a pipe (pipefs inode numbers are only unique among pipes).
int64_t Ingest::known_entity(uint64_t dev, uint64_t ino, uint64_t t) {
  int64_t file = 0;
  if (dev == 0) {
    if (channels_.count("pipe " + std::to_string(ino)) != 0)
      return channel_entity("pipe " + std::to_string(ino), t);
    file = store_.find_pipe(ino);
  } else if (int64_t src = source_for_dev(dev); src != 0)
    file = store_.find_file_any_gen(src, ino);
  else
    file = store_.find_outside_any_gen(dev, ino);
  if (file == 0) return 0;
  return store_.latest_version(file).id;
}

void Ingest::remember_file_id(uint64_t file_id, uint64_t dev, uint64_t ino) {
  if (file_id == 0) return;
  if (file_ids_.size() > (1u << 18)) file_ids_.clear();  // a cache of recent fds
  file_ids_[file_id] = {dev, ino};
}

}  // namespace bento::collector
