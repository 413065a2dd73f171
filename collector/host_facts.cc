#include "host_facts.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "argv_text.h"

namespace bento::collector {

namespace {

// A small /proc file; empty when it is gone. POSIX reads: /proc files of a process that
// exits mid-read fail with ESRCH, which std::filebuf turns into an exception.
std::string read_small_file(const std::string& path) {
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

std::string read_link(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// Field 22 of /proc/PID/stat (starttime, clock ticks since boot) in ns.
uint64_t start_time_ns(const std::string& stat) {
  size_t rp = stat.rfind(')');
  if (rp == std::string::npos) return 0;
  const char* p = stat.c_str() + rp + 1;
  for (int field = 3; field < 22 && *p != '\0'; field++) {  // to field 22, starttime
    while (*p == ' ') p++;
    while (*p != ' ' && *p != '\0') p++;
  }
  while (*p == ' ') p++;
  return std::strtoull(p, nullptr, 10) *
         (1000000000ULL / static_cast<uint64_t>(sysconf(_SC_CLK_TCK)));
}

// pid's identity and program from /proc/PID (not found when it is gone).
ProcessFacts process_facts(uint32_t pid) {
  ProcessFacts f;
  f.pid = pid;
  const std::string dir = "/proc/" + std::to_string(pid);
  f.start_ns = start_time_ns(read_small_file(dir + "/stat"));
  f.exe = read_link(dir + "/exe");
  std::string cmd = read_small_file(dir + "/cmdline");
  f.argv_json = argv_json(cmd.data(), cmd.size());
  for (auto [file, out] : {std::pair{"/loginuid", &f.login_uid}, {"/sessionid", &f.session_id}}) {
    const std::string v = read_small_file(dir + file);  // 4294967295: unset
    if (!v.empty() && v != "4294967295") *out = std::strtoll(v.c_str(), nullptr, 10);
  }
  f.found = f.start_ns != 0;
  return f;
}

bool all_digits(const char* s) {
  if (*s == '\0') return false;
  for (; *s != '\0'; s++)
    if (*s < '0' || *s > '9') return false;
  return true;
}

}  // namespace

ProcessFacts ProcHostFacts::process_of_thread(uint32_t tid) {
  std::string status = read_small_file("/proc/" + std::to_string(tid) + "/status");
  if (status.empty()) {
    // Gone: a process running when provd started is known by what it was then.
    auto it = running_.find(tid);
    return it != running_.end() ? it->second : ProcessFacts{};
  }
  uint32_t pid = tid;
  if (auto at = status.find("\nTgid:"); at != std::string::npos)
    pid = static_cast<uint32_t>(std::strtoul(status.c_str() + at + 6, nullptr, 10));
  return process_facts(pid);
}

void ProcHostFacts::remember_running_processes() {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return;
  while (dirent* e = readdir(proc)) {
    if (!all_digits(e->d_name)) continue;
    const auto pid = static_cast<uint32_t>(std::strtoul(e->d_name, nullptr, 10));
    ProcessFacts f = process_facts(pid);
    if (!f.found) continue;  // exited meanwhile
    running_[pid] = f;
    // Its threads: the probes and the fs log name a thread by its own tid.
    DIR* tasks = opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
    if (tasks == nullptr) continue;
    while (dirent* t = readdir(tasks))
      if (all_digits(t->d_name))
        running_[static_cast<uint32_t>(std::strtoul(t->d_name, nullptr, 10))] = f;
    closedir(tasks);
  }
  closedir(proc);
}

uint64_t machine_pipefs_dev() {
  static const uint64_t dev = [] {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return uint64_t{0};
    struct stat st {};
    const uint64_t d = fstat(fds[0], &st) == 0 ? static_cast<uint64_t>(st.st_dev) : 0;
    close(fds[0]);
    close(fds[1]);
    return d;
  }();
  return dev;
}

uint64_t ProcHostFacts::pipefs_dev() {
  return machine_pipefs_dev();
}

std::string ProcHostFacts::cwd(uint32_t pid) {
  return read_link("/proc/" + std::to_string(pid) + "/cwd");
}

std::string ProcHostFacts::resolve(const std::string& path) {
  char* real = realpath(path.c_str(), nullptr);
  if (real == nullptr) return "";
  std::string out = real;
  std::free(real);
  return out;
}

std::string ProcHostFacts::resolve_in(const std::string& root, const std::string& path) {
  int dir = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return "";
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT;  // "/" and ".." stop at root, as under chroot
  int fd = static_cast<int>(syscall(SYS_openat2, dir, path.c_str(), &how, sizeof how));
  close(dir);
  if (fd < 0) return "";
  std::string out = read_link("/proc/self/fd/" + std::to_string(fd));
  close(fd);
  return out;
}

ProcHostFacts::~ProcHostFacts() {
  if (mountinfo_fd_ >= 0) close(mountinfo_fd_);
}

std::string ProcHostFacts::host_path(uint64_t dev, const std::string& fs_path) {
  // mountinfo polls POLLPRI after a mount or unmount: read again only then.
  bool changed = mountinfo_fd_ < 0;
  if (changed) {
    mountinfo_fd_ = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  } else {
    pollfd p{mountinfo_fd_, POLLPRI, 0};
    changed = poll(&p, 1, 0) > 0 && (p.revents & (POLLPRI | POLLERR)) != 0;
  }
  if (changed && mountinfo_fd_ >= 0) {
    std::string text;
    char buf[16384];
    lseek(mountinfo_fd_, 0, SEEK_SET);
    for (ssize_t n; (n = read(mountinfo_fd_, buf, sizeof buf)) > 0;)
      text.append(buf, static_cast<size_t>(n));
    mounts_ = MountTable::parse(text);
  }
  return mounts_.host_path(dev, fs_path);
}

std::string ProcHostFacts::exe_of(uint32_t pid) {
  return read_link("/proc/" + std::to_string(pid) + "/exe");
}

std::string ProcHostFacts::fd_path(uint32_t pid, int fd, uint64_t dev, uint64_t ino) {
  if (fd < 0) return "";
  const std::string link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  std::string path = read_link(link);
  const std::string deleted = " (deleted)";
  const bool gone = path.size() > deleted.size() &&
                    path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0;
  if (path.empty() || path[0] != '/') return "";
  struct stat st {};  // the fd may have been closed and reused since the event
  if (stat(link.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_dev) != dev ||
      static_cast<uint64_t>(st.st_ino) != ino)
    return "";
  // A memfd: the kernel shows its dentry's name as "/memfd:NAME (deleted)". It lives on
  // the kernel's own shmem (or hugetlbfs) mount, which no mount table shows; a deleted
  // file named /memfd:x on a real file system is no memfd.
  if (const std::string memfd = "/memfd:"; gone && S_ISREG(st.st_mode) &&
                                           path.compare(0, memfd.size(), memfd) == 0 &&
                                           host_path(dev, "/").empty())
    return path.substr(1, path.size() - 1 - deleted.size());
  return gone ? "" : path;
}

std::string ProcHostFacts::device_path(uint64_t rdev) {
  const unsigned maj = major(rdev), min = minor(rdev);
  constexpr unsigned kPtySlaveMajor = 136, kPtySlaveMajors = 8;  // UNIX98_PTY_SLAVE_MAJOR
  if (maj >= kPtySlaveMajor && maj < kPtySlaveMajor + kPtySlaveMajors)
    return "/dev/pts/" + std::to_string((maj - kPtySlaveMajor) * 256 + min);
  const std::string uevent = read_small_file("/sys/dev/char/" + std::to_string(maj) + ":" +
                                             std::to_string(min) + "/uevent");
  const std::string_view key = "DEVNAME=";
  for (size_t at = 0; at < uevent.size();) {
    const size_t end = std::min(uevent.find('\n', at), uevent.size());
    const std::string_view line(uevent.data() + at, end - at);
    if (line.starts_with(key)) {
      const std::string_view name = line.substr(key.size());
      if (name.empty() || name.find("..") != std::string_view::npos) return "";
      return "/dev/" + std::string(name);
    }
    at = end + 1;
  }
  return "";
}

bool ProcHostFacts::lstat(const std::string& path, uint64_t* dev, uint64_t* ino) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return false;
  *dev = st.st_dev;
  *ino = st.st_ino;
  return true;
}

uint64_t ProcHostFacts::dev_of(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_dev) : 0;
}

void ProcHostFacts::walk(const std::string& root,
                         const std::function<void(const std::string&, uint64_t, bool)>& f) {
  std::vector<std::string> todo = {root};
  for (size_t i = 0; i < todo.size() && i < 1000000; i++) {
    DIR* d = opendir(todo[i].c_str());
    if (d == nullptr) continue;
    while (dirent* e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      std::string p = todo[i] + "/" + e->d_name;
      const bool is_dir = e->d_type == DT_DIR;
      f(p, e->d_ino, is_dir);
      if (is_dir) todo.push_back(std::move(p));
    }
    closedir(d);
  }
}

}  // namespace bento::collector
