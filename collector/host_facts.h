// What the collector asks of the machine itself, behind an interface so that the graph
// rules (ingest.h) run in tests without /proc or real mounts: processes that started
// before the probes (read from /proc; all of them remembered at start), a process's working
// directory (relative paths), a mountpoint's st_dev, and the names of what a mount held
// before tracking began.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "mount_table.h"

namespace bento::collector {

struct ProcessFacts {
  bool found = false;
  uint32_t pid = 0;                         // thread-group id of the thread asked about
  uint64_t start_ns = 0;                    // CLOCK_MONOTONIC (boot-based), the process's identity
  std::string exe;                          // /proc/PID/exe
  std::string argv_json;                    // JSON array from /proc/PID/cmdline
  int64_t login_uid = -1, session_id = -1;  // /proc/PID/loginuid, sessionid (-1: unset)
};

class HostFacts {
 public:
  virtual ~HostFacts() = default;
  // A thread the probes never saw (it started before them).
  virtual ProcessFacts process_of_thread(uint32_t tid) = 0;
  // Remembers every process running now (provd, once the probes are loaded): one that
  // started before the probes and exits before the collector reads its first event (a
  // shell that forks a pipeline and exits) is still named by process_of_thread then.
  virtual void remember_running_processes() {}
  // The working directory of pid, "" when gone.
  virtual std::string cwd(uint32_t pid) = 0;
  // A path with symlinks resolved ("" when it cannot be): what a program path runs.
  virtual std::string resolve(const std::string& path) = 0;
  // The same for an absolute `path` as a process chrooted to `root` (a host path) saw it:
  // its absolute symlinks stay under root. The host path it names.
  virtual std::string resolve_in(const std::string& root, const std::string& path) = 0;
  // Where the host sees fs_path, a path from the root of the file system on dev (what the
  // probes send for a task in another mount namespace): "" when the host mounts no part of
  // that file system holding it.
  virtual std::string host_path(uint64_t dev, const std::string& fs_path) = 0;
  // The executable pid runs now (/proc/PID/exe), "" when gone.
  virtual std::string exe_of(uint32_t pid) = 0;
  // The path pid's fd names, if it still holds the file (dev, ino): "" when the process,
  // the fd or the name is gone. What names a file written through an fd opened before the
  // probes loaded. A memfd (a file of the kernel's own shmem or hugetlbfs mount, no path)
  // is named as the kernel names it: "memfd:NAME".
  virtual std::string fd_path(uint32_t pid, int fd, uint64_t dev, uint64_t ino) = 0;
  // The path of the character device numbered rdev (st_rdev's encoding): a pseudo-terminal
  // is /dev/pts/N (devpts registers none in sysfs), any other the node udev made for its
  // sysfs DEVNAME (/dev/urandom, /dev/input/event3); "" when the kernel names none.
  virtual std::string device_path(uint64_t rdev) = 0;
  // The st_dev of anonymous pipes (pipefs): a PIPE_IO of another dev is a FIFO's. 0 when
  // unknown (every PIPE_IO is then taken for a pipe's).
  virtual uint64_t pipefs_dev() { return 0; }
  // lstat(2): false when the path is gone.
  virtual bool lstat(const std::string& path, uint64_t* dev, uint64_t* ino) = 0;
  // st_dev of a path, 0 when it cannot be stat'ed.
  virtual uint64_t dev_of(const std::string& path) = 0;
  // Every entry below `root` (not following symlinks): f(path, ino, is_dir).
  virtual void walk(const std::string& root,
                    const std::function<void(const std::string&, uint64_t, bool)>& f) = 0;
};

// The real machine: /proc, stat(2), opendir(3).
// This machine's pipefs st_dev (a pipe's fstat), 0 if no pipe could be made: what tells an
// anonymous pipe's PIPE_IO from a FIFO's. Read once.
uint64_t machine_pipefs_dev();

class ProcHostFacts : public HostFacts {
 public:
  ProcHostFacts() = default;
  ~ProcHostFacts() override;
  ProcHostFacts(const ProcHostFacts&) = delete;
  ProcHostFacts& operator=(const ProcHostFacts&) = delete;
  ProcessFacts process_of_thread(uint32_t tid) override;
  void remember_running_processes() override;
  uint64_t pipefs_dev() override;
  std::string cwd(uint32_t pid) override;
  std::string resolve(const std::string& path) override;
  std::string resolve_in(const std::string& root, const std::string& path) override;
  std::string host_path(uint64_t dev, const std::string& fs_path) override;
  std::string exe_of(uint32_t pid) override;
  std::string fd_path(uint32_t pid, int fd, uint64_t dev, uint64_t ino) override;
  std::string device_path(uint64_t rdev) override;
  bool lstat(const std::string& path, uint64_t* dev, uint64_t* ino) override;
  uint64_t dev_of(const std::string& path) override;
  void walk(const std::string& root,
            const std::function<void(const std::string&, uint64_t, bool)>& f) override;

 private:
  int mountinfo_fd_ = -1;  // /proc/self/mountinfo, polled for changes
  MountTable mounts_;
  // tid -> its process, for every thread running when remember_running_processes() ran:
  // asked only once /proc no longer has the thread (a new process with a reused tid was
  // forked while the probes watched, so its threads are never asked about).
  std::unordered_map<uint32_t, ProcessFacts> running_;
};

}  // namespace bento::collector
