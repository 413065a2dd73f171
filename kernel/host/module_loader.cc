#include "module_loader.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace bento::host {
namespace {

// Paths currently dlopen()ed by this host, with how many LoadedModules use each.
std::mutex g_loaded_mu;
std::map<std::string, int> g_loaded;

std::string errno_text(int err) {
  return std::strerror(err);
}

// Copies the file into an anonymous memfd so that dlopen() sees a new object.
int copy_to_memfd(const std::string& path, std::string* error) {
  int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    *error = errno_text(errno);
    return -1;
  }
  std::string base = path.substr(path.find_last_of('/') + 1);
  int out = memfd_create(("bento:" + base).c_str(), MFD_CLOEXEC);
  if (out < 0) {
    *error = "memfd_create: " + errno_text(errno);
    ::close(in);
    return -1;
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = "read: " + errno_text(errno);
      ::close(in);
      ::close(out);
      return -1;
    }
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(out, buf + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        *error = "write: " + errno_text(errno);
        ::close(in);
        ::close(out);
        return -1;
      }
      off += w;
    }
  }
  ::close(in);
  return out;
}

}  // namespace

LoadedModule::LoadedModule(void* handle, const ModuleInfo* info, std::string path, bool from_copy)
    : handle_(handle), info_(info), path_(std::move(path)), from_copy_(from_copy) {}

LoadedModule::~LoadedModule() {
  dlclose(handle_);
  std::lock_guard<std::mutex> g(g_loaded_mu);
  auto it = g_loaded.find(path_);
  if (it != g_loaded.end() && --it->second == 0) g_loaded.erase(it);
}

std::string LoadedModule::name() const {
  return info_->name != nullptr ? info_->name : "?";
}
std::string LoadedModule::version() const {
  return info_->version != nullptr ? info_->version : "?";
}

ModuleLoadResult load_module(const std::string& path) {
  ModuleLoadResult r;
  const std::string what = "module " + path + ": ";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    r.error = what + errno_text(errno);
    return r;
  }
  if (!S_ISREG(st.st_mode)) {
    r.error = what + "not a regular file";
    return r;
  }
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) == nullptr) {
    r.error = what + errno_text(errno);
    return r;
  }
  std::string canonical = real;

  // Check the ELF magic ourselves: dlopen's message for a text file is cryptic.
  {
    int fd = ::open(canonical.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      r.error = what + errno_text(errno);
      return r;
    }
    unsigned char magic[4] = {};
    ssize_t n = ::read(fd, magic, sizeof magic);
    ::close(fd);
    if (n != 4 || std::memcmp(magic,
                              "\x7f"
                              "ELF",
                              4) != 0) {
      r.error = what + "not a shared object (no ELF header)";
      return r;
    }
  }

  bool from_copy = false;
  {
    std::lock_guard<std::mutex> g(g_loaded_mu);
    from_copy = g_loaded.count(canonical) != 0;
  }
  void* handle = nullptr;
  if (from_copy) {
    std::string err;
    int fd = copy_to_memfd(canonical, &err);
    if (fd < 0) {
      r.error = what + "cannot make a private copy to load it again: " + err;
      return r;
    }
    std::string proc = "/proc/self/fd/" + std::to_string(fd);
    handle = dlopen(proc.c_str(), RTLD_NOW | RTLD_LOCAL);
    ::close(fd);  // the mapping keeps the memory alive
  } else {
    handle = dlopen(canonical.c_str(), RTLD_NOW | RTLD_LOCAL);
  }
  if (handle == nullptr) {
    const char* e = dlerror();
    r.error = what + "cannot load: " + (e != nullptr ? e : "dlopen failed");
    return r;
  }

  dlerror();
  void* sym = dlsym(handle, BENTO_MODULE_SYMBOL);
  if (sym == nullptr) {
    dlclose(handle);
    r.error = what + "not a Bento module (no " BENTO_MODULE_SYMBOL " symbol)";
    return r;
  }
  using InfoFn = const ModuleInfo* (*)();
  const ModuleInfo* info = reinterpret_cast<InfoFn>(sym)();
  if (info == nullptr) {
    dlclose(handle);
    r.error = what + "not a Bento module (" BENTO_MODULE_SYMBOL "() returned null)";
    return r;
  }
  // api_version is the only field that may be read before it is checked.
  if (info->api_version != kApiVersion) {
    uint32_t v = info->api_version;
    dlclose(handle);
    r.error = what + "built for API " + std::to_string(v) + ", this host speaks " +
              std::to_string(kApiVersion);
    return r;
  }
  if (info->create == nullptr || info->destroy == nullptr) {
    dlclose(handle);
    r.error = what + "not a Bento module (ModuleInfo has no create/destroy)";
    return r;
  }
  {
    std::lock_guard<std::mutex> g(g_loaded_mu);
    g_loaded[canonical]++;
  }
  r.module.reset(new LoadedModule(handle, info, canonical, from_copy));
  return r;
}

}  // namespace bento::host
