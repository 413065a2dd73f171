// bench_probes: what the eBPF probes cost on a socket-heavy workload, with and without the
// probes in the same run (bench/README.md, "Probes"):
//   bulk  TCP over loopback, one connection, N bytes in 64 KiB write()s, read() in 64 KiB
//   rr    request/response pairs of 64 bytes over one TCP connection
//   conn  request/response pairs, a new TCP connection for each
//   micro ns per call of single syscalls (getppid, write to /dev/null, pread/pwrite of a
//         cached file, pipe and socketpair write+read) with the probes off, on, and on
//         without FILE_IO
// Each workload alternates runs without and with the probes (median of the reps), counts the
// events the workload's processes caused (by type) and reports the slowdown (medians; the
// micro figures are the best of the reps). Root + BTF.
//   bench_probes [--quick] [--reps N] [--json FILE]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bento_bpf/events.h"
#include "bento_bpf/probes.h"

namespace {

using Clock = std::chrono::steady_clock;
using bento::bpf::ProbeOptions;
using bento::bpf::Probes;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Reads the ring buffer in a thread, as a collector would, and counts the events of the
// processes it is told about (by pid), by type.
class Consumer {
 public:
  explicit Consumer(bool file_io, bool copies = true) {
    ProbeOptions o;
    o.file_io = file_io;
    o.copies = copies;
    o.ignore_tgids.push_back(static_cast<uint32_t>(getpid()));
    std::string err;
    probes_ = Probes::open(o, &err);
    if (!probes_) {
      std::fprintf(stderr, "bench_probes: %s\n", err.c_str());
      std::exit(3);
    }
    for (const auto& w : probes_->warnings()) std::fprintf(stderr, "bench_probes: %s\n", w.c_str());
    thread_ = std::thread([this] {
      while (!stop_)
        probes_->poll(50, [this](const void* d, size_t n) {
          if (n < sizeof(bento_event_header)) return;
          const auto* h = static_cast<const bento_event_header*>(d);
          std::lock_guard<std::mutex> g(mu_);
          total_++;
          if (pids_.count(h->pid) != 0) counts_[h->type]++;
        });
    });
  }
  ~Consumer() {
    stop_ = true;
    thread_.join();
  }
  void watch(pid_t pid) {
    std::lock_guard<std::mutex> g(mu_);
    pids_.insert(static_cast<uint32_t>(pid));
  }
  // Waits until the ring buffer is drained, then returns and resets the counts.
  std::map<uint32_t, uint64_t> take() {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::lock_guard<std::mutex> g(mu_);
    auto c = counts_;
    counts_.clear();
    pids_.clear();
    return c;
  }
  uint64_t lost() const { return probes_->stats().lost; }
  uint64_t total() {
    std::lock_guard<std::mutex> g(mu_);
    return total_;
  }

 private:
  std::unique_ptr<Probes> probes_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::set<uint32_t> pids_;
  std::map<uint32_t, uint64_t> counts_;
  uint64_t total_ = 0;
};

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return false;
    p += w;
    n -= w;
  }
  return true;
}

bool read_all(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= r;
  }
  return true;
}

struct Params {
  size_t bulk_bytes;
  int rr_pairs;
  int conn_pairs;
  long micro_calls;
};

struct Run {
  double wall = -1;  // the client's seconds (fork excluded)
  double cpu = 0;    // user + system seconds of server and client
};

double cpu_of(const rusage& u) {
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec / 1e6;
}

// A server process listening on loopback; the client runs in another process.
Run run_tcp(const std::string& kind, const Params& p, Consumer* c) {
  Run run;
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 128) != 0 ||
      getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return run;
  uint16_t port = ntohs(a.sin_port);
  int go[2], done[2];
  if (pipe(go) != 0 || pipe(done) != 0) return run;
  pid_t server = fork();
  if (server == 0) {
    std::vector<char> buf(64 << 10);
    int one = 1;
    if (kind == "bulk") {
      int s = accept(l, nullptr, nullptr);
      size_t got = 0;
      for (ssize_t n; (n = read(s, buf.data(), buf.size())) > 0;) got += n;
      _exit(got == p.bulk_bytes ? 0 : 1);
    }
    int pairs = kind == "rr" ? 1 : p.conn_pairs;
    for (int i = 0; i < pairs; i++) {
      int s = accept(l, nullptr, nullptr);
      setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      for (int j = 0; j < (kind == "rr" ? p.rr_pairs : 1); j++)
        if (!read_all(s, buf.data(), 64) || !write_all(s, buf.data(), 64)) _exit(1);
      close(s);
    }
    _exit(0);
  }
  pid_t client = fork();
  if (client == 0) {
    char x;
    if (read(go[0], &x, 1) != 1) _exit(1);
    std::vector<char> buf(64 << 10, 'b');
    auto t0 = Clock::now();
    int one = 1;
    auto conn = [&] {
      int s = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in to = loopback(port);
      if (connect(s, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) _exit(1);
      setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return s;
    };
    if (kind == "bulk") {
      int s = conn();
      for (size_t sent = 0; sent < p.bulk_bytes; sent += buf.size())
        if (!write_all(s, buf.data(), std::min(buf.size(), p.bulk_bytes - sent))) _exit(2);
      close(s);
    } else if (kind == "rr") {
      int s = conn();
      for (int j = 0; j < p.rr_pairs; j++)
        if (!write_all(s, buf.data(), 64) || !read_all(s, buf.data(), 64)) _exit(2);
      close(s);
    } else {
      for (int j = 0; j < p.conn_pairs; j++) {
        int s = conn();
        if (!write_all(s, buf.data(), 64) || !read_all(s, buf.data(), 64)) _exit(2);
        close(s);
      }
    }
    double secs = seconds_since(t0);
    _exit(write(done[1], &secs, sizeof secs) == sizeof secs ? 0 : 3);
  }
  close(l);
  if (c != nullptr) {
    c->watch(server);
    c->watch(client);
  }
  if (write(go[1], "g", 1) != 1) return run;
  double secs = -1;
  if (read(done[0], &secs, sizeof secs) != sizeof secs) secs = -1;
  int st1 = 0, st2 = 0;
  rusage u1 = {}, u2 = {};
  wait4(client, &st1, 0, &u1);
  wait4(server, &st2, 0, &u2);
  for (int fd : {go[0], go[1], done[0], done[1]}) close(fd);
  if (!WIFEXITED(st1) || WEXITSTATUS(st1) != 0 || !WIFEXITED(st2) || WEXITSTATUS(st2) != 0)
    return run;
  run.wall = secs;
  run.cpu = cpu_of(u1) + cpu_of(u2);
  return run;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

const char* type_name(uint32_t t) {
  static const char* names[] = {
      "?",      "fork",    "exec",       "exit",    "open",      "pipe",      "dup",
      "close",  "fd_send", "fd_recv",    "pipe_io", "sock_send", "sock_recv", "connect",
      "accept", "bind",    "socketpair", "mmap",    "munmap",    "file_io",   "truncate",
      "rename", "link",    "unlink",     "cred",    "kill",      "file_copy"};
  return t < sizeof names / sizeof names[0] ? names[t] : "?";
}

// CPU ns per call of one syscall pattern (the thread's CPU time: other processes on a shared
// host do not count), in a child (this process is the consumer, which the probes ignore as
// they ignore the collector).
double micro_ns(const std::string& what, long calls) {
  int rep[2];
  if (pipe(rep) != 0) return -1;
  pid_t child = fork();
  if (child == 0) {
    char path[] = "/tmp/bento-bench-probes.XXXXXX";
    int f = mkstemp(path);
    unlink(path);
    char buf[64] = {};
    if (f < 0 || pwrite(f, buf, sizeof buf, 0) != sizeof buf) _exit(1);
    int null = open("/dev/null", O_WRONLY);
    int p[2], sv[2];
    if (pipe(p) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) _exit(1);
    timespec c0 = {}, c1 = {};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    for (long i = 0; i < calls; i++) {
      if (what == "getppid") {
        (void)getppid();
      } else if (what == "write /dev/null") {
        if (write(null, buf, 1) != 1) _exit(2);
      } else if (what == "pread file") {
        if (pread(f, buf, 1, 0) != 1) _exit(2);
      } else if (what == "pwrite file") {
        if (pwrite(f, buf, 1, 0) != 1) _exit(2);
      } else if (what == "pipe write+read") {
        if (write(p[1], buf, 1) != 1 || read(p[0], buf, 1) != 1) _exit(2);
      } else if (what == "socketpair write+read") {
        if (write(sv[1], buf, 1) != 1 || read(sv[0], buf, 1) != 1) _exit(2);
      }
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    double ns =
        ((c1.tv_sec - c0.tv_sec) * 1e9 + (c1.tv_nsec - c0.tv_nsec)) / static_cast<double>(calls);
    _exit(write(rep[1], &ns, sizeof ns) == sizeof ns ? 0 : 3);
  }
  double ns = -1;
  if (read(rep[0], &ns, sizeof ns) != sizeof ns) ns = -1;
  int st = 0;
  waitpid(child, &st, 0);
  close(rep[0]);
  close(rep[1]);
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  int reps = 0;
  std::string json_path;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (a == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else {
      std::fprintf(stderr, "usage: bench_probes [--quick] [--reps N] [--json FILE]\n");
      return 2;
    }
  }
  if (geteuid() != 0 || access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
    std::printf("*** SKIPPING bench_probes: needs root and kernel BTF ***\n");
    return 0;
  }
  Params p =
      quick ? Params{256ull << 20, 2000, 500, 200000} : Params{1ull << 30, 10000, 2000, 1000000};
  if (reps == 0) reps = quick ? 3 : 5;
  nlohmann::json out = {{"quick", quick}, {"reps", reps}};

  std::printf("bench_probes%s: %d reps each, without and with the probes alternating\n",
              quick ? " --quick" : "", reps);
  for (const std::string kind : {"bulk", "rr", "conn"}) {
    std::vector<double> off, on, cpu_off, cpu_on;
    std::map<uint32_t, uint64_t> events;
    uint64_t lost = 0;
    if (run_tcp(kind, p, nullptr).wall < 0) {  // warm-up (page cache, TCP buffers), not counted
      std::fprintf(stderr, "bench_probes: %s failed\n", kind.c_str());
      return 1;
    }
    for (int r = 0; r < reps; r++) {
      Run t = run_tcp(kind, p, nullptr);
      if (t.wall < 0) {
        std::fprintf(stderr, "bench_probes: %s failed\n", kind.c_str());
        return 1;
      }
      off.push_back(t.wall);
      cpu_off.push_back(t.cpu);
      Consumer c(true);
      t = run_tcp(kind, p, &c);
      if (t.wall < 0) {
        std::fprintf(stderr, "bench_probes: %s failed with the probes\n", kind.c_str());
        return 1;
      }
      on.push_back(t.wall);
      cpu_on.push_back(t.cpu);
      events = c.take();  // the last rep's: every rep does the same
      lost += c.lost();
    }
    double m_off = median(off), m_on = median(on), c_off = median(cpu_off), c_on = median(cpu_on);
    uint64_t n = 0;
    std::string by_type;
    for (auto [t, k] : events) {
      n += k;
      by_type += std::string(by_type.empty() ? "" : ", ") + type_name(t) + " " + std::to_string(k);
    }
    std::string what = kind == "bulk" ? std::to_string(p.bulk_bytes >> 20) + " MiB in 64 KiB writes"
                       : kind == "rr" ? std::to_string(p.rr_pairs) + " request/response pairs"
                                      : std::to_string(p.conn_pairs) + " connections, 1 pair each";
    std::printf(
        "%-5s %-34s wall %.3f -> %.3f s (%.2fx), CPU %.3f -> %.3f s (%.2fx); %llu events (%s)%s\n",
        kind.c_str(), what.c_str(), m_off, m_on, m_on / m_off, c_off, c_on, c_on / c_off,
        static_cast<unsigned long long>(n), by_type.c_str(), lost != 0 ? " LOST EVENTS" : "");
    nlohmann::json ev;
    for (auto [t, k] : events) ev[type_name(t)] = k;
    out["workloads"][kind] = {
        {"what", what},      {"without_s", m_off},   {"with_s", m_on}, {"slowdown", m_on / m_off},
        {"events", n},       {"events_by_type", ev}, {"lost", lost},   {"samples_without", off},
        {"samples_with", on}};
  }

  std::printf(
      "micro: CPU ns per call (%ld calls, best of %d) without / with / with FILE_IO off / with "
      "FILE_COPY off\n",
      p.micro_calls, reps);
  for (const std::string what : {"getppid", "write /dev/null", "pread file", "pwrite file",
                                 "pipe write+read", "socketpair write+read"}) {
    std::vector<double> off, on, on_nofile, on_nocopy;
    for (int r = 0; r < reps; r++) {
      off.push_back(micro_ns(what, p.micro_calls));
      {
        Consumer c(true);
        on.push_back(micro_ns(what, p.micro_calls));
      }
      {
        Consumer c(false);
        on_nofile.push_back(micro_ns(what, p.micro_calls));
      }
      {
        Consumer c(true, /*copies=*/false);
        on_nocopy.push_back(micro_ns(what, p.micro_calls));
      }
    }
    // The best run: other processes on a shared host only ever add time.
    double a = *std::min_element(off.begin(), off.end());
    double b = *std::min_element(on.begin(), on.end());
    double c = *std::min_element(on_nofile.begin(), on_nofile.end());
    double d = *std::min_element(on_nocopy.begin(), on_nocopy.end());
    std::printf("  %-24s %7.0f / %7.0f (+%4.0f) / %7.0f (+%4.0f) / %7.0f (+%4.0f)\n", what.c_str(),
                a, b, b - a, c, c - a, d, d - a);
    out["micro_ns"][what] = {
        {"without", a}, {"with", b}, {"with_file_io_off", c}, {"with_copies_off", d}};
  }
  if (!json_path.empty()) {
    FILE* f = std::fopen(json_path.c_str(), "w");
    if (f == nullptr) {
      std::perror(json_path.c_str());
      return 1;
    }
    std::fprintf(f, "%s\n", out.dump(2).c_str());
    std::fclose(f);
  }
  return 0;
}
