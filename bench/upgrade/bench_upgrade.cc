// bench_upgrade: how long does a live upgrade stop a busy mount?
//
// Mounts memfs (or --module FS.so, on an image formatted by --mkfs) with bentofs, runs a
// create/write/close/unlink loop in a few threads, and upgrades the module to itself N times
// through the control socket. Reports the distribution of
// the pause (write lock held, as measured by the host), of the wait for in-flight calls,
// of the client-side round trip, and of the longest workload syscall that overlapped each
// upgrade, next to the workload's normal syscall latency. Text on stdout, then one JSON
// line (also written to --json FILE). Exit 77 when FUSE is unavailable (CTest: skipped).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"

namespace {

using nlohmann::json;
using namespace bench;

struct OpSample {
  int64_t start;
  int64_t dur;
};

struct Window {
  int64_t start, end;
};

}  // namespace

int main(int argc, char** argv) {
  int upgrades = 200;
  int threads = 3;
  int gap_ms = 20;
  std::string json_path;
  std::string module = MEMFS_SO;
  std::string bentofs = BENTOFS_BIN;
  std::string mkfs;  // with --mkfs: format the image first (e.g. mkfs.bento for bento_fs.so)
  int size_mb = 16;
  std::string options;  // bentofs -o (e.g. "uring": the io_uring transport)
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_upgrade: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--quick") {
      upgrades = 20;
    } else if (a == "--upgrades") {
      upgrades = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--threads") {
      threads = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--gap-ms") {
      gap_ms = std::max(0, std::atoi(next().c_str()));
    } else if (a == "--json") {
      json_path = next();
    } else if (a == "--module") {
      module = next();
    } else if (a == "--bentofs") {
      bentofs = next();
    } else if (a == "--mkfs") {
      mkfs = next();
    } else if (a == "--options") {
      options = next();
    } else if (a == "--size-mb") {
      size_mb = std::max(1, std::atoi(next().c_str()));
    } else {
      std::fprintf(stderr,
                   "usage: bench_upgrade [--quick] [--upgrades N] [--threads N] [--gap-ms N] "
                   "[--json FILE] [--module FS.so] [--bentofs PATH] [--mkfs MKFS] [--size-mb N] "
                   "[--options O]\n"
                   "  Bento-fs: --module build/fs/bento_fs.so --mkfs build/fs/mkfs.bento "
                   "--size-mb 256\n");
      return 2;
    }
  }
  // The daemon runs in /: hand it absolute paths.
  if (char* abs = realpath(module.c_str(), nullptr)) {
    module = abs;
    std::free(abs);
  }
  if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0) {
    std::fprintf(stderr, "bench_upgrade: SKIPPED: needs root and /dev/fuse\n");
    return 77;
  }

  char tmpl[] = "/tmp/bento-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const std::string root = tmpl, img = root + "/image", mnt = root + "/mnt", run = root + "/run";
  mkdir(mnt.c_str(), 0755);
  setenv("BENTO_RUN_DIR", run.c_str(), 1);
  if (sh("truncate -s " + std::to_string(size_mb) + "M " + q(img)) != 0 ||
      (!mkfs.empty() && sh(q(mkfs) + " " + q(img) + " >/dev/null") != 0) ||
      sh(q(bentofs) + " " + q(img) + " " + q(mnt) + " --module " + q(module) +
         (options.empty() ? "" : " -o " + q(options)) + " >/dev/null") != 0) {
    std::fprintf(stderr, "bench_upgrade: cannot mount %s with %s\n", module.c_str(),
                 bentofs.c_str());
    sh("rm -rf " + q(root));
    return 1;
  }
  const std::string socket = bento::host::socket_path_for(run, mnt);
  long daemon_pid = 0;
  std::string transport;  // as bentofs reports it once the kernel's INIT is done
  {
    struct stat sb {};
    (void)stat(mnt.c_str(), &sb);
    // The rings are registered just after INIT: give them a moment before reporting.
    for (int i = 0; i < 50; i++) {
      auto st = bento::host::control_call(socket, R"({"cmd":"status"})", 10000);
      json sj = json::parse(st.reply, nullptr, false);
      daemon_pid = sj.value("pid", 0L);
      transport = sj.value("transport", "");
      if (options.find("uring") == std::string::npos || transport.rfind("io_uring", 0) == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  std::atomic<bool> stop{false};
  std::atomic<long> failures{0};
  std::vector<std::vector<OpSample>> samples(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; t++) {
    samples[t].reserve(2'000'000);
    workers.emplace_back([&, t] {
      std::vector<char> data(64 * 1024, static_cast<char>('a' + t));
      auto& out = samples[t];
      auto timed = [&](auto&& f) {
        int64_t s = now_ns();
        auto r = f();
        int64_t e = now_ns();
        if (out.size() < out.capacity()) out.push_back({s, e - s});
        return r;
      };
      for (long k = 0; !stop.load(std::memory_order_relaxed); k++) {
        std::string name = mnt + "/t" + std::to_string(t) + "-" + std::to_string(k % 64);
        size_t size = 4096 * (1 + k % 16);
        int fd = timed([&] { return open(name.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644); });
        if (fd < 0) {
          failures++;
          continue;
        }
        if (timed([&] { return write(fd, data.data(), size); }) != static_cast<ssize_t>(size))
          failures++;
        if (timed([&] { return close(fd); }) != 0) failures++;
        if (k % 2 == 0 && timed([&] { return unlink(name.c_str()); }) != 0) failures++;
      }
    });
  }

  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // warm up
  std::vector<double> pause_ms, wait_ms, rtt_ms;
  std::vector<Window> windows;
  int failed_upgrades = 0;
  const std::string request = json{{"cmd", "upgrade"}, {"module", module}}.dump();
  for (int i = 0; i < upgrades; i++) {
    int64_t s = now_ns();
    auto r = bento::host::control_call(socket, request, 30000);
    int64_t e = now_ns();
    json reply = json::parse(r.reply, nullptr, false);
    if (r.error != bento::host::ControlCallError::kNone || !reply.is_object() ||
        !reply.value("ok", false)) {
      failed_upgrades++;
      std::fprintf(stderr, "bench_upgrade: upgrade %d failed: %s%s\n", i, r.message.c_str(),
                   r.reply.c_str());
    } else {
      pause_ms.push_back(reply.value("pause_us", 0.0) / 1000.0);
      wait_ms.push_back(reply.value("wait_us", 0.0) / 1000.0);
      rtt_ms.push_back((e - s) / 1e6);
      windows.push_back({s, e});
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
  }
  stop = true;
  for (auto& w : workers) w.join();

  // The longest syscall overlapping each upgrade, and the latency of all the others.
  std::vector<double> worst_ms(windows.size(), 0.0), baseline_ms;
  size_t total_ops = 0;
  for (const auto& v : samples) {
    total_ops += v.size();
    for (const auto& op : v) {
      bool during = false;
      // Windows are sorted and disjoint: binary search for the first ending after op.start.
      auto it = std::lower_bound(windows.begin(), windows.end(), op.start,
                                 [](const Window& w, int64_t t) { return w.end < t; });
      for (; it != windows.end() && it->start < op.start + op.dur; ++it) {
        during = true;
        size_t idx = static_cast<size_t>(it - windows.begin());
        worst_ms[idx] = std::max(worst_ms[idx], op.dur / 1e6);
      }
      if (!during) baseline_ms.push_back(op.dur / 1e6);
    }
  }

  if (sh("fusermount3 -u " + q(mnt)) != 0) sh("umount -l " + q(mnt));
  for (int i = 0; i < 200 && daemon_pid > 0 && process_alive(daemon_pid); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  sh("rm -rf " + q(root));

  Dist p = dist(pause_ms), w = dist(wait_ms), rt = dist(rtt_ms), worst = dist(worst_ms),
       base = dist(baseline_ms);
  std::printf(
      "bench_upgrade: %d upgrades (%d failed) of %s under %d writer threads over %s, %zu "
      "syscalls (%ld failed)\n",
      upgrades, failed_upgrades, module.c_str(), threads, transport.c_str(), total_ops,
      failures.load());
  std::printf("  %-34s %10s %10s %10s\n", "", "p50 ms", "p99 ms", "max ms");
  auto row = [](const char* name, const Dist& d) {
    std::printf("  %-34s %10.3f %10.3f %10.3f\n", name, d.p50, d.p99, d.max);
  };
  row("pause (write lock held)", p);
  row("wait for in-flight calls", w);
  row("upgrade round trip (client)", rt);
  row("longest syscall during an upgrade", worst);
  row("syscall latency otherwise", base);
  json j = {{"upgrades", upgrades},
            {"failed_upgrades", failed_upgrades},
            {"threads", threads},
            {"module", module},
            {"transport", transport},
            {"syscalls", total_ops},
            {"failed_syscalls", failures.load()},
            {"pause", dist_json(p)},
            {"wait", dist_json(w)},
            {"round_trip", dist_json(rt)},
            {"worst_syscall_during_upgrade", dist_json(worst)},
            {"syscall_baseline", dist_json(base)}};
  std::printf("%s\n", j.dump().c_str());
  if (!json_path.empty()) std::ofstream(json_path) << j.dump(2) << "\n";
  return (failed_upgrades == 0 && failures.load() == 0) ? 0 : 1;
}
