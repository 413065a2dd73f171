// prov: the provenance command. This file: argument handling and the commands that talk to
// a mount (enable/disable tracking by live upgrade, read the raw log). Exit codes: 0 ok,
// 1 nothing found / refused, 2 usage, 3 a mount or database could not be used.
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bento/lineage/database.h"
#include "control_client.h"
#include "control_registry.h"
#include "dot_export.h"
#include "export_stream.h"
#include "json_text.h"
#include "kernel_upgrade.h"
#include "lineage_query.h"
#include "prov_json.h"
#include "provlog_reader.h"
#include "record_format.h"
#include "time_arg.h"
#include "wall_clock.h"

namespace {

using nlohmann::json;

constexpr int kOk = 0, kNothing = 1, kUsage = 2, kUnavailable = 3;

const char kUsageText[] =
    "usage: prov enable MOUNTPOINT [--module PATH] [--json]\n"
    "       prov disable MOUNTPOINT [--module PATH] [--json]\n"
    "       prov log MOUNTPOINT [--follow] [--json] [--from OFFSET] [--ack]\n"
    "       prov log --file RAWLOG [--json]\n"
    "       prov why PATH [--depth N] [--all] [--runtime-prefix P]...\n"
    "                [--json | --format native|prov-json|dot] [--db DB]\n"
    "       prov impact PATH [--depth N] [--json | --format ...] [--db DB]\n"
    "       prov process PID [--start TIME | --all-with-pid] [--json] [--db DB]\n"
    "       prov window SINCE [UNTIL] [--json] [--db DB]\n"
    "       prov export [--path PATH | --pid PID [--start T | --all-with-pid] |\n"
    "                   --since T [--until T]] [--depth N] [--all]\n"
    "                   [--format native|prov-json|dot] [-o FILE] [--db DB]\n"
    "       prov status [--json] [--db DB]\n"
    "       prov check [--db DB]\n"
    "\n"
    "  enable   switch provenance tracking on by live-upgrading the mount's Bento-fs into\n"
    "           Bento-prov (no unmount; applications only see a pause, which is printed)\n"
    "  disable  switch it off again (live upgrade back to plain Bento-fs)\n"
    "  log      print the raw provenance log records (root only). --follow waits for more;\n"
    "           --ack acknowledges what was printed, freeing log space: use it only when no\n"
    "           collector reads the log, or the collector will miss those records\n"
    "  why      backward lineage of a file: which process wrote it, running what, started\n"
    "           by whom, from which inputs read before it wrote, recursively (query-cli/\n"
    "           LINEAGE.md). Runtime reads (libraries, interpreter modules, the program's\n"
    "           own files, shared configuration) are counted, not listed: --all lists\n"
    "           them and every process; --runtime-prefix P folds reads under P too.\n"
    "           --depth N: process hops back (default 12, searched deeper while the\n"
    "           answer is cut and small, up to 96); an answer the bound cut short says\n"
    "           where (…) and ends with \"(incomplete: ...)\"\n"
    "  impact   forward lineage: every file derived from any version of PATH\n"
    "           (--depth default 6, deepened the same way)\n"
    "  process  the latest process with PID (--start: the one started then, --all-with-pid:\n"
    "           every one): programs, parent, children, reads, writes, other calls\n"
    "  window   what happened between SINCE and UNTIL (default: now), in time order\n"
    "  export   the graph around a path, a pid or a time window (default: all of it) as\n"
    "           native JSON (query-cli/JSON.md), W3C PROV-JSON or Graphviz DOT; whole-graph\n"
    "           and window exports stream in bounded memory\n"
    "  check    SQLite's full integrity check of the lineage database (exit 3 if damaged)\n"
    "  status   is provd collecting: probes, events/s, lost events, log lag (live), records a\n"
    "           full log could not take and the gaps they left, database size\n"
    "\n"
    "Times: RFC 3339 (2026-12-01T21:05:00Z, 2026-12-01T22:05:00+01:00), local\n"
    "'2026-12-01 21:05:00', a time of day as the answers print it (21:05:00.250, UTC, its\n"
    "latest occurrence), relative (-90s, -10m, -2h, -1d) or 'now'.\n"
    "Exit codes: 0 ok, 1 nothing found or refused, 2 usage, 3 mount/database unavailable.\n";

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
  auto r = bento::host::control_call(socket, bento::to_json_text(req));
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

// A kernel mount (bento_core.ko): the upgrade ioctl to the loaded module registered as
// bento_prov (enable) or bento (disable); --module may name another fs type or its .ko.
int switch_kernel(const std::string& mp, bool enable, std::string module, bool as_json) {
  if (module.empty()) module = enable ? "bento_prov" : "bento";
  auto r = bento::host::kernel_upgrade(mp, module);
  if (as_json) {
    std::printf("%s\n", bento::to_json_text(json{{"ok", r.ok},
                                                 {"kernel", true},
                                                 {"from", r.from},
                                                 {"to", r.to},
                                                 {"rolled_back", r.rolled_back},
                                                 {"error", r.message},
                                                 {"pause_us", r.pause_ns / 1000.0},
                                                 {"wait_us", r.wait_ns / 1000.0}})
                            .c_str());
  }
  if (!r.ok) {
    return fail(kNothing, std::string("could not ") + (enable ? "enable" : "disable") +
                              " tracking on " + mp + ": " + r.message +
                              " (the mount keeps running unchanged)");
  }
  if (!as_json) {
    std::printf("tracking %s on %s in %.3f ms (pause; waited %.3f ms for in-flight calls)\n",
                enable ? "enabled" : "disabled", mp.c_str(), r.pause_ns / 1e6, r.wait_ns / 1e6);
  }
  return kOk;
}

int cmd_switch(const std::string& mount, bool enable, std::string module, bool as_json) {
  std::string kmp, ktype;
  if (bento::host::find_kernel_mount(mount, &kmp, &ktype))
    return switch_kernel(kmp, enable, module, as_json);
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
  if (as_json) std::printf("%s\n", bento::to_json_text(r).c_str());
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

// The absolute path of PATH, even when it (or its directory) no longer exists: symlinks
// resolved in the part that exists, the rest normalized ("/x", "gone/dir/out", "a/../b").
std::string absolute_path(const std::string& p) {
  std::error_code ec;
  std::filesystem::path abs =
      std::filesystem::weakly_canonical(std::filesystem::absolute(p, ec), ec);
  if (ec) return p;
  std::string s = abs.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

std::unique_ptr<bento::lineage::Database> open_db(const std::string& path, int* rc) {
  std::string err;
  auto db = bento::lineage::Database::open(path, bento::lineage::Database::Mode::kReadOnly, &err);
  if (!db) *rc = fail(kUnavailable, err);
  return db;
}

int print_result(const prov_cli::QueryResult& r, bool as_json) {
  if (!r.found) return fail(kNothing, r.message);
  if (as_json)
    std::printf("%s\n", bento::to_json_text(r.graph, 1).c_str());
  else
    std::fputs(r.text.c_str(), stdout);
  return kOk;
}

struct QueryOptions {
  bool as_json = false;
  std::string format;  // why/impact: native (= --json), prov-json or dot instead of text
  bool color = false;
  std::string db_path;
  prov_cli::LineageOptions lineage;
  prov_cli::PidSelector pid;
};

int cmd_lineage(const std::string& cmd, const std::string& path, QueryOptions& o) {
  if (path.empty()) return fail(kUsage, cmd + " needs a path, not an empty one");
  int rc = kOk;
  auto db = open_db(o.db_path, &rc);
  if (!db) return rc;
  o.lineage.color = o.color;
  o.lineage.graph = o.as_json || !o.format.empty();
  o.lineage.text = !o.lineage.graph;
  auto r = cmd == "why" ? prov_cli::why(*db, absolute_path(path), o.lineage)
                        : prov_cli::impact(*db, absolute_path(path), o.lineage);
  if (r.found && o.format == "dot") {
    std::fputs(prov_cli::to_dot(r.graph).c_str(), stdout);
    return kOk;
  }
  if (r.found && o.format == "prov-json") {
    std::printf("%s\n", bento::to_json_text(prov_cli::to_prov_json(r.graph), 1).c_str());
    return kOk;
  }
  return print_result(r, o.as_json || o.format == "native");
}

bool parse_pid(const std::string& text, int64_t* pid) {
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || v < 0) return false;
  *pid = v;
  return true;
}

int cmd_process(const std::string& pid_text, QueryOptions& o) {
  if (!parse_pid(pid_text, &o.pid.pid))
    return fail(kUsage, "process needs a numeric PID, not '" + pid_text + "'");
  // A listing: every process that had the pid, newest first, unless --start picks one.
  if (o.pid.start_ns == 0) o.pid.all = true;
  int rc = kOk;
  auto db = open_db(o.db_path, &rc);
  if (!db) return rc;
  return print_result(prov_cli::process(*db, o.pid, o.color), o.as_json);
}

int cmd_window(const std::vector<std::string>& pos, const QueryOptions& o) {
  int64_t since = 0, until = std::numeric_limits<int64_t>::max();
  std::string err;
  if (!prov_cli::parse_time_arg(pos[0], &since, &err)) return fail(kUsage, err);
  if (pos.size() > 1 && !prov_cli::parse_time_arg(pos[1], &until, &err)) return fail(kUsage, err);
  if (until < since) return fail(kUsage, "UNTIL is before SINCE");
  int rc = kOk;
  auto db = open_db(o.db_path, &rc);
  if (!db) return rc;
  return print_result(prov_cli::window(*db, since, until, o.color), o.as_json);
}

// --path and --pid exports are bounded by their query; the whole graph and time windows
// stream (export_stream.h).
int cmd_export(prov_cli::ExportScope scope, bool window, const std::string& format,
               const std::string& out_path, QueryOptions& o) {
  prov_cli::ExportFormat f;
  if (format == "native")
    f = prov_cli::ExportFormat::kNative;
  else if (format == "prov-json")
    f = prov_cli::ExportFormat::kProvJson;
  else if (format == "dot")
    f = prov_cli::ExportFormat::kDot;
  else
    return fail(kUsage, "--format is native, prov-json or dot, not '" + format + "'");
  int rc = kOk;
  auto db = open_db(o.db_path, &rc);
  if (!db) return rc;
  std::FILE* out = stdout;
  std::string tmp;
  if (!out_path.empty() && out_path != "-") {
    tmp = out_path + ".part";
    out = std::fopen(tmp.c_str(), "w");
    if (out == nullptr)
      return fail(kUnavailable, "could not write " + out_path + ": " + std::strerror(errno));
  }
  auto finish = [&](bool ok, const std::string& err) {
    if (out != stdout) {
      ok = std::fclose(out) == 0 && ok;
      if (ok && std::rename(tmp.c_str(), out_path.c_str()) != 0) ok = false;
      if (!ok) std::remove(tmp.c_str());
    }
    return ok ? kOk
              : fail(kUnavailable, "could not write " +
                                       (out_path.empty() ? std::string("the export") : out_path) +
                                       (err.empty() ? "" : ": " + err));
  };
  if (scope.path.empty() && scope.pid.pid < 0) {
    prov_cli::StreamScope ss;
    ss.window = window;
    ss.since_ns = scope.since_ns;
    ss.until_ns = scope.until_ns;
    std::string err;
    bool ok = false;
    try {
      ok = prov_cli::stream_export(*db, f, ss, out, &err);
    } catch (...) {
      finish(false, "");
      throw;
    }
    return finish(ok, err);
  }
  auto r = prov_cli::export_graph(*db, scope, o.lineage);
  if (!r.found) {
    finish(false, "");
    return fail(kNothing, r.message);
  }
  std::string text = f == prov_cli::ExportFormat::kDot ? prov_cli::to_dot(r.graph)
                     : f == prov_cli::ExportFormat::kProvJson
                         ? bento::to_json_text(prov_cli::to_prov_json(r.graph), 1) + "\n"
                         : bento::to_json_text(r.graph, 1) + "\n";
  bool ok = std::fwrite(text.data(), 1, text.size(), out) == text.size();
  return finish(ok, ok ? "" : std::strerror(errno));
}

uint64_t file_size(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, u++;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

// Fields of provd's status row, tolerant of what an older provd (or a damaged row) left:
// a missing, null or mistyped field reads as its default.
int64_t num(const json& j, const char* key, int64_t def = 0) {
  if (!j.is_object()) return def;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : def;
}
double real(const json& j, const char* key) {
  if (!j.is_object()) return 0.0;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}
const json& sub(const json& j, const char* key) {
  static const json empty = json::object();
  if (!j.is_object()) return empty;
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}

// SQLite's full integrity check: every page, index and constraint. Queries already fail
// with exit 3 on damage they meet; this looks everywhere, for a user who wants to be sure.
int cmd_check(const QueryOptions& o) {
  std::string err;  // opened without the quick check of every read-only open: all problems
  auto db = bento::lineage::Database::open(o.db_path, bento::lineage::Database::Mode::kReadOnly,
                                           &err, /*precheck=*/false);
  if (!db) return fail(kUnavailable, err);
  std::vector<std::string> problems;
  bento::lineage::Stmt& q = db->cached("PRAGMA integrity_check(100)");
  while (q.step())
    if (std::string line = q.text(0); line != "ok") problems.push_back(line);
  q.reset();
  if (problems.empty()) {
    std::printf("%s: ok\n", o.db_path.c_str());
    return kOk;
  }
  std::string msg = o.db_path + " is damaged (" + std::to_string(problems.size()) +
                    (problems.size() >= 100 ? "+" : "") + " problems):";
  for (const auto& p : problems) msg += "\n  " + p;
  return fail(kUnavailable, msg);
}

// provd writes its state into the database's meta table each round (collector/provd.cc);
// each mount's log is asked directly, now (root): its lag is live, not provd's last figure.
int cmd_status(const QueryOptions& o) {
  int rc = kOk;
  auto db = open_db(o.db_path, &rc);
  if (!db) return rc;
  json st = json::object();
  {
    bento::lineage::Stmt q(db->handle(), "SELECT value FROM meta WHERE key = 'provd_status'");
    if (q.step() && !q.is_null(0)) st = json::parse(q.text(0), nullptr, false);
    if (!st.is_object()) st = json::object();
  }
  const int64_t now_ns = bento::clock_ns(CLOCK_REALTIME);
  const int64_t pid = num(st, "pid");
  const double age_s = (now_ns - num(st, "updated_wall_ns")) / 1e9;
  const bool running =
      pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) && age_s < 30;
  // provd's view of each mount: connected, and when its stored cursor last moved.
  std::map<std::string, json> health;
  if (auto it = st.find("mount_health"); it != st.end() && it->is_array())
    for (const json& h : *it)
      if (h.is_object() && h.contains("path") && h["path"].is_string())
        health[h["path"].get<std::string>()] = h;
  json out = {{"format", "bento-prov"},
              {"version", 1},
              {"query", "status"},
              {"database", o.db_path},
              {"database_bytes", file_size(o.db_path) + file_size(o.db_path + "-wal")},
              {"schema_version", db->schema_version()},
              {"provd", {{"running", running}, {"pid", pid}, {"seconds_since_update", age_s}}},
              {"probes", sub(st, "probes")},
              {"events_per_s", real(st, "events_per_s")},
              {"sources", json::array()}};
  bento::lineage::Stmt q(db->handle(),
                         "SELECT name, kind, cursor, records, malformed, lost FROM sources "
                         "ORDER BY id");
  while (q.step()) {
    json src = {{"name", q.text(0)},
                {"kind", q.text(1)},
                {"records", q.int64(3)},
                {"malformed", q.int64(4)},
                {"lost", q.int64(5)}};
    if (q.text(1) == "fs") {
      const uint64_t cursor = static_cast<uint64_t>(q.int64(2));
      src["cursor"] = cursor;
      bento::provlog::Reader reader;
      std::string err;
      if (reader.open_mount(q.text(0), &err)) {
        auto info = reader.info(&err);
        if (!info.empty()) {
          // The log's end as of now (durable: what a reader can read), minus what the
          // database holds. (A cursor below the head: records acknowledged elsewhere.)
          const uint64_t end = info.count("durable") ? info["durable"] : info["tail"];
          const uint64_t from = std::max(cursor, info["head"]);
          src["log_head"] = info["head"];
          src["log_tail"] = end;
          src["lag_bytes"] = end > from ? end - from : 0;
          src["log_refused"] = info["refused"];
          src["log_gap_pending"] = info["gap_records"];
          src["log_gap_pending_mutating"] = info["gap_mutating"];
          src["tracking"] = info["tracking"] != 0;
        }
      } else {
        src["log_error"] = err;
      }
      {
        bento::lineage::Stmt g(db->handle(),
                               "SELECT COUNT(*), COALESCE(SUM(g.records), 0) FROM gaps g JOIN "
                               "sources s ON s.id = g.source_id WHERE s.name = ?");
        g.bind(1, q.text(0));
        if (g.step()) src["gaps"] = {{"count", g.int64(0)}, {"records", g.int64(1)}};
      }
      // Stalled: records wait in the log and provd's stored cursor has not moved for 5 s.
      const json& h = health.count(q.text(0)) ? health[q.text(0)] : sub(st, "mount_health");
      const bool connected =
          !h.contains("connected") || !h["connected"].is_boolean() || h["connected"].get<bool>();
      const int64_t progress = num(h, "progress_wall_ns", num(st, "updated_wall_ns"));
      src["provd_connected"] = connected;
      src["stalled"] = running && src.value("lag_bytes", 0ULL) > 0 &&
                       (!connected || now_ns - progress > 5000000000LL);
    }
    out["sources"].push_back(src);
  }
  {
    bento::lineage::Stmt n(db->handle(),
                           "SELECT (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM "
                           "activities), (SELECT COUNT(*) FROM entities)");
    if (n.step())
      out["rows"] = {{"events", n.int64(0)}, {"activities", n.int64(1)}, {"entities", n.int64(2)}};
  }
  if (o.as_json) {
    std::printf("%s\n", bento::to_json_text(out, 1).c_str());
    return running ? kOk : kNothing;
  }
  std::string provd = "never ran on this database";
  if (running)
    provd = "running (pid " + std::to_string(pid) + ")";
  else if (pid > 0)
    provd = "not running (last seen " + std::to_string(static_cast<int64_t>(age_s)) + " s ago)";
  std::printf("provd:     %s\n", provd.c_str());
  const json& pr = out["probes"];
  if (pr.is_object() && pr.value("loaded", json(false)).is_boolean() &&
      pr.value("loaded", json(false)).get<bool>()) {
    std::printf("probes:    loaded, %llu events, %llu lost",
                static_cast<unsigned long long>(num(pr, "events")),
                static_cast<unsigned long long>(num(pr, "lost")));
    // Events of undecided processes provd had no room to hold: a process kept after
    // losing some is marked in every answer that shows it.
    if (num(pr, "dropped_waiting") > 0)
      std::printf(", %llu dropped while waiting (memory cap; answers mark who lost them)",
                  static_cast<unsigned long long>(num(pr, "dropped_waiting")));
    std::printf("\n");
  } else {
    std::printf("probes:    not loaded%s\n", pid > 0 ? " (provd ran with --no-probes)" : "");
  }
  std::printf("rate:      %.0f events/s over the last round\n", real(out, "events_per_s"));
  for (const json& s : out["sources"]) {
    if (s.value("kind", "") != "fs") continue;
    std::printf("mount:     %s: %lld records, %lld malformed", s.value("name", "").c_str(),
                static_cast<long long>(num(s, "records")),
                static_cast<long long>(num(s, "malformed")));
    if (s.contains("lag_bytes")) {
      std::printf(", log lag %s%s", human_bytes(static_cast<double>(num(s, "lag_bytes"))).c_str(),
                  s.value("tracking", false) ? "" : " (tracking is off)");
      if (s.value("stalled", false))
        std::printf(", STALLED (%s)", s.value("provd_connected", true)
                                          ? "provd's cursor has not moved for 5 s"
                                          : "provd lost the mount");
      else if (!running && num(s, "lag_bytes") > 0)
        std::printf(" (not being collected)");
    } else {
      std::printf(" (log: %s)", s.value("log_error", "").c_str());
    }
    std::printf("\n");
    // What a full log cost: records it could not take, and the gaps they left.
    std::string line = "           ";
    if (s.contains("log_refused")) {
      line += std::to_string(num(s, "log_refused")) + " records not written (log full)";
      if (num(s, "log_gap_pending") > 0)
        line += ", " + std::to_string(num(s, "log_gap_pending")) + " (" +
                std::to_string(num(s, "log_gap_pending_mutating")) +
                " changes) not yet marked: the log has no room";
      line += "; ";
    }
    const json& g = sub(s, "gaps");
    line += std::to_string(num(g, "count")) + " gaps in the lineage (" +
            std::to_string(num(g, "records")) + " records)";
    std::printf("%s\n", line.c_str());
  }
  std::printf("database:  %s, %s (%lld events, %lld activities, %lld file versions)\n",
              o.db_path.c_str(), human_bytes(real(out, "database_bytes")).c_str(),
              static_cast<long long>(num(sub(out, "rows"), "events")),
              static_cast<long long>(num(sub(out, "rows"), "activities")),
              static_cast<long long>(num(sub(out, "rows"), "entities")));
  return running ? kOk : kNothing;
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
            std::printf("%s\n", bento::to_json_text(prov_cli::record_json(r, off)).c_str());
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

int run(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs(kUsageText, args.empty() ? stderr : stdout);
    return args.empty() ? kUsage : kOk;
  }
  const std::string cmd = args[0];
  std::vector<std::string> pos;
  bool as_json = false, follow = false, ack = false, from_set = false, no_color = false;
  bool format_set = false;
  std::string module, file, db_path = bento::lineage::Database::default_path();
  std::string format = "native", out_path, since_arg, until_arg, start_arg;
  prov_cli::ExportScope scope;
  QueryOptions o;
  int depth = 0;  // the query's default
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
    } else if (a == "--all") {
      o.lineage.all = true;
    } else if (a == "--all-with-pid") {
      scope.pid.all = true;
    } else if (a == "--runtime-prefix" || a == "--start") {
      const std::string* v = value();
      if (v == nullptr) return fail(kUsage, a + " needs a value");
      if (a == "--runtime-prefix") o.lineage.rule.add_prefix(*v);
      if (a == "--start") start_arg = *v;
    } else if (a == "--db" || a == "--depth") {
      const std::string* v = value();
      if (v == nullptr) return fail(kUsage, a + " needs a value");
      if (a == "--db") db_path = *v;
      if (a == "--depth") {
        depth = std::atoi(v->c_str());
        if (depth < 1) return fail(kUsage, "--depth needs a positive number");
      }
    } else if (a == "--path" || a == "--pid" || a == "--since" || a == "--until" ||
               a == "--format" || a == "-o") {
      const std::string* v = value();
      if (v == nullptr || v->empty()) return fail(kUsage, a + " needs a value");
      if (a == "--path") scope.path = absolute_path(*v);
      if (a == "--since") since_arg = *v;
      if (a == "--until") until_arg = *v;
      if (a == "--format") format = *v, format_set = true;
      if (a == "-o") out_path = *v;
      if (a == "--pid" && !parse_pid(*v, &scope.pid.pid))
        return fail(kUsage, "--pid needs a process id");
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
    } else if (!a.empty() && a[0] == '-' && !prov_cli::is_relative_time(a)) {
      return fail(kUsage, "unknown option " + a + "\n" + kUsageText);
    } else {
      pos.push_back(a);
    }
  }
  if (cmd == "enable" || cmd == "disable") {
    if (pos.size() != 1) return fail(kUsage, cmd + " needs a MOUNTPOINT\n" + kUsageText);
    return cmd_switch(pos[0], cmd == "enable", module, as_json);
  }
  o.as_json = as_json;
  o.color = !as_json && !no_color && isatty(1) && std::getenv("NO_COLOR") == nullptr;
  o.lineage.depth = depth;
  o.db_path = db_path;
  if (!start_arg.empty()) {
    std::string err;
    if (!prov_cli::parse_time_arg(start_arg, &scope.pid.start_ns, &err)) return fail(kUsage, err);
  }
  o.pid.start_ns = scope.pid.start_ns;
  o.pid.all = scope.pid.all;
  if (cmd == "why" || cmd == "impact") {
    if (pos.size() != 1) return fail(kUsage, cmd + " needs a PATH\n" + kUsageText);
    if (format != "native" && format != "prov-json" && format != "dot")
      return fail(kUsage, "--format is native, prov-json or dot, not '" + format + "'");
    o.format = format_set ? format : "";
    return cmd_lineage(cmd, pos[0], o);
  }
  if (cmd == "process") {
    if (pos.size() != 1) return fail(kUsage, "process needs a PID\n" + std::string(kUsageText));
    return cmd_process(pos[0], o);
  }
  if (cmd == "window") {
    if (pos.empty() || pos.size() > 2)
      return fail(kUsage, "window needs SINCE [UNTIL]\n" + std::string(kUsageText));
    return cmd_window(pos, o);
  }
  if (cmd == "export") {
    if (!pos.empty())
      return fail(kUsage, "export takes no positional arguments\n" + std::string(kUsageText));
    int selectors =
        !scope.path.empty() + (scope.pid.pid >= 0) + !(since_arg.empty() && until_arg.empty());
    if (selectors > 1) return fail(kUsage, "export takes one of --path, --pid, --since/--until");
    std::string err;
    if (!since_arg.empty() && !prov_cli::parse_time_arg(since_arg, &scope.since_ns, &err))
      return fail(kUsage, err);
    if (!until_arg.empty() && !prov_cli::parse_time_arg(until_arg, &scope.until_ns, &err))
      return fail(kUsage, err);
    return cmd_export(scope, !(since_arg.empty() && until_arg.empty()), format, out_path, o);
  }
  if (cmd == "status") {
    if (!pos.empty()) return fail(kUsage, "status takes no positional arguments");
    return cmd_status(o);
  }
  if (cmd == "check") {
    if (!pos.empty()) return fail(kUsage, "check takes no positional arguments");
    return cmd_check(o);
  }
  if (cmd == "log") {
    if (pos.size() != (file.empty() ? 1u : 0u))
      return fail(kUsage, "log needs a MOUNTPOINT (or --file RAWLOG)\n" + std::string(kUsageText));
    return cmd_log(file.empty() ? pos[0] : "", file, follow, as_json, from_set, from, ack);
  }
  return fail(kUsage, "unknown command " + cmd + "\n" + kUsageText);
}

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return run(args);
  } catch (const bento::lineage::DbError& e) {
    // A damaged or unreadable database: never an answer that silently differs.
    return fail(kUnavailable,
                std::string("the lineage database could not be read: ") + e.what() +
                    (e.corrupt() ? " (it is damaged; prov check --db DB tells more)" : ""));
  }
}
