#include "bento_bpf/probes.h"

#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
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
  libbpf_set_print([](enum libbpf_print_level, const char*, va_list) { return 0; });
  auto impl = std::make_unique<Impl>();
  impl->skel = probes_bpf__open();
  if (impl->skel == nullptr) {
    *error = std::string("opening the probes: ") + std::strerror(errno);
    return nullptr;
  }
  bpf_map__set_max_entries(impl->skel->maps.events, opts.ringbuf_mb << 20);
  if (int e = probes_bpf__load(impl->skel); e != 0) {
    *error = std::string("loading the probes (verifier or permissions): ") + std::strerror(-e);
    return nullptr;
  }
  for (uint32_t tgid : opts.ignore_tgids) {
    uint8_t one = 1;
    bpf_map__update_elem(impl->skel->maps.ignored, &tgid, sizeof tgid, &one, sizeof one, BPF_ANY);
  }
  if (int e = probes_bpf__attach(impl->skel); e != 0) {
    *error = std::string("attaching the probes (tp_btf sched_process_*): ") + std::strerror(-e);
    return nullptr;
  }
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

namespace {

std::string cstr(const char* p, size_t max) {
  return std::string(p, strnlen(p, max));
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
    default:
      j["event"] = "unknown";
      break;
  }
  return j.dump();
}

}  // namespace bento::bpf
