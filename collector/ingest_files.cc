// Ingest: files seen by the probes — opens and first reads/writes of files outside the
// tracked mounts (versioned, told apart by inode generation), exact read times for every
// file, writable shared mappings, and truncate/rename/link/unlink of outside files.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>

#include "bento_bpf/events.h"
#include "file_identity.h"
#include "ingest.h"
#include "json_text.h"
#include "posix_semaphore.h"

namespace bento::collector {

namespace {

constexpr char kUnnamedTmpfile[] = "<unnamed O_TMPFILE>";
// A regular file whose dentry walk ends at once (events.h: a memfd reopened through
// /proc/self/fd/N, a file with no path): named so, not "/".
constexpr char kNoPath[] = "<file without a path>";

bool writes(uint32_t flags) {
  return (flags & O_ACCMODE) != O_RDONLY;
}

// Shared libraries and the loader's files: every program opens them; as lineage inputs
// they are noise even before the query's runtime rule (LINEAGE.md) would fold them.
bool loader_file(const std::string& p) {
  for (const char* prefix : {"/usr/lib/", "/lib/", "/lib64/", "/usr/lib64/", "/etc/ld.so.",
                             "/usr/share/locale/", "/usr/lib/locale/", "/etc/localtime"}) {
    if (p.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

std::string cstr(const char* s, size_t max) {
  return std::string(s, strnlen(s, max));
}

// The thread whose memory /proc/PID/environ or /proc/PID/mem (or /proc/PID/task/TID/...)
// holds, or 0 for any other path (/proc/self/environ: the reader's own).
uint32_t proc_memory_tid(std::string_view path) {
  if (!path.starts_with("/proc/")) return 0;
  path.remove_prefix(6);
  auto number = [&path]() -> uint32_t {
    uint64_t n = 0;
    size_t i = 0;
    while (i < path.size() && i < 10 && path[i] >= '0' && path[i] <= '9')
      n = n * 10 + static_cast<uint64_t>(path[i++] - '0');
    if (i == 0 || i == path.size() || path[i] != '/' || n > UINT32_MAX) return 0;
    path.remove_prefix(i + 1);
    return static_cast<uint32_t>(n);
  };
  uint32_t tid = number();
  if (tid != 0 && path.starts_with("task/")) {
    path.remove_prefix(5);
    tid = number();
  }
  return tid != 0 && (path == "environ" || path == "mem") ? tid : 0;
}

}  // namespace

// A file under a loader prefix that a process opened for writing while the probes watched
// (`cp payload /usr/lib/x/y`, a library replaced) is no loader file: its writes, and the
// reads of whatever was written there, are kept like any other file's, so that a payload
// staged there stays a source. The set is a bounded cache (forgotten when full, or when
// provd restarts).
bool Ingest::loader_path_written(uint64_t dev, uint64_t ino, bool opened_for_writing) {
  const std::pair<uint64_t, uint64_t> key{dev, ino};
  if (opened_for_writing) {
    if (written_loader_paths_.size() > (1u << 14)) written_loader_paths_.clear();
    written_loader_paths_.insert(key);
    loader_files_.erase(key);
    return true;
  }
  return written_loader_paths_.count(key) != 0;
}

std::string Ingest::absolute(uint32_t pid, const std::string& path, const std::string& dir) const {
  if (path.empty()) return path;
  if (path[0] == '/')  // the probes send a directory with it only under chroot: the root
    return dir.empty() || dir == "/"
               ? path
               : (dir.back() == '/' ? dir.substr(0, dir.size() - 1) : dir) + path;
  std::string base = dir.empty() ? host_.cwd(pid) : dir;
  if (base.empty()) return path;
  std::string_view rel = path;
  while (rel.size() > 2 && rel.substr(0, 2) == "./") rel.remove_prefix(2);  // ./run.sh
  return base + (base.back() == '/' ? "" : "/") + std::string(rel);
}

std::string Ingest::host_path(uint64_t dev, const std::string& fs_path) {
  if (fs_path.empty()) return fs_path;
  std::string p = host_.host_path(dev, fs_path);
  if (!p.empty()) return p;
  return "<fs " + std::to_string(major(dev)) + ":" + std::to_string(minor(dev)) + ">" + fs_path;
}

std::string Ingest::passed_path(const bento_event_header* h, const char* path, size_t cap,
                                const bento_dir_ref& dir) {
  std::string p = cstr(path, cap);
  if (h->mnt_ns == 0) return absolute(h->pid, p, cstr(dir.path, sizeof dir.path));
  if (p.empty() || p[0] == '/' || dir.path_len == 0) return "";
  return absolute(h->pid, p, host_path(dir.dev, cstr(dir.path, sizeof dir.path)));
}

int64_t Ingest::outside_file(uint64_t dev, uint64_t ino, uint32_t gen, const std::string& path,
                             uint64_t t) {
  int64_t file = store_.find_outside_file(dev, ino, gen);
  if (file == 0) {
    file = store_.add_outside_file(dev, ino, gen, "file", 0);
    if (!path.empty()) store_.add_name(file, path, t);
  } else if (!path.empty() && store_.latest_name(file) != path) {
    store_.add_name(file, path, t);  // the name it had at this open
  }
  return file;
}

int64_t Ingest::file_of(uint64_t dev, uint64_t ino, uint32_t gen, const std::string& path,
                        uint64_t t, bool create) {
  if (int64_t src = source_for_dev(dev); src != 0) {
    if (int64_t f = store_.find_file_any_gen(src, ino); f != 0) return f;
    return create ? mount_file(src, ino, 0, "file", t) : 0;
  }
  if (int64_t f = store_.find_outside_file(dev, ino, gen); f != 0) return f;
  return create ? outside_file(dev, ino, gen, path, t) : 0;
}

// Opens of regular files. Those on a tracked mount are in its fs log (in more detail);
// the others become files outside the mounts, stored for the activities the database
// keeps (ingest_scope.cc).
bool Ingest::on_open(const void* data, size_t size) {
  if (size < offsetof(bento_open_event, generation)) return false;
  const auto* e = static_cast<const bento_open_event*>(data);
  const bento_event_header* h = &e->h;
  remember_file_id(e->file_id, e->dev, e->ino);
  if (source_for_dev(e->dev) != 0) return true;
  std::string path = h->mnt_ns != 0 ? host_path(e->dev, cstr(e->path, sizeof e->path))
                                    : absolute(h->pid, cstr(e->path, sizeof e->path), "");
  if (path == "/") path = pathless_name(h->pid, e->fd, e->dev, e->ino);
  if ((e->mode & S_IFMT) == S_IFIFO) {
    name_fifo(e->dev, e->ino, e->generation, path);
    return true;
  }
  // O_TMPFILE names the directory the file is made in: the file has no name (ed's and
  // tmpfile(3)'s scratch files), else it would read as "read /tmp". The probes' walk
  // names it by the kernel's placeholder dentry ("/tmp/#1234"): the directory is kept.
  if (!path.empty() && (e->flags & O_TMPFILE) == O_TMPFILE) {
    if (size_t slash = path.rfind('/');
        slash != std::string::npos && slash + 1 < path.size() && path[slash + 1] == '#')
      path.erase(slash == 0 ? 1 : slash);
    path += (path.back() == '/' ? "" : "/") + std::string(kUnnamedTmpfile);
  }
  if (path.empty() || !remember_path(e->dev, e->ino, path, writes(e->flags))) return true;
  int64_t act = activity_for_tid(h->tid, h->uid, h->gid, h->ts_ns);
  if (act == 0) return true;
  // The probes' one procfs file: a process's environ or mem. Another's holds what that
  // process had read (outside_open makes it the file's writer); the reader's own, or one
  // named in a mount namespace of its own (its /proc may be its own), is runtime: left out.
  int64_t owner = 0;
  uint64_t owner_from = 0;
  if (path.starts_with("/proc/")) {
    const uint32_t tid = h->mnt_ns == 0 ? proc_memory_tid(path) : 0;
    if (tid == 0 || tid == h->pid) return true;
    owner = activity_for_tid(tid, 0, 0, h->ts_ns);
    if (owner == 0 || owner == act) return true;
    owner_from = static_cast<uint64_t>(std::max<int64_t>(0, tid_activity_[tid].from));
  }
  PendingItem o{PendingItem::kOpen};
  o.owner = owner;
  o.owner_from = owner_from;
  o.output = writes(e->flags);
  o.program = (e->flags & O_ACCMODE) != O_WRONLY && is_script_open(act, path);
  if (o.output) note_program_written(e->dev, e->ino, path);
  o.flags = e->flags;
  o.t = h->ts_ns;
  o.dev = e->dev;
  o.ino = e->ino;
  o.path = std::move(path);
  if (size >= sizeof(bento_open_event)) {
    o.gen = file_identity(e->generation, e->btime_ns);
    o.made = e->created != 0;
  }
  // procfs hands a later process's files the same inode numbers: the image's start tells
  // its environ apart.
  if (owner != 0) o.gen = static_cast<uint32_t>(owner_from ^ (owner_from >> 32));
  if (open_identity_.size() > (1u << 18)) open_identity_.clear();  // a cache
  open_identity_[{e->dev, e->ino}] = o.gen;
  // Reading another process's memory is kept whatever comes of it: it is also how a shell
  // hands a program the file (`tr '\0' '\n' < /proc/PID/environ`), an open by the image
  // before the exec, whose read the probes do not report for procfs.
  if (owner != 0) keep(act, kFull);
  const Keep k = kept(act);
  if (k == kFull || (k == kForward && o.output)) {
    outside_open(act, o);
  } else {
    if (o.output) note_outside_writer(act, o);
    wait(act, std::move(o));
  }
  return true;
}

// A directory listed outside the tracked mounts (events.h LISTING): its names are an input
// of the lister, as a listing on a mount is (the fs log's readdir, LINEAGE.md): `find /etc
// -name '*.key' > keys.txt` took keys.txt's lines from /etc's listings.
bool Ingest::on_listing(const void* data, size_t size) {
  if (size < sizeof(bento_open_event)) return false;
  const auto* e = static_cast<const bento_open_event*>(data);
  const bento_event_header* h = &e->h;
  if (source_for_dev(e->dev) != 0) return true;  // the mount's fs log has it
  std::string path = cstr(e->path, sizeof e->path);
  if (h->mnt_ns != 0) path = host_path(e->dev, path);
  if (path.empty()) return true;
  const int64_t act = activity_for_tid(h->tid, h->uid, h->gid, h->ts_ns);
  if (act == 0) return true;
  PendingItem o{PendingItem::kListing};
  o.t = h->ts_ns;
  o.dev = e->dev;
  o.ino = e->ino;
  o.gen = file_identity(e->generation, e->btime_ns);
  o.path = std::move(path);
  if (kept(act) == kFull)
    apply(act, o);
  else
    wait(act, std::move(o));
  return true;
}

// The directory's files row (kind "dir"), named by the path it was listed by.
void Ingest::store_listing(int64_t act, const PendingItem& item) {
  int64_t dir = store_.find_outside_file(item.dev, item.ino, item.gen);
  if (dir == 0) {
    dir = store_.add_outside_file(item.dev, item.ino, item.gen, "dir", 0);
    store_.add_name(dir, item.path, item.t);
  } else if (store_.latest_name(dir) != item.path) {
    store_.add_name(dir, item.path, item.t);  // renamed, or listed through another mount
  }
  store_.used(act, entity_at(dir, item.t), item.t, "readdir");
}

// process_vm_readv / process_vm_writev, ptrace's PEEK / POKE (events.h v14): another
// process's memory, like an open of /proc/PID/mem. A reader takes in what the target had read; a
// writer puts what it had read into the target (an injection): the target takes the writer's memory
// in. The memory is a file "/proc/PID/mem" of no file system (dev 0, ino PID), one per image.
bool Ingest::on_proc_memory(const void* data, size_t size) {
  if (size < sizeof(bento_proc_memory_event)) return false;
  const auto* e = static_cast<const bento_proc_memory_event*>(data);
  const bento_event_header* h = &e->h;
  if (e->resolved == 0 || e->target_pid <= 0) return true;  // a process the probes never saw
  const auto target_pid = static_cast<uint32_t>(e->target_pid);
  const int64_t caller = activity_for_tid(h->tid, h->uid, h->gid, h->ts_ns);
  const int64_t process = store_.find_process(target_pid, e->target_start_ns);
  const int64_t target = process != 0 ? activity_for_tid(target_pid, 0, 0, h->ts_ns) : 0;
  if (caller == 0 || target == 0 || caller == target) return true;
  const bool injected = e->is_write != 0;
  const int64_t taker = injected ? target : caller;  // whose memory takes the bytes in
  const uint32_t giver_pid = injected ? h->pid : target_pid;
  PendingItem o{PendingItem::kOpen};
  o.owner = injected ? caller : target;
  o.owner_from = static_cast<uint64_t>(
      std::max<int64_t>(0, tid_activity_[injected ? h->tid : target_pid].from));
  o.flags = O_RDONLY;
  o.t = h->ts_ns;
  o.ino = giver_pid;
  o.gen = static_cast<uint32_t>(o.owner_from ^ (o.owner_from >> 32));
  o.path = "/proc/" + std::to_string(giver_pid) + "/mem";
  if (e->syscall_nr == SYS_ptrace)
    o.what = injected ? "ptrace-poke" : "ptrace-peek";
  else
    o.what = injected ? "process_vm_writev" : "process_vm_readv";
  keep(taker, kFull);
  outside_open(taker, o);
  return true;
}

// A FIFO outside the mounts is named by the path it was opened by: its data moves in
// PIPE_IO (ingest_probes.cc), whose process and fd may be gone when that event is ingested.
void Ingest::name_fifo(uint64_t dev, uint64_t ino, uint32_t gen, const std::string& path) {
  if (path.empty() || path[0] != '/') return;  // no walk to the root ("..."): keep fifo:[ino]
  if (dev == host_.pipefs_dev()) return;       // a pipe reopened through /proc/PID/fd/N
  Channel& c = channel(fifo_key(dev, ino, gen), Channel::kPipe, ino, "");
  c.dev = dev;
  c.gen = gen;
  if (c.addr.empty()) c.addr = path;
}

// A regular file whose dentry walk ended at once (events.h: the probes send "/"): a
// memfd reopened through /proc/PID/fd/N. Named as the kernel names it ("memfd:NAME") when
// known: from an earlier look at a holder's fd (its writer's first write, on_file_io),
// else from this opener's fd while it still holds it; else <file without a path>.
std::string Ingest::pathless_name(uint32_t pid, int fd, uint64_t dev, uint64_t ino) {
  if (auto known = open_path_.find({dev, ino});
      known != open_path_.end() && known->second != kNoPath)
    return known->second;
  std::string p = host_.fd_path(pid, fd, dev, ino);
  return p.empty() ? kNoPath : p;
}

std::string Ingest::inherited_fd_path(uint32_t pid, int fd, uint64_t dev, uint64_t ino) {
  // fd_path checks the fd still holds (dev, ino): a reused pid or fd names nothing else.
  constexpr int kGenerations = 16;
  for (int i = 0; i < kGenerations && pid != 0; i++) {
    if (std::string p = host_.fd_path(pid, fd, dev, ino); !p.empty()) return p;
    auto parent = parent_pid_.find(pid);
    if (parent == parent_pid_.end()) break;
    pid = parent->second;
  }
  return "";
}

// A character device an image read (typed at a terminal, /dev/urandom): named by its
// device number (the probes send it as the generation), which outlives the reader's fd
// (`head -c 32 /dev/urandom` has exited when its read is ingested); else by that fd.
void Ingest::name_device(const void* file_io_event) {
  const auto* e = static_cast<const bento_file_io_event*>(file_io_event);
  if (open_path_.count({e->dev, e->ino})) return;
  std::string path = host_.device_path(e->generation);
  if (path.empty()) path = host_.fd_path(e->h.pid, e->fd, e->dev, e->ino);
  if (path.empty())
    path = "[character device " + std::to_string(major(e->generation)) + ":" +
           std::to_string(minor(e->generation)) + "]";
  remember_path(e->dev, e->ino, path);
}

int64_t Ingest::device_version(int64_t file, uint64_t t) {
  const VersionRef v = store_.version_at(file, t);
  return v.id != 0 ? v.id : new_version(file, 0);
}

// What a pty master's holder (sshd-session, a tmux server, script) writes is its
// terminal's input while it holds it: a version of the device per writing process (a
// session), not derived from the one before (a pts number comes back for a later session,
// whose readers read nothing of the last one's). Its writer may be kept only once a
// reader of its terminal is (that read stored already): the reads from its first write on
// move to its version.
int64_t Ingest::terminal_session(int64_t file, int64_t act, uint64_t t) {
  ActivityRow me;
  const int64_t process = store_.activity(act, &me) ? me.process : 0;
  const int64_t before = device_version(file, t);
  if (auto w = session_writer_.find(before); w != session_writer_.end() && w->second == process)
    return before;
  const int64_t session = new_version(file, t, "", /*emptied=*/true);
  if (session_writer_.size() > (1u << 16)) session_writer_.clear();  // a cache: a new version
  session_writer_[session] = process;
  if (session != 0 && before != 0) store_.move_reads(session, before, t);
  return session;
}

// What an outside file is called, for its reads and writes through fds no open we saw
// names (on_file_io). A loader file (libraries, locales) is remembered as never an input,
// so that its mmaps need no look in /proc. Returns false for one. A loader-prefix file
// opened for writing while watched is none (loader_path_written).
bool Ingest::remember_path(uint64_t dev, uint64_t ino, const std::string& path,
                           bool opened_for_writing) {
  if (loader_file(path) && !loader_path_written(dev, ino, opened_for_writing)) {
    if (loader_files_.size() > (1u << 16)) loader_files_.clear();  // a cache
    loader_files_.insert({dev, ino});
    return false;
  }
  if (open_path_.size() > (1u << 16)) open_path_.clear();  // a cache, of bounded paths
  open_path_[{dev, ino}] = path;
  return true;
}

uint32_t Ingest::outside_identity(uint64_t dev, uint64_t ino, uint32_t generation) const {
  if (generation != 0) return generation;
  auto it = open_identity_.find({dev, ino});
  return it != open_identity_.end() ? it->second : 0;
}

// The first read of a process image on a file: the read's exact time (the page cache may
// have served it, so the fs never saw it). The first write of an image on a file outside
// the mounts names the writer when another image opened it: `sort a > /tmp/x` is opened
// by the shell's forked image, written by sort after its exec (on a mount, the fs log
// says who wrote).
bool Ingest::on_file_io(const void* data, size_t size) {
  if (size < sizeof(bento_file_io_event)) return false;
  const auto* e = static_cast<const bento_file_io_event*>(data);
  const bento_event_header* h = &e->h;
  if (e->is_write == BENTO_FILE_IO_WRITE_FAILED) {
    write_failed(e);
    return true;
  }
  exact_reads_ = true;
  // A character device's read, or a pty master's write as its terminal's: like a file's.
  const bool device =
      e->is_write == BENTO_FILE_IO_DEVICE_READ || e->is_write == BENTO_FILE_IO_DEVICE_WRITE;
  if (device) name_device(e);
  const bool write = device ? e->is_write == BENTO_FILE_IO_DEVICE_WRITE : e->is_write != 0;
  // An outside file this image never opened while the probes watched (an fd opened before
  // they loaded, inherited or passed): its name, from the fd, while the process holds it.
  if (source_for_dev(e->dev) == 0 && !open_path_.count({e->dev, e->ino}) &&
      !loader_files_.count({e->dev, e->ino})) {
    if (std::string p = inherited_fd_path(h->pid, e->fd, e->dev, e->ino); !p.empty())
      remember_path(e->dev, e->ino, p);
  }
  if (write) {
    const int64_t act = activity_for_tid(h->tid, h->uid, h->gid, h->ts_ns);
    if (source_for_dev(e->dev) != 0) {
      // The fs log names who wrote through a handle once per thread: a program a shell
      // exec'd in the same process (`(echo a; cat f) >> log`) writes unnamed. Its first
      // write fills that in once the log has been read well past it (store_mount_write).
      PendingItem w{PendingItem::kFileWrite, true};
      w.t = h->ts_ns;
      w.dev = e->dev;
      w.ino = e->ino;
      if (act != 0) defer(act, std::move(w));
      return true;
    }
    PendingItem w{PendingItem::kFileWrite, true};
    w.t = h->ts_ns;
    w.dev = e->dev;
    w.ino = e->ino;
    w.gen = outside_identity(e->dev, e->ino, e->generation);
    w.instant = device;
    const Keep k = kept(act);
    if (k != kFull) note_outside_writer(act, w);  // a later reader keeps its causes
    if (k >= kForward)
      apply(act, w);
    else
      wait(act, std::move(w));
    return true;
  }
  // copy_file_range, sendfile and splice read a regular file and write in one call: the
  // probe stamps their read at the call's entry, before the write it feeds.
  const int64_t act = activity_for_tid(h->tid, h->uid, h->gid, h->ts_ns);
  PendingItem r{PendingItem::kFileRead};
  r.t = h->ts_ns;
  r.dev = e->dev;
  r.ino = e->ino;
  r.gen = source_for_dev(e->dev) != 0 ? 0 : outside_identity(e->dev, e->ino, e->generation);
  r.instant = device;
  if (auto in = stdin_file_.find(act); e->fd == 0 && in != stdin_file_.end() &&
                                       in->second.first == e->dev && in->second.second == e->ino)
    r.on_stdin = true;  // given by the shell (`sort < /etc/passwd`): its data, said so
  if (source_for_dev(e->dev) != 0) {
    defer(act, std::move(r));  // the open's record may not be read yet
    return true;
  }
  if (kept(act) == kFull)
    apply(act, r);
  else
    wait(act, std::move(r));
  return true;
}

// A writable shared mapping: the process may write the file through memory, without a
// write() call, from the mapping until its end. That is a write by it: a new version
// (or, in a write session, the session's), whose last write is the mapping's end.
bool Ingest::on_mmap(const void* data, size_t size, bool end) {
  if (size < sizeof(bento_mmap_event)) return false;
  const auto* e = static_cast<const bento_mmap_event*>(data);
  const bento_event_header* h = &e->h;
  const uint64_t t = h->ts_ns;
  const auto key = std::make_tuple(h->pid, h->start_ns, e->addr);
  if (end) {
    if (auto it = mappings_.find(key); it != mappings_.end()) {
      store_.generated_last(it->second.first, it->second.second, t);
      mappings_.erase(it);
    } else {
      // Its start may still wait (deferred): it ends then.
      for (auto& [act, item] : deferred_)
        if (item.kind == PendingItem::kMapping && item.pid == h->pid &&
            item.proc_start == h->start_ns && item.addr == e->addr)
          item.ends_reported = false, item.detail = std::to_string(t);
    }
    return true;
  }
  const int64_t act = activity_for_tid(h->tid, h->uid, h->gid, t);
  if (act == 0) return true;
  not_only_copies(act, e->dev, e->ino);  // it may write the file with any bytes
  PendingItem m{PendingItem::kMapping, true};
  m.t = t;
  m.dev = e->dev;
  m.ino = e->ino;
  m.gen = e->generation;
  m.pid = h->pid;
  m.proc_start = h->start_ns;
  m.addr = e->addr;
  m.ends_reported = e->tracked != 0;
  if ((e->how == BENTO_MMAP_MMAP || e->how == BENTO_MMAP_SHMAT) &&
      (e->flags & MAP_ANONYMOUS) != 0) {
    if (anon_shared_.size() >= 65536) anon_shared_.clear();  // a cache: stored files keep theirs
    // Anonymous memory has no path: named after who made it (or attached it first).
    anon_shared_.try_emplace(
        {e->dev, e->ino}, (e->how == BENTO_MMAP_SHMAT ? "[System V shared memory attached by pid "
                                                      : "[anonymous shared memory of pid ") +
                              std::to_string(h->pid) + "]");
  }
  if (source_for_dev(e->dev) != 0) {
    defer(act, std::move(m));  // the mount's records about the file may not be read yet
    return true;
  }
  // Like a write: it waits with its activity, and a later holder of the memory (a child
  // that writes a mount) keeps it (share_mapping).
  const Keep k = kept(act);
  if (k != kFull) note_outside_writer(act, m);
  if (k != kNotKept)
    store_mapping(act, m);
  else
    wait(act, std::move(m));
  return true;
}

// A process image's first write to a file on a tracked mount (probe), applied once the
// mount's log has been read kMountWriteMargin past it: the fs log's own record of that
// write, if it has one, is stored by then. An image the log did not name as a writer of
// the file gets the version the write went to: the write session open now (the handle it
// wrote through is still open), else the version the file had at the write.
//
// The fs logs each thread's first write through a handle, so a write it did not log is one
// by a thread that wrote through it before, under an earlier image (`(echo a; cat f) >>
// log`: cat exec'd in the subshell that wrote). The probes report a write at its entry: a
// process the log never saw write the file wrote nothing (its call failed: ENOSPC).
void Ingest::store_mount_write(int64_t act, const PendingItem& w) {
  const int64_t file = file_of(w.dev, w.ino, 0, "", w.t, false);
  if (file == 0 || fs_writers_.count({file, act}) != 0 || !process_wrote(file, act)) return;
  make_relevant(act);
  const auto s = sessions_.find(file);
  const bool open = s != sessions_.end() && s->second.entity != 0;
  const int64_t ent = open ? s->second.entity : entity_at(file, w.t);
  store_.generated(ent, act, w.t, "write");
  if (!open) return;
  // Its last write is bounded by the release of the handles writing now (end_handle).
  for (auto& [source, m] : mounts_)
    for (auto& [fh, h] : m.handles)
      if (h.file == file && h.writing) add_writer(h, act);
}

// Whether the fs log saw a thread of act's process write `file`: its writers are looked at
// newest first (the image before an exec is a recent one), at most kLookBack of them, so
// that a file written by very many processes costs no more.
bool Ingest::process_wrote(int64_t file, int64_t act) {
  constexpr int kLookBack = 256;
  ActivityRow me;
  if (!store_.activity(act, &me)) return false;
  auto it = fs_data_writers_.upper_bound({file, std::numeric_limits<int64_t>::max()});
  for (int n = 0; n < kLookBack && it != fs_data_writers_.begin(); n++) {
    --it;
    if (it->first != file) break;
    ActivityRow other;
    if (store_.activity(it->second, &other) && other.process == me.process) return true;
  }
  return false;
}

void Ingest::store_mapping(int64_t act, const PendingItem& m) {
  const bool tracked = source_for_dev(m.dev) != 0;
  if (tracked) make_relevant(act);
  std::string name;
  if (auto a = anon_shared_.find({m.dev, m.ino}); a != anon_shared_.end())
    name = a->second;
  else if (auto p = open_path_.find({m.dev, m.ino}); !tracked && p != open_path_.end())
    name = p->second;  // its open may wait with an activity not kept yet
  const int64_t file = file_of(m.dev, m.ino, tracked ? 0 : m.gen, name, m.t, true);
  if (file == 0) return;
  if (mapped_.size() > 100000) mapped_.clear();  // then a mapping of one of them starts anew
  MappedFile& mapped = mapped_[file];
  int64_t ent = 0;
  if (auto s = sessions_.find(file); s != sessions_.end() && s->second.entity != 0)
    ent = s->second.entity;
  else if (mapped.entity != 0 && store_.latest_version(file).id == mapped.entity)
    ent = mapped.entity;  // the memory other mappings write: one content, one version
  else
    ent = new_version(file, m.t);
  if (ent != mapped.entity) mapped = {ent, {}};
  store_.generated(ent, act, m.t, "mmap");
  share_mapping(act, file, ent, m, name.empty() ? store_.latest_name(file) : name);
  if (!m.detail.empty()) {  // it ended while it waited
    store_.generated_last(ent, act, std::strtoull(m.detail.c_str(), nullptr, 10));
  } else if (m.ends_reported) {
    if (mappings_.size() > 100000) mappings_.clear();
    mappings_[std::make_tuple(m.pid, m.proc_start, m.addr)] = {ent, act};
  }
}

// Processes holding shared mappings of one file exchange data through memory, with no call
// to see: each reads what the others write, from the time both hold it (a child forked
// while its parent holds a mapping; a second process mapping a /dev/shm file). So a
// holder is a reader of the version they write from then on (until it ends), the first
// holder too once another one joins; a lone mapping is only a write. A POSIX semaphore
// carries a count, not data: its holders are not readers of each other (every
// multiprocessing worker holds its pool's locks).
void Ingest::share_mapping(int64_t act, int64_t file, int64_t ent, const PendingItem& m,
                           const std::string& path) {
  constexpr size_t kHolders = 64;  // then later holders read; earlier ones may not be told
  if (posix_semaphore(path)) return;
  auto& holders = mapped_[file].holders;
  uint64_t since = 0;  // the earliest time both it and another holder held the memory
  for (const auto& [h, t] : holders) {
    if (h == act) continue;
    since = since == 0 ? std::max(t, m.t) : std::min(since, std::max(t, m.t));
    if (kept(h) != kNotKept) store_.used(h, ent, std::max(t, m.t), "mmap");  // else at its own
  }
  if (std::none_of(holders.begin(), holders.end(), [&](const auto& x) { return x.first == act; }) &&
      holders.size() < kHolders)
    holders.push_back({act, m.t});
  if (since != 0) store_.used(act, ent, since, "mmap");
  // Holders not kept yet (waiting) wrote what it reads: kept now, and told of it here.
  if (kept(act) != kNotKept && source_for_dev(m.dev) == 0) {
    PendingItem read = m;
    read.t = std::numeric_limits<uint64_t>::max();  // a mapping is read until its end
    keep_outside_writers(act, read);
  }
}

// truncate/ftruncate of a file outside the mounts (the fs log has the others): a new
// version by the caller, emptied at length 0 (`truncate -s 0 f` opens f without O_TRUNC
// and calls ftruncate). Like a write-open it waits with its activity until that is kept:
// a later reader of the file keeps it (note_outside_writer), or its earlier versions
// would seem to live on in what the file holds.
bool Ingest::on_truncate(const void* data, size_t size) {
  if (size < sizeof(bento_truncate_event)) return false;
  const auto* e = static_cast<const bento_truncate_event*>(data);
  const bento_event_header* h = &e->h;
  PendingItem tr{PendingItem::kTruncate, true};
  tr.t = h->ts_ns;
  tr.flags = e->length == 0 ? O_TRUNC : 0;
  tr.by_fd = e->fd >= 0;
  if (tr.by_fd) {
    tr.dev = e->dev;
    tr.ino = e->ino;
  } else {
    // truncate(2) names a path, resolved now (the probes cannot): gone, it is not followed.
    if (e->dir.dev != 0 && source_for_dev(e->dir.dev) != 0) return true;
    tr.path = passed_path(h, e->path, sizeof e->path, e->dir);
    if (tr.path.empty() || process_relative_path(tr.path))
      return true;  // not placed: unknown rather than another file's (the collector's own)
    const std::string real = host_.resolve(tr.path);
    if (real.empty() || !host_.lstat(real, &tr.dev, &tr.ino)) return true;
  }
  if (tr.dev == 0 || source_for_dev(tr.dev) != 0) return true;  // the fs log has it
  tr.gen = outside_identity(tr.dev, tr.ino, e->fd >= 0 ? e->generation : 0);
  if (tr.path.empty())
    if (auto p = open_path_.find({tr.dev, tr.ino}); p != open_path_.end()) tr.path = p->second;
  const int64_t act = activity_for_tid(h->tid, h->uid, h->gid, tr.t);
  if (act == 0) return true;
  const Keep k = kept(act);
  if (k != kFull) note_outside_writer(act, tr);
  if (k >= kForward)
    apply(act, tr);
  else
    wait(act, std::move(tr));
  return true;
}

void Ingest::rename_outside(int64_t file, int64_t act, uint64_t t, const std::string& from,
                            const std::string& to) {
  store_.end_name(file, from, t);
  store_.add_name(file, to, t);
  metadata_change(file, act, t, "rename", to, false, from);
}

// rename, link, unlink of a file outside the mounts that the graph has: its names follow,
// the change is the caller's (a version, as on a mount); an unlink invalidates it.
bool Ingest::on_path(const void* data, size_t size) {
  if (size < sizeof(bento_path_event)) return false;
  const auto* e = static_cast<const bento_path_event*>(data);
  const bento_event_header* h = &e->h;
  const uint64_t t = h->ts_ns;
  if (e->olddir.dev != 0 && source_for_dev(e->olddir.dev) != 0) return true;  // the fs log
  const std::string oldp = passed_path(h, e->oldpath, sizeof e->oldpath, e->olddir);
  // An absolute path carries no directory dev: one on a tracked mount is the fs log's too
  // (stored from both, an unlink invalidated the version twice).
  if (oldp.empty() || under_tracked_mount(oldp)) return true;  // empty: not placed (above)
  const std::string newp = passed_path(h, e->newpath, sizeof e->newpath, e->newdir);
  if (newp.empty() && h->type != BENTO_EV_UNLINK) return true;
  const int64_t act = activity_for_tid(h->tid, h->uid, h->gid, t);
  switch (h->type) {
    case BENTO_EV_RENAME: {
      int64_t file = store_.find_file_named(oldp);
      uint64_t dev = 0, ino = 0;
      if (file == 0 && host_.lstat(newp, &dev, &ino) && source_for_dev(dev) == 0) {
        file = store_.find_outside_any_gen(dev, ino);  // known by its inode, not by this name
        if (file == 0 && kept(act) == kNotKept) {
          // Not stored yet, by an undecided activity (`sed -i` on /tmp/f renames its
          // temporary file over f): it waits with it, like the writes before it, so the
          // file is named as it is now once a reader keeps them.
          PendingItem r{PendingItem::kRename, true};
          r.t = t;
          r.dev = dev;
          r.ino = ino;
          r.gen = outside_identity(dev, ino, 0);
          r.path = newp;
          r.detail = oldp;
          note_outside_writer(act, r);
          wait(act, std::move(r));
          return true;
        }
      }
      if (file == 0) return true;
      rename_outside(file, act, t, oldp, newp);
      return true;
    }
    case BENTO_EV_LINK: {
      int64_t file = e->ino_known ? store_.find_outside_file(e->dev, e->ino, e->generation)
                                  : store_.find_file_named(oldp);
      if (file == 0) return true;
      std::string was = store_.latest_name(file);
      store_.add_name(file, newp, t);
      metadata_change(file, act, t, "link", was.empty() ? newp : was);
      return true;
    }
    default: {  // unlink, rmdir
      if (store_.find_file_named(oldp) == 0 && kept(act) == kNotKept) {
        // Not stored yet: the caller may be undecided, with its own read of the file
        // waiting (`mv /tmp/f out` reads f, writes out on the mount, unlinks f before the
        // mount's log keeps it): the unlink waits with it, so f is marked deleted then.
        PendingItem u{PendingItem::kUnlink};
        u.t = t;
        u.path = oldp;
        wait(act, std::move(u));
        note_late_unlink(act, t, oldp);  // or the file is stored before the caller is kept
        return true;
      }
      unlink_outside(act, t, oldp);
      return true;
    }
  }
}

bool Ingest::under_tracked_mount(const std::string& path) const {
  for (const auto& [source, m] : mounts_) {
    const std::string& mp = m.mountpoint;
    if (!mp.empty() && path.size() > mp.size() && path.compare(0, mp.size(), mp) == 0 &&
        (path[mp.size()] == '/' || mp == "/"))
      return true;
  }
  return false;
}

// The file that had the name at `t`: an unlink applied late (its caller kept only now) must
// not remove a file renamed to the name, or stored under it, after it (`zip -r a.zip`
// unlinks a.zip, then renames its temporary file to a.zip).
void Ingest::unlink_outside(int64_t act, uint64_t t, const std::string& path) {
  int64_t file = store_.find_file_named_at(path, t);
  if (file == 0) return;
  store_.end_name(file, path, t);
  store_.invalidated(current_entity(file, t), act, t, "unlink");
}

void Ingest::note_late_unlink(int64_t act, uint64_t t, const std::string& path) {
  if (late_unlinks_.size() >= (1u << 16)) late_unlinks_.clear();  // a cache
  auto& v = late_unlinks_[path];
  if (v.size() < 16) v.push_back({act, t});
}

// `cat /mnt/secret > /tmp/x; rm /tmp/x`: rm touches no mount and is never kept, and /tmp/x
// is stored only once the mount's log keeps cat, after rm's unlink was met. The first such
// unlink after the version `since` began is this file's: it is marked deleted by it, and
// rm is kept so that it stays in the graph (its waiting unlink is then done).
void Ingest::apply_late_unlink(int64_t file, const std::string& path, uint64_t since) {
  auto it = late_unlinks_.find(path);
  if (it == late_unlinks_.end()) return;
  auto& v = it->second;
  auto first = v.end();
  for (auto u = v.begin(); u != v.end(); ++u)
    if (u->second > since && (first == v.end() || u->second < first->second)) first = u;
  if (first == v.end()) return;
  const auto [act, t] = *first;
  v.erase(first);
  if (v.empty()) late_unlinks_.erase(it);
  if (auto p = pending_.find(act); p != pending_.end()) {
    auto& items = p->second.items;
    for (auto i = items.begin(); i != items.end(); ++i)
      if (i->kind == PendingItem::kUnlink && i->t == t && i->path == path) {
        items.erase(i);
        pending_total_--;
        break;
      }
  }
  make_forward(act);
  if (store_.latest_name(file) != path) return;  // renamed meanwhile: not this name's file
  store_.end_name(file, path, t);
  store_.invalidated(current_entity(file, t), act, t, "unlink");
}

}  // namespace bento::collector
