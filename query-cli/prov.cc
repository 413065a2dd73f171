// prov: the provenance command. This file: argument handling and the commands that talk to
// a mount (enable/disable tracking by live upgrade, read the raw log). Exit codes: 0 ok,
// 1 nothing found / refused, 2 usage, 3 a mount or database could not be used.
#include <limits.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bento/lineage/database.h"
#include "control_client.h"
#include "control_registry.h"
#include "lineage_query.h"
#include "provlog_reader.h"
#include "record_format.h"

namespace {

using nlohmann::json;

constexpr int kOk = 0, kNothing = 1, kUsage = 2, kUnavailable = 3;

const char kUsageText[] =
    "usage: prov enable MOUNTPOINT [--module PATH] [--json]\n"
    "       prov disable MOUNTPOINT [--module PATH] [--json]\n"
    "       prov log MOUNTPOINT [--follow] [--json] [--from OFFSET] [--ack]\n"
    "       prov log --file RAWLOG [--json]\n"
    "       prov why PATH [--depth N] [--json] [--db DB]\n"
    "\n"
    "  enable   switch provenance tracking on by live-upgrading the mount's Bento-fs into\n"
    "           Bento-prov (no unmount; applications only see a pause, which is printed)\n"
    "  disable  switch it off again (live upgrade back to plain Bento-fs)\n"
    "  log      print the raw provenance log records (root only). --follow waits for more;\n"
    "           --ack acknowledges what was printed, freeing log space: use it only when no\n"
    "           collector reads the log, or the collector will miss those records\n"
    "  why      backward lineage of a file: which process wrote it, running what, started\n"
    "           by whom, from which inputs, recursively (from provd's database)\n";

int fail(int code, const std::string& msg) {
  std::fprintf(stderr, "prov: %s\n", msg.c_str());
  return code;
}

std::string self_dir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  buf[n] = '\0';
  std::string p = buf;
  return p.substr(0, p.rfind('/'));
}

std::string default_module(bool tracking) {
  const char* env = std::getenv(tracking ? "BENTO_PROV_MODULE" : "BENTO_FS_MODULE");
  if (env != nullptr && *env != '\0') return env;
  return self_dir() + "/../modules/" + (tracking ? "bento_prov.so" : "bento_fs.so");
}

// Asks the mount's host; *reply is the parsed object.
int control(const std::string& mount, const json& req, std::string* mp, json* reply) {
  std::string socket;
  if (!bento::host::find_mount_socket(mount, mp, &socket))
    return fail(kUnavailable, "no bento mount at " + mount + " (mounted with bentofs?)");
  auto r = bento::host::control_call(socket, req.dump());
  if (r.error == bento::host::ControlCallError::kNotRunning)
    return fail(kUnavailable, "no bento mount at " + mount + " (bentofs is not running)");
  if (r.error != bento::host::ControlCallError::kNone) {
    if (geteuid() != 0) return fail(kUnavailable, "talking to " + mount + " needs root");
    return fail(kUnavailable, r.message);
  }
  *reply = json::parse(r.reply, nullptr, false);
  if (!reply->is_object()) return fail(kUnavailable, "malformed reply from bentofs: " + r.reply);
  return kOk;
}

int cmd_switch(const std::string& mount, bool enable, std::string module, bool as_json) {
  if (module.empty()) module = default_module(enable);
  char real[PATH_MAX];
  if (realpath(module.c_str(), real) == nullptr)
    return fail(kUnavailable, "module " + module + ": " + std::strerror(errno));
  std::string mp;
  json st;
  if (int rc = control(mount, {{"cmd", "status"}}, &mp, &st); rc != kOk) return rc;
  std::string current = st.contains("module") ? st["module"].value("name", "") : "";
  if (current != "bento-fs" && current != "bento-prov")
    return fail(kNothing, mp + " runs " + (current.empty() ? "an unknown module" : current) +
                              ", not Bento-fs: provenance tracking needs Bento-fs");
  if ((current == "bento-prov") == enable) {
    return fail(kNothing, std::string("tracking is already ") + (enable ? "enabled" : "disabled") +
                              " on " + mp);
  }
  json r;
  if (int rc = control(mount, {{"cmd", "upgrade"}, {"module", std::string(real)}}, &mp, &r);
      rc != kOk) {
    return rc;
  }
  if (as_json) std::printf("%s\n", r.dump().c_str());
  if (!r.value("ok", false)) {
    return fail(kNothing, std::string("could not ") + (enable ? "enable" : "disable") +
                              " tracking on " + mp + ": " +
                              r.value("error", std::string("unknown error")) +
                              " (the mount keeps running unchanged)");
  }
  if (!as_json) {
    std::printf("tracking %s on %s in %.3f ms (pause; waited %.3f ms for in-flight calls)\n",
                enable ? "enabled" : "disabled", mp.c_str(), r.value("pause_us", 0.0) / 1000.0,
                r.value("wait_us", 0.0) / 1000.0);
  }
  return kOk;
}

// The absolute path of PATH, even when it no longer exists (its parent's real path).
std::string absolute_path(const std::string& p) {
  char real[PATH_MAX];
  if (realpath(p.c_str(), real) != nullptr) return real;
  std::string dir = p.find('/') == std::string::npos ? "." : p.substr(0, p.rfind('/'));
  if (dir.empty()) dir = "/";
  std::string base = p.substr(p.rfind('/') + 1);
  if (realpath(dir.c_str(), real) != nullptr) return std::string(real) + "/" + base;
  return p;
}

int cmd_why(const std::string& path, int depth, bool as_json, const std::string& db_path,
            bool no_color) {
  std::string err;
  auto db =
      bento::lineage::Database::open(db_path, bento::lineage::Database::Mode::kReadOnly, &err);
  if (!db) return fail(kUnavailable, err);
  bool color = !as_json && !no_color && isatty(1) && std::getenv("NO_COLOR") == nullptr;
  auto r = prov_cli::why(*db, absolute_path(path), depth, color);
  if (!r.found) return fail(kNothing, r.message);
  if (as_json)
    std::printf("%s\n", r.graph.dump(1).c_str());
  else
    std::fputs(r.tree.c_str(), stdout);
  return kOk;
}

volatile std::sig_atomic_t g_stop = 0;

int cmd_log(const std::string& mount, const std::string& file, bool follow, bool as_json,
            bool from_set, uint64_t from, bool ack) {
  bento::provlog::Reader reader;
  std::string err;
  if (!file.empty() ? !reader.open_file(file, &err) : !reader.open_mount(mount, &err))
    return fail(kUnavailable, err);
  // What the fs has not committed yet is not readable: commit it now, so the output is
  // complete up to this moment.
  if (file.empty() && !reader.sync(&err)) return fail(kUnavailable, err);
  uint64_t cursor = from;
  if (!from_set && file.empty()) {
    auto info = reader.info(&err);
    if (info.empty()) return fail(kUnavailable, err);
    cursor = info["head"];
  }
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  size_t total = 0, malformed = 0;
  while (!g_stop) {
    size_t n = 0;
    bool ok = reader.read(
        &cursor,
        [&](const bentofs::prov::Record& r, uint64_t off) {
          if (as_json)
            std::printf("%s\n", prov_cli::record_json(r, off).dump().c_str());
          else
            std::printf("%s\n", prov_cli::record_text(r).c_str());
        },
        [&](uint64_t off, const std::string& why) {
          malformed++;
          std::fprintf(stderr, "prov: skipping a malformed record at offset %llu: %s\n",
                       static_cast<unsigned long long>(off), why.c_str());
        },
        &n, &err);
    std::fflush(stdout);
    if (!ok) return fail(kUnavailable, err);
    total += n;
    if (ack && n > 0 && !reader.ack(cursor, &err)) return fail(kUnavailable, err);
    if (n == 0) {
      if (!follow || !file.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  if (total == 0 && !follow) {
    std::fprintf(stderr, "prov: no records%s\n", malformed ? " (only malformed ones)" : "");
    return kNothing;
  }
  return malformed ? kNothing : kOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs(kUsageText, args.empty() ? stderr : stdout);
    return args.empty() ? kUsage : kOk;
  }
  const std::string cmd = args[0];
  std::vector<std::string> pos;
  bool as_json = false, follow = false, ack = false, from_set = false, no_color = false;
  std::string module, file, db_path = bento::lineage::Database::default_path();
  int depth = 6;
  uint64_t from = 0;
  for (size_t i = 1; i < args.size(); i++) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string* { return i + 1 < args.size() ? &args[++i] : nullptr; };
    if (a == "--json") {
      as_json = true;
    } else if (a == "--follow" || a == "-f") {
      follow = true;
    } else if (a == "--ack") {
      ack = true;
    } else if (a == "--no-color") {
      no_color = true;
    } else if (a == "--db" || a == "--depth") {
      const std::string* v = value();
      if (v == nullptr) return fail(kUsage, a + " needs a value");
      if (a == "--db") db_path = *v;
      if (a == "--depth") {
        depth = std::atoi(v->c_str());
        if (depth < 1) return fail(kUsage, "--depth needs a positive number");
      }
    } else if (a == "--module" || a == "--file" || a == "--from") {
      const std::string* v = value();
      if (v == nullptr) return fail(kUsage, a + " needs a value");
      if (a == "--module") module = *v;
      if (a == "--file") file = *v;
      if (a == "--from") {
        char* end = nullptr;
        from = std::strtoull(v->c_str(), &end, 10);
        if (end == v->c_str() || *end != '\0') return fail(kUsage, "--from needs a byte offset");
        from_set = true;
      }
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsageText, stdout);
      return kOk;
    } else if (!a.empty() && a[0] == '-') {
      return fail(kUsage, "unknown option " + a + "\n" + kUsageText);
    } else {
      pos.push_back(a);
    }
  }
  if (cmd == "enable" || cmd == "disable") {
    if (pos.size() != 1) return fail(kUsage, cmd + " needs a MOUNTPOINT\n" + kUsageText);
    return cmd_switch(pos[0], cmd == "enable", module, as_json);
  }
  if (cmd == "why") {
    if (pos.size() != 1) return fail(kUsage, "why needs a PATH\n" + std::string(kUsageText));
    return cmd_why(pos[0], depth, as_json, db_path, no_color);
  }
  if (cmd == "log") {
    if (pos.size() != (file.empty() ? 1u : 0u))
      return fail(kUsage, "log needs a MOUNTPOINT (or --file RAWLOG)\n" + std::string(kUsageText));
    return cmd_log(file.empty() ? pos[0] : "", file, follow, as_json, from_set, from, ack);
  }
  return fail(kUsage, "unknown command " + cmd + "\n" + kUsageText);
}
