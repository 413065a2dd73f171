#include "control_registry.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace bento::host {
namespace {

uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string name_for(const std::string& mountpoint) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "m-%016" PRIx64, fnv1a64(mountpoint));
  return buf;
}

// Holds an exclusive flock on the registry's lock file.
class RegistryLock {
 public:
  explicit RegistryLock(const std::string& dir) {
    fd_ = ::open((dir + "/registry.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
      while (flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~RegistryLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

std::vector<RegistryEntry> read_entries(const std::string& dir) {
  std::vector<RegistryEntry> out;
  std::ifstream in(dir + "/registry.json");
  if (!in) return out;
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("mounts") || !j["mounts"].is_array()) return out;
  for (const auto& m : j["mounts"]) {
    if (!m.is_object()) continue;
    RegistryEntry e;
    e.mountpoint = m.value("mountpoint", "");
    e.socket = m.value("socket", "");
    e.image = m.value("image", "");
    e.module = m.value("module", "");
    e.pid = m.value("pid", 0L);
    if (!e.mountpoint.empty()) out.push_back(std::move(e));
  }
  return out;
}

bool write_entries(const std::string& dir, const std::vector<RegistryEntry>& entries,
                   std::string* error) {
  nlohmann::json mounts = nlohmann::json::array();
  for (const auto& e : entries) {
    mounts.push_back({{"mountpoint", e.mountpoint},
                      {"socket", e.socket},
                      {"image", e.image},
                      {"module", e.module},
                      {"pid", e.pid}});
  }
  nlohmann::json j = {{"mounts", mounts}};
  std::string tmp = dir + "/registry.json.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out) {
      if (error) *error = "cannot write " + tmp;
      return false;
    }
  }
  if (std::rename(tmp.c_str(), (dir + "/registry.json").c_str()) != 0) {
    if (error) *error = "cannot replace " + dir + "/registry.json: " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace

std::string run_dir() {
  const char* d = std::getenv("BENTO_RUN_DIR");
  return (d != nullptr && *d != '\0') ? normalize_path(d) : std::string("/run/bento");
}

bool ensure_run_dir(const std::string& dir, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    *error = "cannot create " + dir + ": " + std::strerror(errno);
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    *error = dir + " is not a directory";
    return false;
  }
  if (st.st_uid != ::geteuid()) {
    *error = dir + " is owned by uid " + std::to_string(st.st_uid) + ", not by us";
    return false;
  }
  if ((st.st_mode & 07777) != 0700 && ::chmod(dir.c_str(), 0700) != 0) {
    *error = "cannot make " + dir + " mode 0700: " + std::strerror(errno);
    return false;
  }
  return true;
}

std::string socket_path_for(const std::string& dir, const std::string& mountpoint) {
  return dir + "/" + name_for(mountpoint) + ".sock";
}

std::string log_path_for(const std::string& dir, const std::string& mountpoint) {
  return dir + "/" + name_for(mountpoint) + ".log";
}

std::string normalize_path(const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative()) {
    std::error_code ec;
    auto cwd = std::filesystem::current_path(ec);
    if (!ec) p = cwd / p;
  }
  std::string s = p.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

bool registry_add(const std::string& dir, const RegistryEntry& e, std::string* error) {
  RegistryLock lock(dir);
  if (!lock.ok()) {
    if (error) *error = "cannot lock the registry in " + dir + ": " + std::strerror(errno);
    return false;
  }
  auto entries = read_entries(dir);
  std::erase_if(entries, [&](const RegistryEntry& x) { return x.mountpoint == e.mountpoint; });
  entries.push_back(e);
  return write_entries(dir, entries, error);
}

void registry_remove(const std::string& dir, const std::string& mountpoint) {
  RegistryLock lock(dir);
  if (!lock.ok()) return;
  auto entries = read_entries(dir);
  std::erase_if(entries, [&](const RegistryEntry& x) { return x.mountpoint == mountpoint; });
  std::string ignored;
  write_entries(dir, entries, &ignored);
}

std::vector<RegistryEntry> registry_list(const std::string& dir) {
  RegistryLock lock(dir);
  return read_entries(dir);
}

bool find_mount_socket(const std::string& arg, std::string* mountpoint, std::string* socket) {
  auto exists = [](const std::string& p) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0;
  };
  const std::string dir = run_dir();
  std::string mp = normalize_path(arg);
  std::string s = socket_path_for(dir, mp);
  if (!exists(s)) {
    char* real = ::realpath(arg.c_str(), nullptr);
    if (real == nullptr) return false;
    mp = real;
    std::free(real);
    s = socket_path_for(dir, mp);
    if (!exists(s)) return false;
  }
  *mountpoint = mp;
  *socket = s;
  return true;
}

}  // namespace bento::host
