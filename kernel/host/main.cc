// bentofs: mounts a Bento file system module over FUSE and serves it, with live upgrade
// through a root-only control socket (see bentoctl).
//
// Everything that can fail is done before the parent returns: arguments, the module, the
// device, the file system's own init() (so a bad image is reported synchronously), the
// FUSE mount and the control socket. Unless -f, the process forks first and the parent
// waits for the child to report success; we do not use fuse_daemonize(), which forks
// after the fact and would lose the threads a file system starts in init().
#include <bento/log.h>
#include <bento/user/buffer_cache.h>
#include <bento/user/disk.h>
#include <bento/user/image_lock.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "connection.h"
#include "control_protocol.h"
#include "control_registry.h"
#include "control_server.h"
#include "fs_instance.h"
#include "fuse_bridge.h"
#include "fuse_headers.h"
#include "host_options.h"
#include "module_loader.h"
#include "session_loop.h"
#include "uring_transport.h"

namespace bento::host {
namespace {

constexpr uint32_t kBlockSize = 4096;

int fail(const std::string& msg) {
  std::fprintf(stderr, "bentofs: %s\n", msg.c_str());
  return 1;
}

// fsname is one comma-separated mount option: escape what fuse_opt treats specially.
std::string escape_option(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

bool has_option(const std::vector<std::string>& opts, const std::string& key) {
  for (const auto& o : opts) {
    if (o == key || o.rfind(key + "=", 0) == 0) return true;
  }
  return false;
}

// Forks; the parent waits until the child reports the mount is up (exit 0) or exits
// (its status). Returns in the child with the write end of the report pipe.
int fork_and_wait(int* report_fd) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + std::strerror(errno));
  pid_t pid = ::fork();
  if (pid < 0) return fail(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::close(p[0]);
    *report_fd = p[1];
    return -1;
  }
  ::close(p[1]);
  char ok = 0;
  ssize_t n;
  do {
    n = ::read(p[0], &ok, 1);
  } while (n < 0 && errno == EINTR);
  if (n == 1 && ok == '0') std::_Exit(0);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::_Exit(WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1);
}

void detach(int report_fd, const std::string& log_path) {
  ::setsid();
  if (::chdir("/") != 0) {
    // "/" always exists; nothing sensible to do otherwise.
  }
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (null_fd >= 0) {
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(log_fd >= 0 ? log_fd : null_fd, 2);
  }
  if (null_fd > 2) ::close(null_fd);
  if (log_fd > 2) ::close(log_fd);
  char ok = '0';
  while (::write(report_fd, &ok, 1) < 0 && errno == EINTR) {
  }
  ::close(report_fd);
}

Request host_request() {
  Request r;
  r.uid = ::geteuid();
  r.gid = ::getegid();
  r.pid = static_cast<uint32_t>(::getpid());
  return r;
}

int run(int argc, char** argv) {
  HostOptions o;
  std::string err;
  if (!parse_host_options(argc, argv, &o, &err)) {
    std::fprintf(stderr, "bentofs: %s\n%s", err.c_str(), host_usage());
    return 1;
  }
  if (o.help) {
    std::fputs(host_usage(), stdout);
    return 0;
  }
  std::string image, mountpoint;
  if (!check_image(o.image, o.read_only, &image, &err)) return fail(err);
  // One writer per image (bento/user/image_lock.h): taken before daemonising so the user
  // sees a refusal; the OFD lock is inherited by the daemon and held until it exits.
  std::unique_ptr<user::ImageLock> image_lock = user::ImageLock::acquire(image, !o.read_only, &err);
  if (!image_lock) return fail("cannot mount: " + err);
  if (!check_mountpoint(o.mountpoint, &mountpoint, &err)) return fail(err);

  std::string module_path = o.module;
  if (module_path.empty()) {
    std::string tried;
    module_path = default_module(&tried);
    if (module_path.empty())
      return fail("no file system module given and none found (tried " + tried + ")");
  }
  ModuleLoadResult loaded = load_module(module_path);
  if (!loaded.module) return fail(loaded.error);
  std::printf("bentofs: using module %s (%s %s)\n", loaded.module->path().c_str(),
              loaded.module->name().c_str(), loaded.module->version().c_str());
  std::fflush(stdout);
  FsInstance instance = FsInstance::create(loaded.module, &err);
  loaded.module.reset();
  if (!instance) return fail(err);

  int report_fd = -1;
  if (!o.foreground) {
    int rc = fork_and_wait(&report_fd);
    if (rc >= 0) return rc;
  }

  // From here on we are the daemon (or in the foreground).
  user::DiskOpenResult disk = user::open_file_disk(image, kBlockSize, o.read_only);
  if (!disk.disk) return fail("cannot open " + image + ": " + disk.error.message);
  const uint64_t cache_blocks = std::max<uint64_t>(256, (o.cache_mb << 20) / kBlockSize);
  Connection conn(std::make_unique<user::BufferCache>(std::move(disk.disk), cache_blocks), image,
                  mountpoint);
  InitArgs init_args;
  init_args.options = o.fs_options;
  init_args.read_only = o.read_only;
  Status st = conn.mount(std::move(instance), host_request(), init_args);
  if (!st.ok()) {
    return fail("cannot mount " + image + ": " + std::strerror(st.error()) + " (see log)");
  }

  // FUSE over io_uring needs the fuse module's switch on before the mount's INIT.
  if (o.uring) {
    std::string why;
    if (!ensure_kernel_uring_enabled(&why))
      log(LogLevel::kWarning, "bentofs: no FUSE over io_uring: " + why);
  }

  // FUSE arguments.
  std::vector<std::string> fuse_opts = o.fuse_options;
  if (!has_option(fuse_opts, "default_permissions")) fuse_opts.push_back("default_permissions");
  if (::geteuid() == 0 && !has_option(fuse_opts, "allow_other")) fuse_opts.push_back("allow_other");
  if (!has_option(fuse_opts, "fsname")) fuse_opts.push_back("fsname=" + escape_option(image));
  if (!has_option(fuse_opts, "subtype")) fuse_opts.push_back("subtype=bento");
  std::string joined;
  for (const auto& opt : fuse_opts) joined += (joined.empty() ? "" : ",") + opt;
  std::vector<std::string> args_storage = {"bentofs", "-o", joined};
  if (o.debug) args_storage.push_back("-d");
  std::vector<char*> args_ptrs;
  for (auto& a : args_storage) args_ptrs.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(args_ptrs.size()), args_ptrs.data());

  const fuse_lowlevel_ops ops = make_fuse_ops(conn.capabilities());
  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, &conn);
  conn.set_session(se);
  fuse_opt_free_args(&args);  // libfuse may have copied them; the session keeps its own
  if (se == nullptr) return fail("cannot start a FUSE session (bad -o option? see above)");
  if (fuse_set_signal_handlers(se) != 0) {
    fuse_session_destroy(se);
    return fail("cannot install signal handlers");
  }
  if (fuse_session_mount(se, mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    return fail("cannot mount on " + mountpoint + " (see above)");
  }

  const std::string dir = run_dir();
  std::unique_ptr<ControlServer> server;
  RegistryEntry entry{mountpoint, socket_path_for(dir, mountpoint), image,
                      conn.status().module.path, static_cast<long>(::getpid())};
  std::mutex entry_mu;
  if (!ensure_run_dir(dir, &err)) {
    err = "control directory: " + err;
  } else {
    server = std::make_unique<ControlServer>(
        entry.socket, [&conn, &entry, &entry_mu, &dir](std::string_view line) {
          std::string reply = handle_control_line(conn, line);
          // A live upgrade changes the module: the registry (bentoctl list) follows.
          std::string module = conn.status().module.path;
          std::lock_guard<std::mutex> g(entry_mu);
          if (module != entry.module) {
            entry.module = module;
            std::string e;
            if (!registry_add(dir, entry, &e))
              log(LogLevel::kWarning, "bentofs: cannot update the registry: " + e);
          }
          return reply;
        });
    if (!server->start(&err)) server.reset();
  }
  if (!server) {
    fuse_session_unmount(se);
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    return fail(err);
  }
  {
    std::lock_guard<std::mutex> g(entry_mu);
    if (!registry_add(dir, entry, &err))
      log(LogLevel::kWarning, "bentofs: cannot update the registry: " + err);
  }
  std::printf("bentofs: mounted %s on %s; control socket %s\n", image.c_str(), mountpoint.c_str(),
              server->path().c_str());
  std::fflush(stdout);
  if (!o.foreground) detach(report_fd, log_path_for(dir, mountpoint));

  // Our own worker loop rather than fuse_session_loop_mt: it answers FUSE_TMPFILE and
  // FUSE_STATX, which libfuse 3.14 does not know (session_loop.h).
  SessionOptions session_options;
  session_options.threads = o.threads;
  session_options.uring = o.uring;
  int rc = run_session(se, conn, session_options);

  // No upgrade may race the teardown: the control socket goes first.
  server->stop();
  registry_remove(dir, mountpoint);
  fuse_remove_signal_handlers(se);
  fuse_session_unmount(se);
  conn.shutdown(host_request());
  fuse_session_destroy(se);
  log(LogLevel::kInfo, "bentofs: unmounted " + mountpoint);
  return rc == 0 ? 0 : 1;
}

}  // namespace
}  // namespace bento::host

int main(int argc, char** argv) {
  try {
    return bento::host::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bentofs: fatal: %s\n", e.what());
    return 1;
  }
}
