// Shared by the live-upgrade benchmarks: clocks, percentiles, shell helpers and a bentofs
// mount in a private temp dir with its own control-socket directory.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "control_client.h"
#include "control_registry.h"

namespace bench {

inline int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Dist {
  double p50 = 0, p99 = 0, max = 0;
  size_t n = 0;
};

inline Dist dist(std::vector<double> v) {
  Dist d;
  d.n = v.size();
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return v[std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5))];
  };
  d.p50 = at(0.50);
  d.p99 = at(0.99);
  d.max = v.back();
  return d;
}

inline nlohmann::json dist_json(const Dist& d) {
  return {{"p50_ms", d.p50}, {"p99_ms", d.p99}, {"max_ms", d.max}, {"n", d.n}};
}

inline int sh(const std::string& cmd) {
  int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

inline std::string q(const std::string& s) {
  return "'" + s + "'";
}

// Gone once it is a zombie: its reaper (init) may take a while.
inline bool process_alive(long pid) {
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return false;
  char state = 'Z';
  int n = std::fscanf(f, "%*d (%*[^)]) %c", &state);
  std::fclose(f);
  return n == 1 && state != 'Z' && state != 'X';
}

inline std::string absolute(const std::string& path) {
  char* abs = realpath(path.c_str(), nullptr);
  if (abs == nullptr) return path;
  std::string r = abs;
  std::free(abs);
  return r;
}

// A bentofs mount of `module` on a fresh image (formatted by `mkfs` when given) in a
// private directory under /dev/shm, with its own BENTO_RUN_DIR. Unmounted and removed
// by the destructor, which waits for the host process to exit.
class BentoMount {
 public:
  bool mount(const std::string& bentofs, const std::string& module, const std::string& mkfs,
             int size_mb) {
    char tmpl[] = "/dev/shm/bento-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return false;
    root = tmpl;
    img = root + "/image";
    mnt = root + "/mnt";
    const std::string run = root + "/run";
    sh("mkdir -p " + q(mnt));
    setenv("BENTO_RUN_DIR", run.c_str(), 1);
    if (sh("truncate -s " + std::to_string(size_mb) + "M " + q(img)) != 0 ||
        (!mkfs.empty() && sh(q(mkfs) + " " + q(img) + " >/dev/null") != 0) ||
        sh(q(bentofs) + " " + q(img) + " " + q(mnt) + " --module " + q(module) + " >/dev/null") !=
            0) {
      return false;
    }
    mounted_ = true;
    socket = bento::host::socket_path_for(run, mnt);
    auto st = bento::host::control_call(socket, R"({"cmd":"status"})", 10000);
    host_pid = nlohmann::json::parse(st.reply, nullptr, false).value("pid", 0L);
    return true;
  }

  // Upgrades to `module`; returns the host's reply (with pause_us, wait_us) or an error.
  nlohmann::json upgrade(const std::string& module, std::string* error) const {
    auto r = bento::host::control_call(
        socket, nlohmann::json{{"cmd", "upgrade"}, {"module", module}}.dump(), 30000);
    nlohmann::json reply = nlohmann::json::parse(r.reply, nullptr, false);
    if (r.error != bento::host::ControlCallError::kNone || !reply.is_object() ||
        !reply.value("ok", false)) {
      *error = r.message + r.reply;
      return nullptr;
    }
    return reply;
  }

  ~BentoMount() {
    if (root.empty()) return;
    if (mounted_ && sh("fusermount3 -u " + q(mnt)) != 0) sh("umount -l " + q(mnt));
    for (int i = 0; i < 600 && host_pid > 0 && process_alive(host_pid); i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    sh("rm -rf " + q(root));
  }

  std::string root, img, mnt, socket;
  long host_pid = 0;

 private:
  bool mounted_ = false;
};

}  // namespace bench
