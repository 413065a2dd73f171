// bench_timeline: the paper's live-upgrade experiment (FAST'21 §6, "operations per
// interval across an upgrade"). Mounts Bento-fs with the plain module on a fresh image,
// runs a workload, upgrades to the tracking module (Bento-prov) in the middle, and counts
// completed operations per 5 ms interval. Two workloads:
//   createdel  one thread: create, write 4 KiB, close, unlink, in a loop
//   fsync      N threads: write 4 KiB + fsync to their own file, in a loop
// Output (into --out DIR): <workload>.csv (interval start ms relative to the upgrade, ops),
// timeline.json (pause as measured by the host, max/p99 op latency around the upgrade and
// otherwise, ops/s before and after) and timeline.png (gnuplot, if installed).
// While tracking, a drain thread reads the provenance log through the mount's hidden log
// file and acknowledges it, as the collector would, so the log never fills.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>

#include "bench_common.h"

namespace {

using nlohmann::json;
using namespace bench;

constexpr int64_t kBinNs = 5'000'000;

struct Sample {
  int64_t end;
  int64_t dur;
};

struct Options {
  std::string bentofs = BENTOFS_BIN, mkfs = MKFS_BIN, from = BENTO_FS_SO, to = BENTO_PROV_SO;
  std::string out = "bench/results/timeline";
  double seconds = 4.0;
  int threads = 4;
  int size_mb = 1024;
  bool quick = false;
};

// Reads the provenance log from the cursor and acknowledges it (a minimal collector).
void drain_log(const std::string& mnt, std::atomic<bool>& stop, std::atomic<uint64_t>& bytes) {
  const std::string path = mnt + "/.bento-provlog";
  std::vector<char> buf(1 << 20);
  uint64_t cursor = 0;
  int fd = -1;
  while (!stop.load()) {
    if (fd < 0) fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (cursor == 0) {  // start at the log's head
      char info[512] = {};
      ssize_t n = fgetxattr(fd, "trusted.bento.prov.info", info, sizeof info - 1);
      if (n > 0) {
        const char* h = std::strstr(info, "head=");
        if (h != nullptr) cursor = std::strtoull(h + 5, nullptr, 10);
      }
    }
    ssize_t n = pread(fd, buf.data(), buf.size(), static_cast<off_t>(cursor));
    if (n > 0) {
      cursor += static_cast<uint64_t>(n);
      bytes += static_cast<uint64_t>(n);
      std::string ack = std::to_string(cursor);
      fsetxattr(fd, "trusted.bento.prov.ack", ack.data(), ack.size(), 0);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (fd >= 0) close(fd);
}

struct Result {
  json summary;
  std::map<int64_t, long> bins;  // bin index relative to the upgrade -> ops
};

Result run_workload(const Options& o, const std::string& workload) {
  Result res;
  BentoMount m;
  if (!m.mount(o.bentofs, o.from, o.mkfs, o.size_mb)) {
    res.summary = {{"error", "cannot mount " + o.from}};
    return res;
  }
  const int nthreads = workload == "createdel" ? 1 : o.threads;
  std::atomic<bool> stop{false}, drain_stop{false};
  std::atomic<long> failures{0};
  std::atomic<uint64_t> drained{0};
  std::vector<std::vector<Sample>> samples(nthreads);
  std::vector<std::thread> workers;
  for (int t = 0; t < nthreads; t++) {
    samples[t].reserve(4'000'000);
    workers.emplace_back([&, t] {
      std::vector<char> data(4096, static_cast<char>('a' + t));
      auto& out = samples[t];
      const std::string own = m.mnt + "/f" + std::to_string(t);
      int ffd = -1;
      if (workload == "fsync") ffd = open(own.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
      for (long k = 0; !stop.load(std::memory_order_relaxed); k++) {
        int64_t s = now_ns();
        bool ok;
        if (workload == "createdel") {
          std::string name = m.mnt + "/c" + std::to_string(k % 128);
          int fd = open(name.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
          ok = fd >= 0 && write(fd, data.data(), data.size()) == 4096;
          if (fd >= 0) ok = close(fd) == 0 && ok;
          ok = unlink(name.c_str()) == 0 && ok;
        } else {
          ok =
              ffd >= 0 &&
              pwrite(ffd, data.data(), data.size(), static_cast<off_t>((k % 256) * 4096)) == 4096 &&
              fsync(ffd) == 0;
        }
        int64_t e = now_ns();
        if (!ok) failures++;
        if (out.size() < out.capacity()) out.push_back({e, e - s});
      }
      if (ffd >= 0) close(ffd);
    });
  }
  std::thread drainer([&] { drain_log(m.mnt, drain_stop, drained); });

  const auto half = std::chrono::duration<double>(o.seconds / 2);
  std::this_thread::sleep_for(half);
  int64_t up_start = now_ns();
  std::string err;
  json reply = m.upgrade(o.to, &err);
  int64_t up_end = now_ns();
  std::this_thread::sleep_for(half);
  stop = true;
  for (auto& w : workers) w.join();
  drain_stop = true;
  drainer.join();

  // Bins relative to the upgrade's start; latencies near the upgrade vs the rest.
  std::vector<double> near, other;
  int64_t first = INT64_MAX, last = 0;
  long before = 0, after = 0;
  for (const auto& v : samples) {
    for (const auto& s : v) {
      res.bins[(s.end - up_start) / kBinNs - (s.end < up_start ? 1 : 0)]++;
      first = std::min(first, s.end);
      last = std::max(last, s.end);
      int64_t start = s.end - s.dur;
      bool overlaps = start < up_end + 50'000'000 && s.end > up_start - 50'000'000;
      (overlaps ? near : other).push_back(s.dur / 1e6);
      (s.end < up_start ? before : after)++;
    }
  }
  Dist dn = dist(near), dot = dist(other);
  double before_s = (up_start - first) / 1e9, after_s = (last - up_end) / 1e9;
  res.summary = {
      {"workload", workload},
      {"threads", nthreads},
      {"upgrade_ok", !reply.is_null()},
      {"upgrade_error", err},
      {"pause_ms", reply.is_null() ? 0.0 : reply.value("pause_us", 0.0) / 1000.0},
      {"wait_ms", reply.is_null() ? 0.0 : reply.value("wait_us", 0.0) / 1000.0},
      {"round_trip_ms", (up_end - up_start) / 1e6},
      {"failed_ops", failures.load()},
      {"ops_per_s_before", before_s > 0 ? before / before_s : 0.0},
      {"ops_per_s_after", after_s > 0 ? after / after_s : 0.0},
      {"latency_around_upgrade", dist_json(dn)},
      {"latency_otherwise", dist_json(dot)},
      {"log_bytes_drained", drained.load()},
  };
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_timeline: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--quick") {
      o.quick = true;
      o.seconds = 1.0;
      o.size_mb = 256;
    } else if (a == "--seconds") {
      o.seconds = std::max(0.2, std::atof(next().c_str()));
    } else if (a == "--threads") {
      o.threads = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--out") {
      o.out = next();
    } else if (a == "--from") {
      o.from = next();
    } else if (a == "--to") {
      o.to = next();
    } else if (a == "--size-mb") {
      o.size_mb = std::max(64, std::atoi(next().c_str()));
    } else {
      std::fprintf(stderr,
                   "usage: bench_timeline [--quick] [--seconds S] [--threads N] [--out DIR] "
                   "[--from PLAIN.so] [--to TRACKING.so] [--size-mb N]\n");
      return 2;
    }
  }
  if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0) {
    std::fprintf(stderr, "bench_timeline: SKIPPED: needs root and /dev/fuse\n");
    return 77;
  }
  o.from = absolute(o.from);
  o.to = absolute(o.to);
  sh("mkdir -p " + q(o.out));
  o.out = absolute(o.out);

  json all = json::array();
  bool ok = true;
  for (const std::string w : {"createdel", "fsync"}) {
    Result r = run_workload(o, w);
    std::ofstream csv(o.out + "/" + w + ".csv");
    csv << "# ms_since_upgrade ops_per_5ms\n";
    if (!r.bins.empty()) {  // every interval, empty ones too (a stall shows as zeros)
      for (int64_t b = r.bins.begin()->first; b <= r.bins.rbegin()->first; b++) {
        auto it = r.bins.find(b);
        csv << b * 5 << " " << (it == r.bins.end() ? 0 : it->second) << "\n";
      }
    }
    ok = ok && r.summary.value("upgrade_ok", false) && r.summary.value("failed_ops", 1L) == 0;
    all.push_back(r.summary);
    const json& s = r.summary;
    std::printf(
        "%-9s %d thr: pause %.3f ms (round trip %.1f ms), ops/s %.0f -> %.0f, op latency "
        "around the upgrade p99 %.2f max %.2f ms (otherwise p99 %.2f max %.2f), failed %ld%s\n",
        w.c_str(), s.value("threads", 0), s.value("pause_ms", 0.0), s.value("round_trip_ms", 0.0),
        s.value("ops_per_s_before", 0.0), s.value("ops_per_s_after", 0.0),
        s["latency_around_upgrade"].value("p99_ms", 0.0),
        s["latency_around_upgrade"].value("max_ms", 0.0),
        s["latency_otherwise"].value("p99_ms", 0.0), s["latency_otherwise"].value("max_ms", 0.0),
        s.value("failed_ops", 0L),
        s.value("upgrade_ok", false)
            ? ""
            : (" UPGRADE FAILED: " + s.value("upgrade_error", std::string())).c_str());
  }
  json doc = {{"from", o.from}, {"to", o.to}, {"seconds", o.seconds}, {"runs", all}};
  std::ofstream(o.out + "/timeline.json") << doc.dump(2) << "\n";
  if (sh("command -v gnuplot >/dev/null") == 0) {
    std::ofstream gp(o.out + "/timeline.gp");
    gp << "set terminal pngcairo size 1000,600 noenhanced\n"
       << "set output '" << o.out << "/timeline.png'\n"
       << "set multiplot layout 2,1 title 'Live upgrade Bento-fs -> Bento-prov: ops per 5 ms "
          "(upgrade at 0 ms)'\n"
       << "set xlabel 'ms since the upgrade began'\nset ylabel 'ops / 5 ms'\nset grid\n"
       << "set arrow from 0, graph 0 to 0, graph 1 nohead lc rgb 'red'\n"
       << "plot '" << o.out
       << "/createdel.csv' using 1:2 with steps title 'create/write/close/unlink, 1 thread'\n"
       << "plot '" << o.out << "/fsync.csv' using 1:2 with steps title 'write 4K + fsync, "
       << o.threads << " threads'\n"
       << "unset multiplot\n";
    gp.close();
    if (sh("gnuplot " + q(o.out + "/timeline.gp") + " 2>/dev/null") == 0) {
      std::printf("plot: %s/timeline.png\n", o.out.c_str());
    }
  }
  std::printf("%s\n", doc.dump().c_str());
  return ok ? 0 : 1;
}
