// bentoctl: status and live upgrade of running bentofs mounts, over their root-only
// control sockets.
#include <bento/fiemap_ioctl.h>
#include <bento/fs_types.h>
#include <dirent.h>
#include <fcntl.h>
#include <mntent.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "control_client.h"
#include "control_registry.h"
#include "kernel_upgrade.h"

namespace {

using bento::host::ControlCallError;
using nlohmann::json;

const char kUsage[] =
    "usage: bentoctl status MOUNTPOINT [--json]\n"
    "       bentoctl upgrade MOUNTPOINT MODULE.so [--json]\n"
    "       bentoctl upgrade KERNEL-MOUNT FSTYPE|MODULE.ko [--json] [--test-refuse]\n"
    "                (a bento/bento_prov kernel mount: the loaded module registered as\n"
    "                FSTYPE, e.g. bento_prov; bento_fs.ko means bento)\n"
    "       bentoctl unmount MOUNTPOINT [--timeout SECONDS]\n"
    "       bentoctl list [--json]\n"
    "       bentoctl fiemap FILE [--json]   (the file's extents on a bentofs mount)\n";

int fail(const std::string& msg) {
  std::fprintf(stderr, "bentoctl: %s\n", msg.c_str());
  return 1;
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

// Sends one request; on success *reply is the parsed reply object.
int call(const std::string& arg, const json& request, std::string* mountpoint, json* reply,
         std::string* raw) {
  std::string socket;
  if (!bento::host::find_mount_socket(arg, mountpoint, &socket))
    return fail("no bento mount at " + arg);
  auto r = bento::host::control_call(socket, request.dump());
  if (r.error == ControlCallError::kNoSocket) return fail("no bento mount at " + arg);
  if (r.error == ControlCallError::kNotRunning) {
    return fail("no bento mount at " + arg +
                " (stale control socket: bentofs is not running; `bentoctl unmount " + arg +
                "` detaches a dead mount)");
  }
  if (r.error != ControlCallError::kNone) return fail(r.message);
  *raw = r.reply;
  *reply = json::parse(r.reply, nullptr, false);
  if (!reply->is_object()) return fail("malformed reply from bentofs: " + r.reply);
  return 0;
}

std::string ms(double us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f ms", us / 1000.0);
  return buf;
}

std::string module_name(const json& m) {
  if (!m.is_object()) return "?";
  return m.value("name", "?") + " " + m.value("version", "?");
}

int cmd_status(const std::string& mp_arg, bool as_json) {
  std::string mp, raw;
  json r;
  if (int rc = call(mp_arg, {{"cmd", "status"}}, &mp, &r, &raw); rc != 0) return rc;
  if (as_json) {
    std::printf("%s\n", raw.c_str());
    return r.value("ok", false) ? 0 : 1;
  }
  if (!r.value("ok", false)) return fail(r.value("error", std::string("status failed")));
  const json& m = r["module"];
  std::printf("%s: %s (%s)\n", r.value("mountpoint", mp).c_str(), module_name(m).c_str(),
              m.value("path", "?").c_str());
  std::printf("  image:          %s\n", r.value("image", "?").c_str());
  std::printf("  mounted since:  %s\n", r.value("mounted_since", "?").c_str());
  std::printf("  bentofs pid:    %ld\n", r.value("pid", 0L));
  std::printf("  ops served:     %llu\n",
              static_cast<unsigned long long>(r.value("ops", uint64_t{0})));
  if (std::string t = r.value("transport", std::string()); !t.empty())
    std::printf("  transport:      %s\n", t.c_str());
  if (r.contains("cache") && r["cache"].is_object()) {
    const json& c = r["cache"];
    std::printf(
        "  buffer cache:   %llu cached (%llu dirty), %llu hits, %llu misses, %llu "
        "writebacks, %llu evictions\n",
        static_cast<unsigned long long>(c.value("cached", uint64_t{0})),
        static_cast<unsigned long long>(c.value("dirty", uint64_t{0})),
        static_cast<unsigned long long>(c.value("hits", uint64_t{0})),
        static_cast<unsigned long long>(c.value("misses", uint64_t{0})),
        static_cast<unsigned long long>(c.value("writebacks", uint64_t{0})),
        static_cast<unsigned long long>(c.value("evictions", uint64_t{0})));
  }
  const json& ups = r["upgrades"];
  std::printf("  upgrades:       %zu\n", ups.is_array() ? ups.size() : 0);
  if (ups.is_array()) {
    for (const json& u : ups) {
      bool ok = u.value("ok", false);
      std::printf("    %s  %s -> %s  %s", u.value("time", "?").c_str(),
                  module_name(u["from"]).c_str(), module_name(u["to"]).c_str(),
                  ok ? "ok" : "FAILED");
      if (ok) {
        std::printf("  pause %s, waited %s\n", ms(u.value("pause_us", 0.0)).c_str(),
                    ms(u.value("wait_us", 0.0)).c_str());
      } else {
        std::printf(": %s\n", u.value("error", "").c_str());
      }
    }
  }
  return 0;
}

// A kernel mount (bento_core.ko): the upgrade ioctl on its root.
int cmd_kernel_upgrade(const std::string& mp, const std::string& module, bool as_json,
                       bool test_refuse) {
  auto r = bento::host::kernel_upgrade(mp, module, test_refuse);
  if (as_json) {
    std::printf("%s\n", json{{"ok", r.ok},
                             {"kernel", true},
                             {"from", r.from},
                             {"to", r.to},
                             {"rolled_back", r.rolled_back},
                             {"error", r.message},
                             {"pause_us", r.pause_ns / 1000.0},
                             {"wait_us", r.wait_ns / 1000.0}}
                            .dump()
                            .c_str());
    return r.ok ? 0 : 1;
  }
  if (!r.ok) {
    if (!r.from.empty())
      std::printf("pause %s, waited %s\n", ms(r.pause_ns / 1000.0).c_str(),
                  ms(r.wait_ns / 1000.0).c_str());
    return fail("upgrade of " + mp + " failed: " + r.message);
  }
  std::printf("upgraded %s from %s to %s in %s (waited %s for in-flight calls)\n", mp.c_str(),
              r.from.c_str(), r.to.c_str(), ms(r.pause_ns / 1000.0).c_str(),
              ms(r.wait_ns / 1000.0).c_str());
  return 0;
}

int cmd_upgrade(const std::string& mp_arg, const std::string& module, bool as_json,
                bool test_refuse) {
  std::string kmp, ktype;
  if (bento::host::find_kernel_mount(mp_arg, &kmp, &ktype))
    return cmd_kernel_upgrade(kmp, module, as_json, test_refuse);
  char real[PATH_MAX];
  if (::realpath(module.c_str(), real) == nullptr) {
    return fail("module " + module + ": " + std::strerror(errno));
  }
  std::string mp, raw;
  json r;
  if (int rc = call(mp_arg, {{"cmd", "upgrade"}, {"module", std::string(real)}}, &mp, &r, &raw);
      rc != 0) {
    return rc;
  }
  if (as_json) {
    std::printf("%s\n", raw.c_str());
    return r.value("ok", false) ? 0 : 1;
  }
  if (!r.value("ok", false)) {
    return fail("upgrade of " + mp + " failed: " + r.value("error", std::string("unknown error")));
  }
  std::printf("upgraded %s from %s to %s in %s (waited %s for in-flight calls)\n", mp.c_str(),
              module_name(r["from"]).c_str(), module_name(r["to"]).c_str(),
              ms(r.value("pause_us", 0.0)).c_str(), ms(r.value("wait_us", 0.0)).c_str());
  return 0;
}

// Whether pid has exited: gone, or a zombie its parent has not reaped yet (our init may be
// slow to reap a daemon; a zombie has finished everything it will ever write).
bool process_exited(long pid) {
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return true;
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return true;
  char line[512] = {};
  bool zombie = false;
  if (std::fgets(line, sizeof line, f) != nullptr) {
    const char* close_paren = std::strrchr(line, ')');  // the state follows "(comm) "
    zombie = close_paren != nullptr && close_paren[1] == ' ' && close_paren[2] == 'Z';
  }
  std::fclose(f);
  return zombie;
}

// Processes whose cwd, root or open files lie in the mount: "pid 12 (bash), pid 40 (less)".
std::string users_of(const std::string& mp) {
  auto inside = [&](const std::string& link) {
    char target[PATH_MAX];
    const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) return false;
    const std::string t(target, static_cast<size_t>(n));
    return t == mp || t.rfind(mp + "/", 0) == 0;
  };
  std::string out;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return out;
  while (const dirent* d = ::readdir(proc)) {
    if (d->d_name[0] < '1' || d->d_name[0] > '9') continue;
    const std::string dir = std::string("/proc/") + d->d_name;
    bool uses = inside(dir + "/cwd") || inside(dir + "/root");
    if (DIR* fds = uses ? nullptr : ::opendir((dir + "/fd").c_str())) {
      while (const dirent* f = ::readdir(fds))
        if (f->d_name[0] != '.' && inside(dir + "/fd/" + f->d_name)) uses = true;
      ::closedir(fds);
    }
    if (!uses) continue;
    std::string comm;
    if (FILE* c = std::fopen((dir + "/comm").c_str(), "r")) {
      char buf[64] = {};
      if (std::fgets(buf, sizeof buf, c) != nullptr) comm = buf;
      std::fclose(c);
    }
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
    out += (out.empty() ? "pid " : ", pid ") + std::string(d->d_name) + " (" + comm + ")";
  }
  ::closedir(proc);
  return out;
}

// Whether the mount table has a FUSE mount at mp.
bool fuse_mounted_at(const std::string& mp) {
  FILE* f = ::setmntent("/proc/self/mounts", "r");
  if (f == nullptr) return false;
  bool found = false;
  while (const mntent* m = ::getmntent(f))
    found = found || (mp == m->mnt_dir && std::strncmp(m->mnt_type, "fuse", 4) == 0);
  ::endmntent(f);
  return found;
}

// bentofs is gone (killed, crashed) but the kernel still holds its mount: every access
// fails with ENOTCONN until it is detached (lazily: a shell may still sit in it). What was
// committed is on the image; its journal is replayed at its next mount. The mount table
// says whether it is still there: right after the kill, the kernel may not have aborted
// the connection yet (an io_uring transport's rings let go of /dev/fuse asynchronously),
// and a stat served from the attribute cache would pass.
int detach_dead_mount(const std::string& mp, const std::string& socket) {
  struct stat st {};
  const bool attached = fuse_mounted_at(mp) || (::stat(mp.c_str(), &st) != 0 && errno == ENOTCONN);
  if (attached && std::system(("fusermount3 -u -z -q '" + mp + "' 2>/dev/null").c_str()) != 0)
    return fail("bentofs for " + mp + " is not running, and fusermount3 -u -z " + mp + " failed");
  const std::string dir = bento::host::run_dir();
  bento::host::registry_remove(dir, mp);
  ::unlink(socket.c_str());
  std::printf(
      "bentofs for %s was not running (killed or crashed: see %s)%s; the image's journal is "
      "replayed at its next mount\n",
      mp.c_str(), bento::host::log_path_for(dir, mp).c_str(),
      attached ? "; detached its dead mount" : "");
  return 0;
}

// umount(2) returns as soon as the kernel lets go of the mount; the host then still has
// to write back and checkpoint before its image is consistent on disk. Waiting for the
// host process to exit is what makes `unmount; fsck` (or a copy of the image) safe.
int cmd_unmount(const std::string& mp_arg, int timeout_s) {
  std::string mp, raw, socket;
  if (bento::host::find_mount_socket(mp_arg, &mp, &socket)) {
    const std::string status = json{{"cmd", "status"}}.dump();
    ControlCallError e = bento::host::control_call(socket, status).error;
    // Right after a kill the dying host's socket may still take the connection and then
    // drop it (an I/O error, not "not running"): ask again for up to a second.
    for (int i = 0; i < 20 && e == ControlCallError::kIo; i++) {
      ::usleep(50000);
      e = bento::host::control_call(socket, status).error;
    }
    if (e == ControlCallError::kNotRunning) return detach_dead_mount(mp, socket);
  }
  json r;
  if (int rc = call(mp_arg, {{"cmd", "status"}}, &mp, &r, &raw); rc != 0) return rc;
  long pid = r.value("pid", 0L);
  if (pid <= 0) return fail("bentofs did not report its pid");
  // A mount in use (a cwd or an open file in it, a path lookup in flight) cannot be
  // unmounted. Uses that pass (a process exiting, a monitoring tool's stat) pass within
  // moments on a busy host: try for a few seconds, then say who holds it.
  const std::string cmd = "fusermount3 -u -q '" + mp + "' 2>/dev/null";
  bool done = false;
  for (int i = 0; i < 50 && !done; i++) {
    done = std::system(cmd.c_str()) == 0;
    if (!done) ::usleep(100000);
  }
  if (!done) {
    const std::string users = users_of(mp);
    return fail("fusermount3 -u " + mp + " failed" +
                (users.empty() ? std::string(" (is it busy?)") : ": in use by " + users));
  }
  for (int i = 0; i < timeout_s * 100; i++) {
    if (process_exited(pid)) {
      std::printf("unmounted %s; bentofs (pid %ld) finished writing back\n", mp.c_str(), pid);
      return 0;
    }
    ::usleep(10000);
  }
  return fail("unmounted " + mp + " but bentofs (pid " + std::to_string(pid) +
              ") is still writing back after " + std::to_string(timeout_s) + " s");
}

// The block map of a file on a bentofs mount, through BENTO_IOC_FIEMAP (FS_IOC_FIEMAP
// cannot reach a FUSE file system; bento/fiemap_ioctl.h). Like `filefrag -e`.
int cmd_fiemap(const std::string& file, bool as_json) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(file + ": " + std::strerror(errno));
  json extents = json::array();
  bento::BentoFiemap m{};
  m.start = 0;
  for (;;) {
    m.length = ~0ull;
    m.count = 0;
    if (::ioctl(fd, bento::kBentoIocFiemap, &m) != 0) {
      int e = errno;
      ::close(fd);
      return fail(file + ": " + std::strerror(e) +
                  (e == ENOTTY ? " (not on a bentofs mount)" : ""));
    }
    for (uint32_t i = 0; i < m.count; i++) {
      const auto& x = m.extents[i];
      extents.push_back({{"logical", x.logical},
                         {"physical", x.physical},
                         {"length", x.length},
                         {"last", (x.flags & bento::extent_flag::kLast) != 0}});
    }
    if (m.count < bento::BentoFiemap::kMaxExtents) break;
    const auto& tail = m.extents[m.count - 1];
    if (tail.flags & bento::extent_flag::kLast) break;
    m.start = tail.logical + tail.length;
  }
  ::close(fd);
  if (as_json) {
    std::printf("%s\n", json{{"file", file}, {"extents", extents}}.dump().c_str());
    return 0;
  }
  std::printf("%s: %zu extent(s)\n  %4s %16s %16s %12s\n", file.c_str(), extents.size(), "#",
              "logical", "physical", "bytes");
  for (size_t i = 0; i < extents.size(); i++)
    std::printf("  %4zu %16llu %16llu %12llu%s\n", i,
                static_cast<unsigned long long>(extents[i]["logical"].get<uint64_t>()),
                static_cast<unsigned long long>(extents[i]["physical"].get<uint64_t>()),
                static_cast<unsigned long long>(extents[i]["length"].get<uint64_t>()),
                extents[i]["last"].get<bool>() ? "  last" : "");
  return 0;
}

int cmd_list(bool as_json) {
  auto entries = bento::host::registry_list(bento::host::run_dir());
  json out = json::array();
  for (const auto& e : entries) {
    bool live = e.pid > 0 && (::kill(static_cast<pid_t>(e.pid), 0) == 0 || errno == EPERM) &&
                exists(e.socket);
    if (as_json) {
      out.push_back({{"mountpoint", e.mountpoint},
                     {"image", e.image},
                     {"module", e.module},
                     {"pid", e.pid},
                     {"socket", e.socket},
                     {"running", live}});
    } else {
      std::printf("%s\t%s\t%s\tpid %ld%s\n", e.mountpoint.c_str(), e.image.c_str(),
                  e.module.c_str(), e.pid, live ? "" : "\t(not running)");
    }
  }
  if (as_json) std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args;
    bool as_json = false, test_refuse = false;
    int timeout_s = 60;
    for (int i = 1; i < argc; i++) {
      std::string a = argv[i];
      if (a == "--json") {
        as_json = true;
      } else if (a == "--test-refuse") {
        test_refuse = true;
      } else if (a == "--timeout" && i + 1 < argc) {
        timeout_s = std::atoi(argv[++i]);
      } else if (a == "-h" || a == "--help") {
        std::fputs(kUsage, stdout);
        return 0;
      } else {
        args.push_back(a);
      }
    }
    if (args.empty()) {
      std::fputs(kUsage, stderr);
      return 1;
    }
    const std::string& cmd = args[0];
    if (cmd == "status" && args.size() == 2) return cmd_status(args[1], as_json);
    if (cmd == "upgrade" && args.size() == 3)
      return cmd_upgrade(args[1], args[2], as_json, test_refuse);
    if (cmd == "unmount" && args.size() == 2) return cmd_unmount(args[1], timeout_s);
    if (cmd == "list" && args.size() == 1) return cmd_list(as_json);
    if (cmd == "fiemap" && args.size() == 2) return cmd_fiemap(args[1], as_json);
    std::fprintf(stderr, "bentoctl: bad command line\n%s", kUsage);
    return 1;
  } catch (const std::exception& e) {
    return fail(std::string("error: ") + e.what());
  }
}
