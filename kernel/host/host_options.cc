#include "host_options.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string_view>

namespace bento::host {
namespace {

// Options handled by libfuse or the kernel's mount; everything else goes to the module.
bool is_fuse_option(std::string_view opt) {
  static const std::set<std::string_view> kKeys = {
      "allow_other",
      "allow_root",
      "auto_unmount",
      "default_permissions",
      "fsname",
      "subtype",
      "max_read",
      "blksize",
      "ro",
      "rw",
      "suid",
      "nosuid",
      "dev",
      "nodev",
      "exec",
      "noexec",
      "async",
      "sync",
      "dirsync",
      "context",
      "fscontext",
      "defcontext",
      "rootcontext",
      "max_readahead",
      "max_background",
      "congestion_threshold",
      "async_read",
      "sync_read",
      "no_remote_lock",
      "no_remote_flock",
      "no_remote_posix_lock",
      "auto_inval_data",
      "no_auto_inval_data",
      "time_gran",
      "readdirplus",
      "async_dio",
      "no_async_dio",
      "debug",
  };
  std::string_view key = opt.substr(0, opt.find('='));
  return kKeys.count(key) != 0;
}

// fstab/mount(8) options that only mean something to mount(8) itself (or systemd): they may
// reach a mount helper, and neither libfuse nor the module has a use for them.
bool is_fstab_only_option(std::string_view opt) {
  static const std::set<std::string_view> kKeys = {
      "defaults", "auto",  "noauto",  "nofail",  "user",       "nouser",   "users",
      "owner",    "group", "_netdev", "comment", "noiversion", "iversion",
  };
  std::string_view key = opt.substr(0, opt.find('='));
  return kKeys.count(key) != 0 || key.rfind("x-", 0) == 0;
}

bool parse_number(const std::string& s, uint64_t max, uint64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v == 0 || v > max) return false;
  *out = v;
  return true;
}

void split_options(const std::string& list, HostOptions* o) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string opt = list.substr(start, comma - start);
    start = comma + 1;
    if (opt.empty()) continue;
    if (opt == "ro") o->read_only = true;
    if (opt == "rw") o->read_only = false;
    if (is_fstab_only_option(opt)) continue;
    if (opt == "uring" || opt == "no_uring") {  // the transport: the host's, not libfuse's
      o->uring = opt == "uring";
      continue;
    }
    // atime options (relatime, strictatime, noatime, nodiratime, lazytime...) go to the
    // module: FUSE inodes are S_NOATIME, so the kernel leaves atime to the file system, and
    // libfuse rejects most of them (see bento::is_atime_option).
    if (is_fuse_option(opt)) {
      o->fuse_options.push_back(opt);
    } else {
      if (!o->fs_options.empty()) o->fs_options += ",";
      o->fs_options += opt;
    }
  }
}

std::string self_dir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.find_last_of('/'));
}

bool canonical_path(const std::string& path, std::string* out) {
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) == nullptr) return false;
  *out = real;
  return true;
}

}  // namespace

const char* host_usage() {
  return "usage: bentofs IMAGE MOUNTPOINT [--module FS.so] [-f|--foreground] [-o opts]\n"
         "               [--cache-mb N] [--threads N] [-d]\n"
         "  IMAGE          image file or block device holding the file system\n"
         "  --module FS.so the file system module (default: $BENTO_DEFAULT_MODULE, else\n"
         "                 ../modules/bento_fs.so or ../modules/memfs.so next to bentofs)\n"
         "  -f             stay in the foreground\n"
         "  -o opts        mount options; those FUSE does not know go to the module\n"
         "  -o uring       serve FUSE over io_uring (Linux 6.14+; sets the fuse module's\n"
         "                 enable_uring switch) where the kernel allows, else /dev/fuse;\n"
         "                 -o no_uring (the default) keeps /dev/fuse\n"
         "  --cache-mb N   buffer cache size (default 64)\n"
         "  --threads N    maximum FUSE worker threads (default 10)\n"
         "  -d             debug: log every FUSE request (implies -f)\n";
}

bool parse_host_options(int argc, char** argv, HostOptions* o, std::string* error) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto value = [&](const std::string& flag, std::string* v) {
      if (a.size() > flag.size() && a.compare(0, flag.size() + 1, flag + "=") == 0) {
        *v = a.substr(flag.size() + 1);
        return true;
      }
      if (a != flag) return false;
      if (i + 1 >= argc) {
        *error = flag + " needs a value";
        v->clear();
        return true;
      }
      *v = argv[++i];
      return true;
    };
    std::string v;
    if (a == "-h" || a == "--help") {
      o->help = true;
    } else if (a == "-f" || a == "--foreground") {
      o->foreground = true;
    } else if (a == "-d" || a == "--debug") {
      o->debug = true;
      o->foreground = true;
    } else if (value("--module", &v)) {
      if (!error->empty()) return false;
      o->module = v;
    } else if (a.rfind("-o", 0) == 0) {
      if (a.size() > 2) {
        v = a.substr(2);
      } else if (i + 1 < argc) {
        v = argv[++i];
      } else {
        *error = "-o needs a value";
        return false;
      }
      split_options(v, o);
    } else if (value("--cache-mb", &v)) {
      if (!error->empty()) return false;
      if (!parse_number(v, 1 << 20, &o->cache_mb)) {
        *error = "--cache-mb wants a positive number of MiB, not \"" + v + "\"";
        return false;
      }
    } else if (value("--threads", &v)) {
      if (!error->empty()) return false;
      uint64_t t = 0;
      if (!parse_number(v, 1024, &t)) {
        *error = "--threads wants a number from 1 to 1024, not \"" + v + "\"";
        return false;
      }
      o->threads = static_cast<unsigned>(t);
    } else if (a.size() > 1 && a[0] == '-') {
      *error = "unknown option " + a;
      return false;
    } else {
      positional.push_back(a);
    }
  }
  if (o->help) return true;
  if (positional.size() != 2) {
    *error = positional.size() < 2 ? "IMAGE and MOUNTPOINT are required"
                                   : "too many arguments: " + positional[2];
    return false;
  }
  o->image = positional[0];
  o->mountpoint = positional[1];
  return true;
}

std::string default_module(std::string* tried) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("BENTO_DEFAULT_MODULE"); env != nullptr && *env != '\0') {
    candidates.push_back(env);
  }
  const std::string dir = self_dir();
  candidates.push_back(dir + "/../modules/bento_fs.so");
  candidates.push_back(dir + "/../modules/memfs.so");
  tried->clear();
  for (const auto& c : candidates) {
    if (::access(c.c_str(), F_OK) == 0) {
      std::string canonical;
      return canonical_path(c, &canonical) ? canonical : c;
    }
    *tried += (tried->empty() ? "" : ", ") + c;
  }
  return {};
}

bool check_image(const std::string& path, bool read_only, std::string* canonical,
                 std::string* error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    *error = "image " + path + ": " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    *error = "image " + path + ": not a regular file or block device";
    return false;
  }
  if (::access(path.c_str(), read_only ? R_OK : R_OK | W_OK) != 0) {
    *error = "image " + path + ": cannot open for " +
             (read_only ? "reading" : "reading and writing") + ": " + std::strerror(errno);
    return false;
  }
  if (!canonical_path(path, canonical)) {
    *error = "image " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool check_mountpoint(const std::string& path, std::string* canonical, std::string* error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int e = errno;
    *error = "mountpoint " + path + ": " + std::strerror(e);
    if (e == ENOTCONN)  // a FUSE host that died still holds it
      *error += " (a dead mount: `bentoctl unmount " + path + "` detaches it)";
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    *error = "mountpoint " + path + ": not a directory";
    return false;
  }
  if (!canonical_path(path, canonical)) {
    *error = "mountpoint " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace bento::host
