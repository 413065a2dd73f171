#include "bento_bpf/probes.h"

#include <arpa/inet.h>
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
#include <cstdlib>
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
  bool skb = false;        // on_skb_copy attached: AF_UNIX datagram senders
  bool find_vma = false;   // MMAP on mprotect
  bool copies = false;     // FILE_COPY: the syscall programs and on_uring attached with it

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
  if (getenv("BENTO_BPF_VERBOSE") != nullptr) {  // the whole story, verifier logs included
    va_list copy;
    va_copy(copy, ap);
    vfprintf(stderr, fmt, copy);
    va_end(copy);
  }
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

bool has_tracepoint(const char* typedef_name) {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) return false;
  bool found = btf__find_by_name_kind(vmlinux, typedef_name, BTF_KIND_TYPEDEF) >= 0;
  btf__free(vmlinux);
  return found;
}

// What is loaded: optional parts that a kernel may refuse are switched off one by one.
struct Features {
  bool fd_events;  // on_sys_enter, on_sys_exit
  bool skb;        // on_skb_copy
  bool find_vma;   // on_sys_exit's mprotect path (bpf_find_vma)
  bool file_io;
  bool uring;           // on_uring: I/O through io_uring
  bool copies;          // FILE_COPY (copy_write, copy_read in the syscall programs)
  bool tcp_end = true;  // on_tcp_state: SOCK_END
};

probes_bpf* open_skel(const ProbeOptions& opts, const uint64_t key[2], const Features& f) {
  probes_bpf* skel = probes_bpf__open();
  if (skel == nullptr) return nullptr;
  bpf_map__set_max_entries(skel->maps.events, opts.ringbuf_mb << 20);
  skel->rodata->file_id_key[0] = key[0];
  skel->rodata->file_id_key[1] = key[1];
  skel->rodata->cfg_file_io = f.file_io ? 1 : 0;
  skel->rodata->cfg_find_vma = f.find_vma ? 1 : 0;
  skel->rodata->cfg_copies = f.copies ? 1 : 0;
  // The host's mount namespace is the loader's: paths of tasks in others go in fs form.
  struct stat ns {};
  if (stat("/proc/self/ns/mnt", &ns) == 0)
    skel->rodata->cfg_host_mnt_ns = static_cast<uint32_t>(ns.st_ino);
  bpf_program__set_autoload(skel->progs.on_sys_enter, f.fd_events);
  bpf_program__set_autoload(skel->progs.on_sys_exit, f.fd_events);
  bpf_program__set_autoload(skel->progs.on_skb_copy, f.fd_events && f.skb);
  bpf_program__set_autoload(skel->progs.on_uring, f.fd_events && f.uring);
  bpf_program__set_autoload(skel->progs.on_newtask, f.fd_events && f.uring);
  bpf_program__set_autoload(skel->progs.on_tcp_state, f.fd_events && f.tcp_end);
  return skel;
}

// Loads the object, switching off what this kernel refuses (with a warning each): the
// datagram-sender program if the verifier refused it, the io_uring programs likewise,
// mprotect's bpf_find_vma path if it refused sys_exit, and every fd event if that was not enough
// (fork/exec/exit stay).
probes_bpf* load_skel(const ProbeOptions& opts, const uint64_t key[2], Features* f,
                      std::vector<std::string>* warnings, std::string* error) {
  for (int attempt = 0; attempt < 5; attempt++) {
    libbpf_clear();
    probes_bpf* skel = open_skel(opts, key, *f);
    if (skel == nullptr) {
      *error = std::string("opening the probes: ") + std::strerror(errno);
      return nullptr;
    }
    int e = probes_bpf__load(skel);
    if (e == 0) return skel;
    std::string reason = why(e);
    // libbpf names the program the verifier refused: switch off what it holds.
    bool skb_failed = g_libbpf_prog.find("on_skb_copy") != std::string::npos;
    bool exit_failed = g_libbpf_prog.find("on_sys_exit") != std::string::npos;
    bool uring_failed = g_libbpf_prog.find("on_uring") != std::string::npos ||
                        g_libbpf_prog.find("on_newtask") != std::string::npos;
    bool copies_failed = g_libbpf_prog.find("on_sys_e") != std::string::npos ||
                         g_libbpf_prog.find("on_uring") != std::string::npos;
    bool tcp_failed = g_libbpf_prog.find("on_tcp_state") != std::string::npos;
    probes_bpf__destroy(skel);
    if (f->tcp_end && tcp_failed) {
      warnings->push_back("TCP connection ends not seen: loading on_tcp_state failed: " + reason);
      f->tcp_end = false;
    } else if (f->skb && skb_failed) {
      warnings->push_back("AF_UNIX datagram senders not identified: loading on_skb_copy failed: " +
                          reason);
      f->skb = false;
    } else if (f->copies && copies_failed) {
      warnings->push_back("copies not told apart: loading the syscall programs with them failed: " +
                          reason);
      f->copies = false;
    } else if (f->uring && uring_failed) {
      warnings->push_back("io_uring I/O not seen: loading on_uring/on_newtask failed: " + reason);
      f->uring = false;
      f->copies = false;  // an io_uring write would go unseen
    } else if (f->fd_events && f->find_vma && exit_failed) {
      warnings->push_back("mprotect events off: loading sys_exit with bpf_find_vma failed: " +
                          reason);
      f->find_vma = false;
    } else if (f->fd_events) {
      warnings->push_back("fd events off: loading sys_enter/sys_exit failed: " + reason);
      *f = Features{false, false, false, false, false, false, false};
    } else {
      *error = "loading the probes (verifier or permissions): " + reason;
      return nullptr;
    }
  }
  *error = "loading the probes: gave up";
  return nullptr;
}

// Leaves out tgid's events: the `ignored` map every program consults, and a free word of
// `fast_ignored` (when there is one) that the syscall programs check before any work.
bool ignore_in(probes_bpf* skel, uint32_t tgid) {
  uint8_t one = 1;
  if (bpf_map__update_elem(skel->maps.ignored, &tgid, sizeof tgid, &one, sizeof one, BPF_ANY) != 0)
    return false;
  volatile uint32_t* free_word = nullptr;
  for (volatile uint32_t& w : skel->bss->fast_ignored) {
    if (w == tgid) return true;
    if (w == 0 && free_word == nullptr) free_word = &w;
  }
  if (free_word != nullptr) *free_word = tgid;
  return true;
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
  Features f{opts.fd_events, true, true,
             opts.file_io,   true, opts.fd_events && opts.file_io && opts.copies};
  if (f.fd_events) {
    if (std::string m = missing_tracepoints(); !m.empty()) {
      impl->warnings.push_back("fd events off: " + m);
      f = Features{false, false, false, false, false, false, false};
    } else if (!has_tracepoint("btf_trace_io_uring_complete")) {
      impl->warnings.push_back("io_uring I/O not seen: no io_uring_complete tracepoint");
      f.uring = false;
      f.copies = false;
    }
  }
  if (f.fd_events && !has_tracepoint("btf_trace_inet_sock_set_state")) {
    impl->warnings.push_back("TCP connection ends not seen: no inet_sock_set_state tracepoint");
    f.tcp_end = false;
  }
  impl->skel = load_skel(opts, key, &f, &impl->warnings, error);
  if (impl->skel == nullptr) return nullptr;
  bool fd_events = f.fd_events;
  for (uint32_t tgid : opts.ignore_tgids)
    if (!ignore_in(impl->skel, tgid))
      impl->warnings.push_back("process " + std::to_string(tgid) +
                               " not left out: the table of ignored processes is full");
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
  impl->find_vma = fd_events && f.find_vma;
  if (fd_events && f.skb) {
    libbpf_clear();
    s->links.on_skb_copy = bpf_program__attach(s->progs.on_skb_copy);
    if (s->links.on_skb_copy == nullptr) {
      impl->warnings.push_back(
          "AF_UNIX datagram senders not identified: attaching skb_copy_datagram_iovec: " +
          why(errno));
    } else {
      s->bss->unix_dgram_by_skb = 1;  // sys_exit leaves those receives to on_skb_copy
      impl->skb = true;
    }
  }
  if (fd_events && f.uring) {
    libbpf_clear();
    s->links.on_newtask = bpf_program__attach(s->progs.on_newtask);
    if (s->links.on_newtask != nullptr) s->links.on_uring = bpf_program__attach(s->progs.on_uring);
    if (s->links.on_uring == nullptr)
      impl->warnings.push_back("io_uring I/O not seen: attaching task_newtask/io_uring_complete: " +
                               why(errno));
  }
  if (fd_events && f.tcp_end) {
    libbpf_clear();
    s->links.on_tcp_state = bpf_program__attach(s->progs.on_tcp_state);
    if (s->links.on_tcp_state == nullptr)
      impl->warnings.push_back("TCP connection ends not seen: attaching inet_sock_set_state: " +
                               why(errno));
  }
  // Copies only where every write is seen: the syscall programs and io_uring's attached.
  impl->copies = f.copies && fd_events && s->links.on_uring != nullptr;
  if (f.copies && !impl->copies)
    impl->warnings.push_back("copies not told apart: not every write would be seen");
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
  // The probes wake the consumer only when much is waiting (probes.bpf.c, wake_flags): what
  // arrived meanwhile is read here, after the timeout.
  int r = ring_buffer__poll(impl_->rb, timeout_ms);
  if (r >= 0 || r == -EINTR) {
    int c = ring_buffer__consume(impl_->rb);
    if (c < 0 && c != -EINTR) r = c;
  }
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
    (key == 0 ? s.lost : s.events) = sum;  // [1] counts every record tried
  }
  s.events = s.events >= s.lost ? s.events - s.lost : 0;
  return s;
}

bool Probes::ignore_tgid(uint32_t tgid) {
  return ignore_in(impl_->skel, tgid);
}

bool Probes::ignoring(uint32_t tgid) const {
  uint8_t v = 0;
  return bpf_map__lookup_elem(impl_->skel->maps.ignored, &tgid, sizeof tgid, &v, sizeof v, 0) == 0;
}

bool Probes::fd_events() const {
  return impl_->fd_events;
}

bool Probes::unix_dgram_senders() const {
  return impl_->skb;
}

bool Probes::mprotect_events() const {
  return impl_->find_vma;
}

bool Probes::copy_events() const {
  return impl_->copies;
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

const char* mmap_how(uint32_t how) {
  switch (how) {
    case BENTO_MMAP_MMAP:
      return "mmap";
    case BENTO_MMAP_MPROTECT:
      return "mprotect";
    case BENTO_MMAP_FORK:
      return "fork";
    case BENTO_MMAP_MREMAP:
      return "mremap";
    case BENTO_MMAP_SHMAT:
      return "shmat";
    default:
      return "?";
  }
}

const char* munmap_how(uint32_t how) {
  switch (how) {
    case BENTO_MUNMAP_MUNMAP:
      return "munmap";
    case BENTO_MUNMAP_MREMAP:
      return "mremap";
    case BENTO_MUNMAP_REPLACED:
      return "replaced";
    case BENTO_MUNMAP_EXEC:
      return "exec";
    case BENTO_MUNMAP_EXIT:
      return "exit";
    default:
      return "?";
  }
}

nlohmann::json sock_json(const bento_sock& s) {
  return {{"ino", s.ino},   {"sock_id", hex(s.sock_id)}, {"netns", s.netns}, {"family", s.family},
          {"type", s.type}, {"protocol", s.protocol}};
}

// "203.0.113.5:443", "[::1]:8080", or null.
nlohmann::json inet_json(const bento_inet_addr& a) {
  if (a.family == 0) return nullptr;
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(a.family == AF_INET ? AF_INET : AF_INET6, a.addr, buf, sizeof buf);
  std::string host = a.family == AF_INET ? std::string(buf) : "[" + std::string(buf) + "]";
  return host + ":" + std::to_string(a.port);
}

nlohmann::json dir_json(const bento_dir_ref& d) {
  if (d.dev == 0 && d.ino == 0 && d.path_len == 0) return nullptr;
  return {{"dirfd", d.dirfd},
          {"dev", d.dev},
          {"ino", d.ino},
          {"path", cstr(d.path, std::min<size_t>(d.path_len, sizeof d.path))}};
}

const char* event_name(uint32_t type) {
  switch (type) {
    case BENTO_EV_SOCK_SEND:
      return "sock_send";
    case BENTO_EV_SOCK_RECV:
      return "sock_recv";
    case BENTO_EV_SOCK_CONNECT:
      return "connect";
    case BENTO_EV_SOCK_ACCEPT:
      return "accept";
    case BENTO_EV_SOCK_BIND:
      return "bind";
    case BENTO_EV_RENAME:
      return "rename";
    case BENTO_EV_LINK:
      return "link";
    case BENTO_EV_UNLINK:
      return "unlink";
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
  if (h->mnt_ns != 0) j["mnt_ns"] = h->mnt_ns;
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
      if (e->cwd_len != 0) j["cwd"] = cstr(e->cwd, sizeof e->cwd);
      if (e->exe_path_len != 0) j["exe_path"] = cstr(e->exe_path, sizeof e->exe_path);
      if (h->mnt_ns != 0) {
        j["root_path"] = cstr(e->root_path, sizeof e->root_path);
        j["root_dev"] = e->root_dev;
      }
      if (e->login_uid != 0xffffffffu) j["login_uid"] = e->login_uid;
      if (e->stdin_mode != 0)
        j["stdin"] = {{"dev", e->stdin_dev}, {"ino", e->stdin_ino}, {"mode", e->stdin_mode}};
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
      j["generation"] = e->generation;
      if (e->btime_ns != 0) j["btime_ns"] = e->btime_ns;
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
      if (e->channel != BENTO_CHANNEL_PIPE) {
        j["channel"] = e->channel;
        j["generation"] = e->generation;
      }
      break;
    }
    case BENTO_EV_SOCK_SEND:
    case BENTO_EV_SOCK_RECV:
    case BENTO_EV_SOCK_CONNECT:
    case BENTO_EV_SOCK_ACCEPT:
    case BENTO_EV_SOCK_BIND: {
      if (size < sizeof(bento_sock_event)) break;
      const auto* e = static_cast<const bento_sock_event*>(data);
      j["event"] = event_name(h->type);
      j["syscall_nr"] = e->syscall_nr;
      j["fd"] = e->fd;
      j["ret"] = e->ret;
      j["flags"] = e->flags;
      j["file_id"] = hex(e->file_id);
      j["sock"] = sock_json(e->sock);
      if (e->peer.sock_id != 0 || e->peer.ino != 0) j["peer"] = sock_json(e->peer);
      if (e->listen_ino != 0) j["listen_ino"] = e->listen_ino;
      if (e->peer_pid != 0) j["peer_pid"] = e->peer_pid;
      if (e->peer_start_ns != 0) j["peer_start_ns"] = e->peer_start_ns;
      if (e->local.family != 0) j["local"] = inet_json(e->local);
      if (e->remote.family != 0) j["remote"] = inet_json(e->remote);
      if (e->path_len != 0)
        j["path"] = cstr(e->path, std::min<size_t>(e->path_len, sizeof e->path));
      break;
    }
    case BENTO_EV_SOCKETPAIR: {
      if (size < sizeof(bento_socketpair_event)) break;
      const auto* e = static_cast<const bento_socketpair_event*>(data);
      j["event"] = "socketpair";
      j["fds"] = {e->fds[0], e->fds[1]};
      j["file_ids"] = {hex(e->file_ids[0]), hex(e->file_ids[1])};
      j["socks"] = {sock_json(e->socks[0]), sock_json(e->socks[1])};
      break;
    }
    case BENTO_EV_MMAP:
    case BENTO_EV_MUNMAP: {
      if (size < sizeof(bento_mmap_event)) break;
      const auto* e = static_cast<const bento_mmap_event*>(data);
      bool start = h->type == BENTO_EV_MMAP;
      j["event"] = start ? "mmap" : "munmap";
      j["how"] = start ? mmap_how(e->how) : munmap_how(e->how);
      j["addr"] = hex(e->addr);
      j["len"] = e->len;
      j["offset"] = e->offset;
      j["file_id"] = hex(e->file_id);
      j["dev"] = e->dev;
      j["ino"] = e->ino;
      j["generation"] = e->generation;
      if (start) {
        j["fd"] = e->fd;
        j["prot"] = e->prot;
        j["flags"] = e->flags;
        j["tracked"] = e->tracked != 0;
      }
      break;
    }
    case BENTO_EV_FILE_IO: {
      if (size < sizeof(bento_file_io_event)) break;
      const auto* e = static_cast<const bento_file_io_event*>(data);
      j["event"] = e->is_write == BENTO_FILE_IO_WRITE_FAILED ? "file_write_failed"
                   : e->is_write != 0                        ? "file_write"
                                                             : "file_read";
      j["syscall_nr"] = e->syscall_nr;
      j["fd"] = e->fd;
      j["file_id"] = hex(e->file_id);
      j["dev"] = e->dev;
      j["ino"] = e->ino;
      j["generation"] = e->generation;
      break;
    }
    case BENTO_EV_FILE_COPY: {
      if (size < sizeof(bento_file_copy_event)) break;
      const auto* e = static_cast<const bento_file_copy_event*>(data);
      j["event"] = "file_copy";
      j["syscall_nr"] = e->syscall_nr;
      j["dev"] = e->dev;
      j["ino"] = e->ino;
      j["generation"] = e->generation;
      j["src_dev"] = e->src_dev;
      j["src_ino"] = e->src_ino;
      j["src_generation"] = e->src_generation;
      break;
    }
    case BENTO_EV_TRUNCATE: {
      if (size < sizeof(bento_truncate_event)) break;
      const auto* e = static_cast<const bento_truncate_event*>(data);
      j["event"] = "truncate";
      j["syscall_nr"] = e->syscall_nr;
      j["length"] = e->length;
      j["fd"] = e->fd;
      if (e->fd >= 0) {
        j["file_id"] = hex(e->file_id);
        j["dev"] = e->dev;
        j["ino"] = e->ino;
        j["generation"] = e->generation;
      } else {
        j["path"] = cstr(e->path, std::min<size_t>(e->path_len, sizeof e->path));
        j["dir"] = dir_json(e->dir);
      }
      break;
    }
    case BENTO_EV_RENAME:
    case BENTO_EV_LINK:
    case BENTO_EV_UNLINK: {
      if (size < sizeof(bento_path_event)) break;
      const auto* e = static_cast<const bento_path_event*>(data);
      j["event"] = event_name(h->type);
      j["syscall_nr"] = e->syscall_nr;
      j["flags"] = e->flags;
      j["oldpath"] = cstr(e->oldpath, std::min<size_t>(e->oldpath_len, sizeof e->oldpath));
      j["olddir"] = dir_json(e->olddir);
      if (h->type != BENTO_EV_UNLINK) {
        j["newpath"] = cstr(e->newpath, std::min<size_t>(e->newpath_len, sizeof e->newpath));
        j["newdir"] = dir_json(e->newdir);
      }
      if (e->ino_known != 0) {
        j["dev"] = e->dev;
        j["ino"] = e->ino;
        j["generation"] = e->generation;
      }
      break;
    }
    case BENTO_EV_CRED: {
      if (size < sizeof(bento_cred_event)) break;
      const auto* e = static_cast<const bento_cred_event*>(data);
      j["event"] = "cred";
      j["syscall_nr"] = e->syscall_nr;
      j["args"] = {e->args[0], e->args[1], e->args[2]};
      j["ids"] = {{"uid", e->uid}, {"euid", e->euid}, {"suid", e->suid}, {"fsuid", e->fsuid},
                  {"gid", e->gid}, {"egid", e->egid}, {"sgid", e->sgid}, {"fsgid", e->fsgid}};
      j["cap_effective"] = hex(e->cap_effective);
      j["cap_permitted"] = hex(e->cap_permitted);
      j["cap_inheritable"] = hex(e->cap_inheritable);
      break;
    }
    case BENTO_EV_KILL: {
      if (size < sizeof(bento_kill_event)) break;
      const auto* e = static_cast<const bento_kill_event*>(data);
      j["event"] = "kill";
      j["syscall_nr"] = e->syscall_nr;
      j["sig"] = e->sig;
      j["target_pid"] = e->target_pid;
      if (e->target_tid != 0) j["target_tid"] = e->target_tid;
      if (e->pidfd >= 0) j["pidfd"] = e->pidfd;
      if (e->resolved != 0) j["target_start_ns"] = e->target_start_ns;
      break;
    }
    case BENTO_EV_PROC_MEMORY: {
      if (size < sizeof(bento_proc_memory_event)) break;
      const auto* e = static_cast<const bento_proc_memory_event*>(data);
      j["event"] = e->is_write != 0 ? "proc_memory_write" : "proc_memory_read";
      j["syscall_nr"] = e->syscall_nr;
      j["target_pid"] = e->target_pid;
      if (e->resolved != 0) j["target_start_ns"] = e->target_start_ns;
      j["bytes"] = e->bytes;
      break;
    }
    default:
      j["event"] = "unknown";
      break;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace bento::bpf
