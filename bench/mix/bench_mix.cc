// bench_mix: multithreaded application-like mixes on any directory, modelled on filebench's
// personalities (the paper's varmail / fileserver / webserver), scaled for a 2-core machine.
//
//   bench_mix --dir DIR --personality varmail|fileserver|webserver|createdel
//             [--threads N] [--seconds S] [--files N] [--quick]
//
// Each personality first creates its file set (untimed), then runs its flow loop in N
// threads for S seconds and prints one JSON line: ops/s (one op = one flow step: create,
// write, append, fsync, read, stat, delete), MiB/s moved, and per-step p99 latency.
//   varmail    one directory of ~16 KiB files; loop: delete; create+append+fsync;
//              open+read+append+fsync; open+read            (mail server: fsync-heavy)
//   fileserver 20 directories of ~128 KiB files; loop: create+write whole; open+append;
//              open+read whole; delete; stat                 (bulk data, metadata)
//   webserver  one directory of ~16 KiB files + one shared log; loop: 10 x open+read whole,
//              append 16 KiB to the log, truncated every 256 MiB (read-mostly, cached)
//   createdel  every thread in its own directory: create 4 KiB, close, unlink
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string dir, personality = "varmail";
  int threads = 4;
  double seconds = 10;
  int files = 1000;
};

struct Stats {
  uint64_t ops = 0, bytes = 0, errors = 0;
  int first_errno = 0;  // errno of the first failed step (0: none, or not an errno failure)
  std::vector<double> lat_us;
};

class Mix {
 public:
  explicit Mix(const Options& o) : o_(o), buf_(1 << 20, 'm') {}

  bool prepare() {
    dirs_ = o_.personality == "fileserver" ? 20 : 1;
    if (o_.personality == "createdel") dirs_ = o_.threads;
    for (int d = 0; d < dirs_; d++) {
      if (mkdir(dir(d).c_str(), 0755) != 0 && errno != EEXIST) return false;
    }
    if (o_.personality == "createdel") return true;
    const size_t size = o_.personality == "fileserver" ? 128 * 1024 : 16 * 1024;
    for (int i = 0; i < o_.files; i++) {
      if (!write_file(path(i), size)) return false;
    }
    if (o_.personality == "webserver")
      log_fd_ = open((o_.dir + "/log").c_str(), O_CREAT | O_WRONLY | O_APPEND, 0644);
    return true;
  }

  Stats run_thread(int t) {
    Stats s;
    std::mt19937_64 rng(1234 + t);
    const auto end = Clock::now() + std::chrono::duration<double>(o_.seconds);
    auto step = [&](auto&& f) {
      auto a = Clock::now();
      errno = 0;
      bool ok = f();
      int e = errno;
      s.lat_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - a).count());
      s.ops++;
      if (!ok && s.errors++ == 0) s.first_errno = e;
    };
    auto pick = [&] { return static_cast<int>(rng() % o_.files); };
    long k = 0;
    while (Clock::now() < end) {
      k++;
      if (o_.personality == "varmail") {
        int f = pick();
        step([&] { return unlink(path(f).c_str()) == 0 || errno == ENOENT; });
        step([&] { return append_fsync(path(f), 16 * 1024, O_CREAT, s); });
        int g = pick();
        step([&] { return read_whole(path(g), s); });
        step([&] { return append_fsync(path(g), 16 * 1024, 0, s); });
        step([&] { return read_whole(path(pick()), s); });
      } else if (o_.personality == "fileserver") {
        int f = pick();
        step([&] { return unlink(path(f).c_str()) == 0 || errno == ENOENT; });
        step([&] { return write_file(path(f), 128 * 1024) && (s.bytes += 128 * 1024); });
        step([&] { return append(path(pick()), 16 * 1024, s); });
        step([&] { return read_whole(path(pick()), s); });
        step([&] {
          struct stat st;
          return stat(path(pick()).c_str(), &st) == 0 || errno == ENOENT;
        });
      } else if (o_.personality == "webserver") {
        for (int i = 0; i < 10; i++) step([&] { return read_whole(path(pick()), s); });
        step([&] {
          std::lock_guard<std::mutex> g(log_mu_);
          // Rotated like a real server's log: unbounded, a fast fs filled a 6 GiB image
          // in a 20 s run (ext4, ~200k ops/s).
          if (log_bytes_ >= kLogRotateBytes) {
            if (ftruncate(log_fd_, 0) != 0) return false;
            log_bytes_ = 0;
          }
          bool ok = write(log_fd_, buf_.data(), 16 * 1024) == 16 * 1024;
          log_bytes_ += 16 * 1024;
          s.bytes += 16 * 1024;
          return ok;
        });
      } else {  // createdel
        std::string p = dir(t) + "/c" + std::to_string(k % 256);
        step([&] { return write_file(p, 4096) && (s.bytes += 4096); });
        step([&] { return unlink(p.c_str()) == 0; });
      }
    }
    return s;
  }

  void finish() {
    if (log_fd_ >= 0) close(log_fd_);
  }

 private:
  std::string dir(int d) const { return o_.dir + "/d" + std::to_string(d); }
  std::string path(int i) const { return dir(i % dirs_) + "/f" + std::to_string(i); }

  bool write_file(const std::string& p, size_t size) {
    int fd = open(p.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) return false;
    bool ok = true;
    for (size_t off = 0; off < size && ok; off += buf_.size()) {
      size_t n = std::min(buf_.size(), size - off);
      ok = write(fd, buf_.data(), n) == static_cast<ssize_t>(n);
    }
    return close(fd) == 0 && ok;
  }
  bool append(const std::string& p, size_t size, Stats& s) {
    int fd = open(p.c_str(), O_WRONLY | O_APPEND);
    if (fd < 0) return errno == ENOENT;  // deleted by another thread meanwhile
    bool ok = write(fd, buf_.data(), size) == static_cast<ssize_t>(size);
    s.bytes += size;
    return close(fd) == 0 && ok;
  }
  bool append_fsync(const std::string& p, size_t size, int extra, Stats& s) {
    int fd = open(p.c_str(), O_WRONLY | O_APPEND | extra, 0644);
    if (fd < 0) return errno == ENOENT;
    bool ok = write(fd, buf_.data(), size) == static_cast<ssize_t>(size) && fsync(fd) == 0;
    s.bytes += size;
    return close(fd) == 0 && ok;
  }
  bool read_whole(const std::string& p, Stats& s) {
    int fd = open(p.c_str(), O_RDONLY);
    if (fd < 0) return errno == ENOENT;
    thread_local std::vector<char> rb(256 * 1024);
    ssize_t n;
    while ((n = read(fd, rb.data(), rb.size())) > 0) s.bytes += static_cast<uint64_t>(n);
    return close(fd) == 0 && n == 0;
  }

  Options o_;
  std::vector<char> buf_;
  int dirs_ = 1;
  static constexpr uint64_t kLogRotateBytes = 256ull << 20;
  int log_fd_ = -1;
  std::mutex log_mu_;
  uint64_t log_bytes_ = 0;  // written since the last rotation (guarded by log_mu_)
};

double pct(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1)))];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_mix: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--dir")
      o.dir = next();
    else if (a == "--personality")
      o.personality = next();
    else if (a == "--threads")
      o.threads = std::max(1, std::atoi(next().c_str()));
    else if (a == "--seconds")
      o.seconds = std::max(0.1, std::atof(next().c_str()));
    else if (a == "--files")
      o.files = std::max(10, std::atoi(next().c_str()));
    else if (a == "--quick") {
      o.seconds = 3;
      o.files = 300;
    } else {
      std::fprintf(
          stderr,
          "usage: bench_mix --dir DIR --personality varmail|fileserver|webserver|createdel "
          "[--threads N] [--seconds S] [--files N] [--quick]\n");
      return 2;
    }
  }
  const std::vector<std::string> known = {"varmail", "fileserver", "webserver", "createdel"};
  if (o.dir.empty() || std::find(known.begin(), known.end(), o.personality) == known.end()) {
    std::fprintf(stderr, "bench_mix: need --dir and a known --personality\n");
    return 2;
  }
  o.dir += "/mix-" + o.personality;
  if (mkdir(o.dir.c_str(), 0755) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "bench_mix: cannot create %s: %s\n", o.dir.c_str(), std::strerror(errno));
    return 1;
  }
  Mix mix(o);
  if (!mix.prepare()) {
    std::fprintf(stderr, "bench_mix: preparing the file set failed: %s\n", std::strerror(errno));
    return 1;
  }
  std::vector<Stats> stats(o.threads);
  std::vector<std::thread> th;
  auto a = Clock::now();
  for (int t = 0; t < o.threads; t++) th.emplace_back([&, t] { stats[t] = mix.run_thread(t); });
  for (auto& t : th) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - a).count();
  mix.finish();
  Stats all;
  for (auto& s : stats) {
    all.ops += s.ops;
    all.bytes += s.bytes;
    all.errors += s.errors;
    if (all.first_errno == 0) all.first_errno = s.first_errno;
    all.lat_us.insert(all.lat_us.end(), s.lat_us.begin(), s.lat_us.end());
  }
  nlohmann::json j = {{"personality", o.personality},
                      {"threads", o.threads},
                      {"seconds", secs},
                      {"ops", all.ops},
                      {"ops_per_s", all.ops / secs},
                      {"mib_per_s", all.bytes / secs / 1048576.0},
                      {"p50_us", pct(all.lat_us, 0.5)},
                      {"p99_us", pct(all.lat_us, 0.99)},
                      {"errors", all.errors}};
  if (all.errors != 0)
    j["first_error"] = all.first_errno != 0 ? std::strerror(all.first_errno) : "short read/write";
  std::printf("%s\n", j.dump().c_str());
  return all.errors == 0 ? 0 : 1;
}
