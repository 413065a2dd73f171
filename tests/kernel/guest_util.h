// Helpers the guest programs share (guest_checks.cc, feature_checks.cc): file contents and
// running a check as another user. Header-only and libc-only: guest_checks is a static
// binary (the guest has only busybox).
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace guest {

// Creates or rewrites P (open flags: O_TRUNC, O_APPEND, O_EXCL...) with N bytes of DATA.
inline bool write_file(const std::string& p, const void* data, size_t n, int flags = O_TRUNC,
                       mode_t mode = 0644) {
  int fd = open(p.c_str(), O_WRONLY | O_CREAT | flags, mode);
  if (fd < 0) return false;
  const uint8_t* d = static_cast<const uint8_t*>(data);
  size_t off = 0;
  while (off < n) {
    ssize_t w = write(fd, d + off, n - off);
    if (w <= 0) {
      close(fd);
      return false;
    }
    off += static_cast<size_t>(w);
  }
  return close(fd) == 0;
}

inline bool write_text(const std::string& p, const std::string& s, int flags = O_TRUNC,
                       mode_t mode = 0644) {
  return write_file(p, s.data(), s.size(), flags, mode);
}

// The whole file, or "<open failed>".
inline std::string read_text(const std::string& p) {
  int fd = open(p.c_str(), O_RDONLY);
  if (fd < 0) return "<open failed>";
  std::string out;
  char buf[65536];
  for (ssize_t r; (r = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(r));
  close(fd);
  return out;
}

// fn in a child running as uid/gid (no supplementary groups); its exit status, or -1.
inline int as_user(uid_t uid, gid_t gid, const std::function<int()>& fn) {
  pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0 || setresgid(gid, gid, gid) != 0 ||
        setresuid(uid, uid, uid) != 0)
      _exit(100);
    _exit(fn());
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace guest
