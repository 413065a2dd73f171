// bentoctl/prov's side of the kernel host's live upgrade (kernel_upgrade.h).
#include "kernel_upgrade.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <sstream>

#include "../module/bento_ioctl.h"

namespace bento::host {

namespace {

// mountinfo escapes spaces etc. as \ooo.
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out += static_cast<char>(std::strtol(s.substr(i + 1, 3).c_str(), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

bool find_kernel_mount(const std::string& path, std::string* mountpoint, std::string* fstype) {
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) == nullptr) return false;
  struct stat want {};
  if (::stat(real, &want) != 0) return false;
  std::ifstream in("/proc/self/mountinfo");
  std::string line, best_mp, best_type;
  while (std::getline(in, line)) {
    // id parent major:minor root mountpoint options [optional...] - fstype source super
    std::istringstream ls(line);
    std::string id, parent, dev, root, mp, tok;
    ls >> id >> parent >> dev >> root >> mp;
    while (ls >> tok && tok != "-") {
    }
    std::string type;
    ls >> type;
    if (type != "bento" && type != "bento_prov") continue;
    mp = unescape(mp);
    struct stat st {};
    if (::stat(mp.c_str(), &st) != 0 || st.st_dev != want.st_dev) continue;
    if (mp.size() >= best_mp.size()) {
      best_mp = mp;
      best_type = type;
    }
  }
  if (best_mp.empty()) return false;
  *mountpoint = best_mp;
  *fstype = best_type;
  return true;
}

std::string kernel_fstype_of(const std::string& target) {
  std::string base =
      target.substr(target.rfind('/') == std::string::npos ? 0 : target.rfind('/') + 1);
  for (const char* ext : {".ko", ".so"}) {  // bento_prov.so names the same fs as bento_prov.ko
    const size_t n = std::strlen(ext);
    if (base.size() > n && base.compare(base.size() - n, n, ext) == 0) base.resize(base.size() - n);
  }
  if (base == "bento_fs") return "bento";
  return base;
}

KernelUpgradeResult kernel_upgrade(const std::string& mountpoint, const std::string& target,
                                   bool test_refuse) {
  KernelUpgradeResult res;
  const std::string fstype = kernel_fstype_of(target);
  bento_upgrade_req req{};
  if (fstype.empty() || fstype.size() >= sizeof(req.target)) {
    res.error = EINVAL;
    res.message = "bad module name: " + target;
    return res;
  }
  std::memcpy(req.target, fstype.data(), fstype.size());
  req.flags = test_refuse ? BENTO_UPGRADE_TEST_REFUSE : 0;
  int fd = ::open(mountpoint.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    res.error = errno;
    res.message = mountpoint + ": " + std::strerror(errno);
    return res;
  }
  int rc = ::ioctl(fd, BENTO_IOC_UPGRADE, &req);
  int e = errno;
  ::close(fd);
  if (rc != 0) {
    res.error = e;
    res.message = e == ENODEV
                      ? "no kernel fs module registered as '" + fstype + "' (insmod it first)"
                      : std::string("upgrade ioctl: ") + std::strerror(e);
    return res;
  }
  res.from.assign(req.from, strnlen(req.from, sizeof(req.from)));
  res.to.assign(req.to, strnlen(req.to, sizeof(req.to)));
  res.wait_ns = req.wait_ns;
  res.pause_ns = req.pause_ns;
  res.ok = req.result == 0;
  res.rolled_back = req.rolled_back != 0;
  res.error = -req.result;
  if (!res.ok) {
    res.message = "upgrade " + res.from + " -> " + res.to +
                  " refused: " + std::strerror(res.error) +
                  (res.rolled_back ? "; rolled back, " + res.from + " keeps serving"
                                   : "; ROLLBACK FAILED: unmount and check the file system");
  }
  return res;
}

}  // namespace bento::host
