#include "bento_bpf/probes.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "bento_bpf/events.h"
#include "probes.skel.h"

namespace bento::bpf {

struct Probes::Impl {
  probes_bpf* skel = nullptr;
  ring_buffer* rb = nullptr;
  const std::function<void(const void*, size_t)>* cb = nullptr;
  int handled = 0;
  std::vector<std::string> warnings;
  bool fd_events = false;  // sys_enter and sys_exit both attached

  ~Impl() {
    if (rb != nullptr) ring_buffer__free(rb);
    if (skel != nullptr) probes_bpf__destroy(skel);
  }
  static int on_event(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    if (self->cb != nullptr) (*self->cb)(data, size);
    self->handled++;
    return 0;
  }
};

namespace {

// Why libbpf failed (its output is otherwise off): the program it could not load or attach,
// and the verifier's verdict (the log line before "processed N insns").
thread_local std::string g_libbpf_prog, g_libbpf_verifier;

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list ap) {
  if (level != LIBBPF_WARN) return 0;
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return 0;
  std::string msg(static_cast<size_t>(n) + 1, '\0');
  vsnprintf(msg.data(), msg.size(), fmt, ap);
  msg.resize(static_cast<size_t>(n));
  if (auto at = msg.find("\nprocessed "); at != std::string::npos) {
    auto from = msg.rfind('\n', at - 1);
    g_libbpf_verifier = msg.substr(from == std::string::npos ? 0 : from + 1, at - from - 1);
  } else if (g_libbpf_prog.empty() && msg.find("prog '") != std::string::npos) {
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    g_libbpf_prog = msg.substr(msg.find("prog '"));
  }
  return 0;
}

void libbpf_clear() {
  g_libbpf_prog.clear();
  g_libbpf_verifier.clear();
}

std::string why(int err) {
  std::string s = std::strerror(err < 0 ? -err : err);
  if (!g_libbpf_prog.empty()) s += "; libbpf: " + g_libbpf_prog;
  if (!g_libbpf_verifier.empty()) s += "; verifier: " + g_libbpf_verifier;
  return s;
}

bool random_key(uint64_t key[2]) {
  return getrandom(key, 2 * sizeof(uint64_t), 0) == static_cast<ssize_t>(2 * sizeof(uint64_t));
}

bool read_key(const std::string& path, uint64_t key[2]) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, key, 2 * sizeof(uint64_t));
  close(fd);
  return n == static_cast<ssize_t>(2 * sizeof(uint64_t));
}

// The per-boot file_id key at `path`: read it, or create it. link() publishes it atomically,
// so concurrent loaders end up with the same key.
bool boot_key(const std::string& path, uint64_t key[2], std::string* err) {
  if (read_key(path, key)) return true;
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) mkdir(path.substr(0, slash).c_str(), 0700);
  if (!random_key(key)) {
    *err = std::string("getrandom: ") + std::strerror(errno);
    return false;
  }
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    *err = tmp + ": " + std::strerror(errno);
    return false;
  }
  bool ok = write(fd, key, 2 * sizeof(uint64_t)) == static_cast<ssize_t>(2 * sizeof(uint64_t));
  close(fd);
  if (ok && link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) ok = false;
  if (!ok) *err = path + ": " + std::strerror(errno);
  unlink(tmp.c_str());
  if (!ok) return false;
  if (read_key(path, key)) return true;  // ours, or the winner's if another loader raced us
  *err = path + ": not a 16-byte key";
  return false;
}

// The attach targets the fd programs need, present in the kernel's BTF?
std::string missing_tracepoints() {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) return "kernel BTF unreadable";
  std::string missing;
  for (const char* tp : {"btf_trace_sys_enter", "btf_trace_sys_exit"})
    if (btf__find_by_name_kind(vmlinux, tp, BTF_KIND_TYPEDEF) < 0)
      missing += std::string(missing.empty() ? "" : ", ") + (tp + 10);
  btf__free(vmlinux);
  return missing.empty() ? "" : "no raw tracepoint " + missing + " (CONFIG_FTRACE_SYSCALLS)";
}

probes_bpf* open_skel(const ProbeOptions& opts, const uint64_t key[2], bool fd_events) {
  probes_bpf* skel = probes_bpf__open();
  if (skel == nullptr) return nullptr;
  bpf_map__set_max_entries(skel->maps.events, opts.ringbuf_mb << 20);
  skel->rodata->file_id_key[0] = key[0];
  skel->rodata->file_id_key[1] = key[1];
  bpf_program__set_autoload(skel->progs.on_sys_enter, fd_events);
  bpf_program__set_autoload(skel->progs.on_sys_exit, fd_events);
  return skel;
}

}  // namespace

Probes::Probes(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Probes::~Probes() = default;

std::unique_ptr<Probes> Probes::open(const ProbeOptions& opts, std::string* error) {
  if (geteuid() != 0) {
    *error = "loading the eBPF probes needs root (CAP_BPF and CAP_PERFMON)";
    return nullptr;
  }
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
    *error = "this kernel exposes no BTF (/sys/kernel/btf/vmlinux): the CO-RE probes cannot load";
    return nullptr;
  }
  libbpf_set_print(libbpf_print);
  libbpf_clear();
  auto impl = std::make_unique<Impl>();
  uint64_t key[2] = {0, 0};
  std::string kerr;
  if (opts.file_id_key_path.empty() || !boot_key(opts.file_id_key_path, key, &kerr)) {
    if (!kerr.empty())
      impl->warnings.push_back("file_id key not kept (" + kerr + "): ids change with each open");
    if (!random_key(key)) {
      *error = std::string("getrandom for the file_id key: ") + std::strerror(errno);
      return nullptr;
    }
  }
  bool fd_events = opts.fd_events;
  if (fd_events) {
    if (std::string m = missing_tracepoints(); !m.empty()) {
      impl->warnings.push_back("fd events off: " + m);
      fd_events = false;
    }
  }
  impl->skel = open_skel(opts, key, fd_events);
  if (impl->skel == nullptr) {
    *error = std::string("opening the probes: ") + std::strerror(errno);
    return nullptr;
  }
  int e = probes_bpf__load(impl->skel);
  if (e != 0 && fd_events) {
    // Keep fork/exec/exit: retry without the syscall programs, and say why they are off.
    impl->warnings.push_back("fd events off: loading sys_enter/sys_exit failed: " + why(e));
    probes_bpf__destroy(impl->skel);
    libbpf_clear();
    fd_events = false;
    impl->skel = open_skel(opts, key, false);
    if (impl->skel == nullptr) {
      *error = std::string("opening the probes: ") + std::strerror(errno);
      return nullptr;
    }
    e = probes_bpf__load(impl->skel);
  }
  if (e != 0) {
    *error = "loading the probes (verifier or permissions): " + why(e);
    return nullptr;
  }
  for (uint32_t tgid : opts.ignore_tgids) {
    uint8_t one = 1;
    bpf_map__update_elem(impl->skel->maps.ignored, &tgid, sizeof tgid, &one, sizeof one, BPF_ANY);
  }
  auto* s = impl->skel;
  struct Prog {
    bpf_program* prog;
    bpf_link** link;
    bool required;
  };
  for (const Prog& p : {Prog{s->progs.on_fork, &s->links.on_fork, true},
                        Prog{s->progs.on_exec, &s->links.on_exec, true},
                        Prog{s->progs.on_exit, &s->links.on_exit, true},
                        Prog{s->progs.on_sys_enter, &s->links.on_sys_enter, false},
                        Prog{s->progs.on_sys_exit, &s->links.on_sys_exit, false}}) {
    if (!p.required && !fd_events) continue;
    libbpf_clear();
    *p.link = bpf_program__attach(p.prog);
    if (*p.link != nullptr) continue;
    std::string msg =
        std::string("attaching ") + bpf_program__section_name(p.prog) + ": " + why(errno);
    if (p.required) {
      *error = msg;
      return nullptr;
    }
    impl->warnings.push_back("fd events incomplete: " + msg);
    fd_events = false;
  }
  impl->fd_events = fd_events;
  impl->rb =
      ring_buffer__new(bpf_map__fd(impl->skel->maps.events), &Impl::on_event, impl.get(), nullptr);
  if (impl->rb == nullptr) {
    *error = std::string("opening the ring buffer: ") + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<Probes>(new Probes(std::move(impl)));
}

int Probes::poll(int timeout_ms, const std::function<void(const void*, size_t)>& cb) {
  impl_->cb = &cb;
  impl_->handled = 0;
  int r = ring_buffer__poll(impl_->rb, timeout_ms);
  impl_->cb = nullptr;
  if (r < 0 && r != -EINTR) return r;
  return impl_->handled;
}

ProbeStats Probes::stats() const {
  ProbeStats s;
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return s;
  std::vector<uint64_t> vals(static_cast<size_t>(ncpu));
  for (uint32_t key : {0u, 1u}) {
    if (bpf_map__lookup_elem(impl_->skel->maps.counters, &key, sizeof key, vals.data(),
                             vals.size() * sizeof(uint64_t), 0) != 0)
      continue;
    uint64_t sum = 0;
    for (uint64_t v : vals) sum += v;
    (key == 0 ? s.lost : s.events) = sum;
  }
  return s;
}

void Probes::ignore_tgid(uint32_t tgid) {
  uint8_t one = 1;
  bpf_map__update_elem(impl_->skel->maps.ignored, &tgid, sizeof tgid, &one, sizeof one, BPF_ANY);
}

bool Probes::fd_events() const {
  return impl_->fd_events;
}

const std::vector<std::string>& Probes::warnings() const {
  return impl_->warnings;
}

namespace {

std::string cstr(const char* p, size_t max) {
  return std::string(p, strnlen(p, max));
}

// file_ids as hex strings: 64-bit hashes, which JSON readers with doubles would round.
std::string hex(uint64_t v) {
  char b[19];
  std::snprintf(b, sizeof b, "0x%016llx", static_cast<unsigned long long>(v));
  return b;
}

const char* syscall_name(uint32_t nr) {
  switch (nr) {
    case SYS_dup:
      return "dup";
    case SYS_dup2:
      return "dup2";
    case SYS_dup3:
      return "dup3";
    case SYS_fcntl:
      return "fcntl";
    default:
      return "?";
  }
}

const char* close_how(uint32_t how) {
  switch (how) {
    case BENTO_CLOSE_SYSCALL:
      return "close";
    case BENTO_CLOSE_RANGE:
      return "close_range";
    case BENTO_CLOSE_EXEC:
      return "cloexec";
    default:
      return "?";
  }
}

}  // namespace

std::string event_to_json(const void* data, size_t size) {
  using nlohmann::json;
  if (size < sizeof(bento_event_header)) return R"({"error":"short event"})";
  const auto* h = static_cast<const bento_event_header*>(data);
  json j = {{"type", h->type},         {"ts_ns", h->ts_ns}, {"pid", h->pid}, {"tid", h->tid},
            {"start_ns", h->start_ns}, {"uid", h->uid},     {"gid", h->gid}, {"euid", h->euid}};
  switch (h->type) {
    case BENTO_EV_FORK: {
      if (size < sizeof(bento_fork_event)) break;
      const auto* e = static_cast<const bento_fork_event*>(data);
      j["event"] = "fork";
      j["child_pid"] = e->child_pid;
      j["child_tid"] = e->child_tid;
      j["child_start_ns"] = e->child_start_ns;
      j["is_thread"] = e->is_thread != 0;
      break;
    }
    case BENTO_EV_EXEC: {
      if (size < sizeof(bento_exec_event)) break;
      const auto* e = static_cast<const bento_exec_event*>(data);
      j["event"] = "exec";
      j["filename"] = cstr(e->filename, sizeof e->filename);
      json argv = json::array();
      for (uint32_t at = 0; at < e->args_len && at < sizeof e->args;) {
        std::string a = cstr(e->args + at, std::min<size_t>(sizeof e->args - at, e->args_len - at));
        argv.push_back(a);
        at += static_cast<uint32_t>(a.size()) + 1;
      }
      j["argv"] = argv;
      j["args_truncated"] = e->args_truncated != 0;
      j["exe_ino"] = e->exe_ino;
      j["exe_dev"] = e->exe_dev;
      j["old_tid"] = e->old_tid;
      j["std_pipe_ino"] = {e->std_pipe_ino[0], e->std_pipe_ino[1], e->std_pipe_ino[2]};
      break;
    }
    case BENTO_EV_EXIT: {
      if (size < sizeof(bento_exit_event)) break;
      const auto* e = static_cast<const bento_exit_event*>(data);
      j["event"] = "exit";
      j["exit_code"] = e->exit_code;
      j["group_dead"] = e->group_dead != 0;
      break;
    }
    case BENTO_EV_OPEN: {
      if (size < sizeof(bento_open_event)) break;
      const auto* e = static_cast<const bento_open_event*>(data);
      j["event"] = "open";
      j["fd"] = e->fd;
      j["path"] = cstr(e->path, std::min<size_t>(e->path_len, sizeof e->path));
      j["flags"] = e->flags;
      j["mode"] = e->mode;
      j["file_id"] = hex(e->file_id);
      j["dev"] = e->dev;
      j["ino"] = e->ino;
      break;
    }
    case BENTO_EV_PIPE: {
      if (size < sizeof(bento_pipe_event)) break;
      const auto* e = static_cast<const bento_pipe_event*>(data);
      j["event"] = "pipe";
      j["fds"] = {e->fds[0], e->fds[1]};
      j["file_ids"] = {hex(e->file_ids[0]), hex(e->file_ids[1])};
      j["pipe_ino"] = e->pipe_ino;
      j["flags"] = e->flags;
      break;
    }
    case BENTO_EV_DUP: {
      if (size < sizeof(bento_dup_event)) break;
      const auto* e = static_cast<const bento_dup_event*>(data);
      j["event"] = "dup";
      j["syscall"] = syscall_name(e->syscall_nr);
      j["oldfd"] = e->oldfd;
      j["newfd"] = e->newfd;
      j["file_id"] = hex(e->file_id);
      j["dev"] = e->dev;
      j["ino"] = e->ino;
      j["replaced"] = e->replaced != 0;
      if (e->replaced != 0) j["replaced_file_id"] = hex(e->replaced_file_id);
      break;
    }
    case BENTO_EV_CLOSE: {
      if (size < sizeof(bento_close_event)) break;
      const auto* e = static_cast<const bento_close_event*>(data);
      j["event"] = "close";
      j["fd"] = e->fd;
      j["how"] = close_how(e->how);
      j["file_id"] = hex(e->file_id);
      break;
    }
    case BENTO_EV_FD_SEND:
    case BENTO_EV_FD_RECV: {
      if (size < sizeof(bento_fd_pass_event)) break;
      const auto* e = static_cast<const bento_fd_pass_event*>(data);
      j["event"] = h->type == BENTO_EV_FD_SEND ? "fd_send" : "fd_recv";
      j["sock_fd"] = e->sock_fd;
      j["sock_ino"] = e->sock_ino;
      j["peer_sock_ino"] = e->peer_sock_ino;
      json passed = json::array();
      for (uint32_t i = 0; i < e->nfds && i < BENTO_FDS_MAX; i++)
        passed.push_back({{"fd", e->fds[i]},
                          {"file_id", hex(e->file_ids[i])},
                          {"dev", e->devs[i]},
                          {"ino", e->inos[i]}});
      j["fds"] = passed;
      j["truncated"] = e->truncated != 0;
      break;
    }
    case BENTO_EV_PIPE_IO: {
      if (size < sizeof(bento_pipe_io_event)) break;
      const auto* e = static_cast<const bento_pipe_io_event*>(data);
      j["event"] = e->is_write != 0 ? "pipe_write" : "pipe_read";
      j["fd"] = e->fd;
      j["file_id"] = hex(e->file_id);
      j["dev"] = e->dev;
      j["ino"] = e->ino;
      break;
    }
    default:
      j["event"] = "unknown";
      break;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace bento::bpf
