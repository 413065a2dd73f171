// provd: the collector daemon. Reads the eBPF probes and each tracked mount's provenance
// log, joins them into the lineage database (collector.h), in batched transactions; the
// log is acknowledged only after the transaction holding its records (and the cursor)
// has committed, so a crash or restart neither loses nor repeats a record.
//
//   provd [--db PATH] --mount MOUNTPOINT [--mount ...] [--no-probes] [--once]
//         [--scope relevant|all] [--keep AGE] [--max-db-size SIZE]
//
// Scope and retention (retention.h): by default processes that moved no data anyone keeps
// are dropped two minutes after they ended (--scope all keeps them); --keep 30d drops the
// audit trail (fs records, marks) older than that, --max-db-size 2G the oldest of it while
// the database is bigger. Lineage relations are never dropped by age.
//
// A mount that goes away (its host died: reads fail with ENOTCONN) is waited for: once the
// same mount point is served by a new connection (another st_dev), the log is reopened and
// reading resumes from the cursor; each transition is logged once.
//
// Runs in the foreground until SIGTERM/SIGINT, then drains what is pending and exits.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bento/lineage/database.h"
#include "bento_bpf/probes.h"
#include "collector.h"
#include "control_client.h"
#include "control_registry.h"
#include "json_text.h"
#include "provlog_reader.h"
#include "wall_clock.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;

struct Mount {
  std::string path;
  int64_t source = 0;
  uint64_t cursor = 0, last_seq = 0;
  std::unique_ptr<bento::provlog::Reader> reader;
  int64_t synced_ns = 0;  // CLOCK_MONOTONIC before the last sync of the log
  // Healing (mount_health below): the connection read from, whether it is gone, when the
  // stored cursor last moved or the log was last drained (`prov status`: stalled).
  dev_t dev = 0;
  bool down = false;
  std::string down_error;
  int64_t checked_ns = 0;
  uint64_t stored = 0;
  int64_t progress_wall_ns = 0;
  dev_t host_dev = 0;  // the connection whose host the probes were told to leave out
};

// The device of MOUNT/.bento-provlog (each FUSE connection has its own), 0 when absent.
dev_t log_dev(const std::string& path) {
  struct stat st {};
  std::string f = path + "/" + bentofs::prov::kProvLogFileName;
  return stat(f.c_str(), &st) == 0 ? st.st_dev : 0;
}

// The probes leave out the userspace host serving a mount (bentofs): its reads and writes
// of the image and of /dev/fuse are the file system's own work, which its log records as
// the callers' operations; tracing them cost every FUSE request two fd walks in the probes
// and gave the collector events it only dropped. The host is asked (its control socket's
// status) once per connection; a kernel mount has no host process (0).
long fs_host_pid(const Mount& m) {
  std::string mountpoint, socket;
  if (m.dev == 0 || !bento::host::find_mount_socket(m.path, &mountpoint, &socket)) return 0;
  auto r = bento::host::control_call(socket, R"({"cmd":"status"})", 2000);
  if (r.error != bento::host::ControlCallError::kNone) {
    std::fprintf(stderr, "provd: %s: no status from its host (%s); its I/O stays traced\n",
                 m.path.c_str(), r.message.c_str());
    return 0;
  }
  auto j = nlohmann::json::parse(r.reply, nullptr, /*allow_exceptions=*/false);
  const long pid = j.is_object() ? j.value("pid", 0L) : 0L;
  if (pid <= 0 || pid == static_cast<long>(getpid())) return 0;
  std::fprintf(stderr, "provd: %s: served by bentofs pid %ld, whose own I/O is not traced\n",
               m.path.c_str(), pid);
  return pid;
}

// After the mount came back on a new connection: its new host is left out too.
void leave_out_new_host(Mount& m, bento::bpf::Probes& probes) {
  if (m.host_dev == m.dev) return;
  m.host_dev = m.dev;
  const long pid = fs_host_pid(m);
  if (pid > 0 && !probes.ignore_tgid(static_cast<uint32_t>(pid)))
    std::fprintf(stderr, "provd: %s: cannot leave out its host (pid %ld): %s; it stays traced\n",
                 m.path.c_str(), pid, std::strerror(errno));
}

// Reopens m's log when its mount point is served by a new connection (the host died and
// the image was mounted again, or it was unmounted and mounted again). Reading resumes at
// m.cursor when the new log still holds it, else at the log's head. True when usable.
bool reconnect(Mount& m) {
  dev_t dev = log_dev(m.path);
  if (dev == 0) return !m.down;
  if (dev == m.dev && !m.down) return true;  // (a new connection may reuse the number)
  auto reader = std::make_unique<bento::provlog::Reader>();
  std::string err;
  if (!reader->open_mount(m.path, &err)) return false;
  auto info = reader->info(&err);
  if (info.empty()) return false;
  uint64_t durable = info.count("durable") ? info["durable"] : info["tail"];
  if (m.cursor < info["head"] || m.cursor > durable) {
    std::fprintf(stderr,
                 "provd: %s: mounted again, but its log does not continue at offset %llu "
                 "(head %llu, tail %llu: another image?): resuming at its head\n",
                 m.path.c_str(), static_cast<unsigned long long>(m.cursor),
                 static_cast<unsigned long long>(info["head"]),
                 static_cast<unsigned long long>(durable));
    m.cursor = info["head"];
  } else {
    std::fprintf(stderr, "provd: %s: mounted again; resuming at log offset %llu\n", m.path.c_str(),
                 static_cast<unsigned long long>(m.cursor));
  }
  m.reader = std::move(reader);
  m.dev = dev;
  m.down = false;
  m.down_error.clear();
  return true;
}

// A failed read: the mount is gone (logged once), not an error to repeat every round.
void mark_down(Mount& m, const std::string& err) {
  if (m.down) return;
  m.down = true;
  m.down_error = err;
  std::fprintf(stderr, "provd: %s: lost the mount (%s); waiting for it to come back\n",
               m.path.c_str(), err.c_str());
}

// Probe events about a tracked file wait until its log is known complete past them. The
// log serves committed records only (the fs commits every second or so), so a read that
// finds nothing proves nothing by itself; a sync commits what is pending. Sync when
// something waits, at most this often: under load, records' own times move the horizon.
// Not more often than the fs commits on its own (commit=, 1 s by default): a sync is a
// forced journal commit, and each costs the fs a quiescent window, a journal write and
// a flush, and brings the journal's next checkpoint (whose window stalls every handle)
// closer. At 200 ms, a busy createdel mix saw 23 commits in 4.5 s instead of 6
// (bench/README.md, Issue 18, third pass); events wait at most about a second longer.
constexpr int64_t kSyncEveryNs = 1'000'000'000;
// A round (poll, read the logs, commit, acknowledge) starts at most this often.
constexpr int64_t kRoundNs = 100'000'000;
// A round commits its batch only when the batch is this old (or it read this many bytes
// of a log, or provd stops): each commit writes every page the batch touched (the
// indexes' leaves are scattered) to the WAL, and per 100 ms round that was a fifth of
// provd's CPU on a createdel mix (bench/README.md, Issue 18, fourth pass). Rows become
// visible to queries, and records are acknowledged, up to this much later.
constexpr int64_t kCommitEveryNs = 500'000'000;
constexpr uint64_t kCommitLogBytes = 4u << 20;
// The nice value provd ingests at while its logs have room, and how often it looks.
constexpr int kBackgroundNice = 10;
constexpr int64_t kBacklogCheckNs = 500'000'000;
// A round that found this many probe events waiting was behind (the ring buffer holds
// 16 MiB, some 50k events): provd leaves the background.
constexpr uint64_t kBusyRoundEvents = 8192;

int usage() {
  std::fprintf(stderr,
               "usage: provd [--db PATH] --mount MOUNTPOINT [--mount ...] [--no-probes] [--once]\n"
               "             [--scope relevant|all] [--keep AGE (30d, 12h, 90m, 3600s)]\n"
               "             [--max-db-size SIZE (2G, 500M)]\n");
  return 2;
}

// "30d", "12h", "90m", "3600s" (or plain seconds) -> ns; false when it is not one.
bool parse_age(const std::string& v, uint64_t* ns) {
  char* end = nullptr;
  double n = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || n <= 0) return false;
  std::string unit = end;
  double s = unit == "d"                   ? 86400
             : unit == "h"                 ? 3600
             : unit == "m"                 ? 60
             : unit == "s" || unit.empty() ? 1
                                           : -1;
  if (s < 0) return false;
  *ns = static_cast<uint64_t>(n * s * 1e9);
  return true;
}

// "2G", "500M", "64K" or bytes -> bytes; false when it is not one.
bool parse_size(const std::string& v, uint64_t* bytes) {
  char* end = nullptr;
  double n = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || n <= 0) return false;
  std::string unit = end;
  double m = unit == "G"    ? 1073741824.0
             : unit == "M"  ? 1048576.0
             : unit == "K"  ? 1024.0
             : unit.empty() ? 1
                            : -1;
  if (m < 0) return false;
  *bytes = static_cast<uint64_t>(n * m);
  return true;
}

// The database's live pages (freed pages are reused, not returned to the file system).
uint64_t live_bytes(bento::lineage::Database& db) {
  bento::lineage::Stmt q(
      db.handle(),
      "SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count "
      "FROM pragma_freelist_count()), (SELECT page_size FROM pragma_page_size())");
  return q.step() ? static_cast<uint64_t>(q.int64(0) * q.int64(1)) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string db_path = bento::lineage::Database::default_path();
  std::vector<Mount> mounts;
  bool probes_on = true, once = false;
  bento::collector::RetentionPolicy retention;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if ((a == "--db" || a == "--mount") && i + 1 < argc) {
      std::string v = argv[++i];
      if (a == "--db") {
        db_path = v;
      } else {
        char* real = realpath(v.c_str(), nullptr);
        mounts.push_back({real != nullptr ? std::string(real) : v});
        std::free(real);
      }
    } else if ((a == "--scope" || a == "--keep" || a == "--max-db-size") && i + 1 < argc) {
      std::string v = argv[++i];
      if (a == "--scope" && (v == "all" || v == "relevant")) {
        retention.keep_everything = v == "all";
      } else if (a == "--keep" && parse_age(v, &retention.keep_ns)) {
      } else if (a == "--max-db-size" && parse_size(v, &retention.max_db_bytes)) {
      } else {
        std::fprintf(stderr, "provd: bad value for %s: %s\n", a.c_str(), v.c_str());
        return usage();
      }
    } else if (a == "--no-probes") {
      probes_on = false;
    } else if (a == "--once") {
      once = true;
    } else {
      return usage();
    }
  }
  std::string err;
  auto db =
      bento::lineage::Database::open(db_path, bento::lineage::Database::Mode::kReadWrite, &err);
  if (!db) {
    std::fprintf(stderr, "provd: %s\n", err.c_str());
    return 3;
  }
  bento::collector::Collector col(*db);
  col.set_retention(retention);
  for (auto& m : mounts) {
    m.reader = std::make_unique<bento::provlog::Reader>();
    if (!m.reader->open_mount(m.path, &err)) {
      std::fprintf(stderr, "provd: %s\n", err.c_str());
      return 3;
    }
    m.source = col.fs_source(m.path, &m.cursor, &m.last_seq);
    if (m.cursor == 0) m.cursor = m.reader->info(&err)["head"];
    m.dev = log_dev(m.path);
    m.progress_wall_ns = bento::clock_ns(CLOCK_REALTIME);
  }
  std::unique_ptr<bento::bpf::Probes> probes;
  int64_t probes_source = 0;
  if (probes_on) {
    bento::bpf::ProbeOptions o;
    o.ignore_tgids.push_back(static_cast<uint32_t>(getpid()));
    for (auto& m : mounts) {  // before the probes attach: not one event of theirs
      m.host_dev = m.dev;
      if (const long host = fs_host_pid(m); host > 0)
        o.ignore_tgids.push_back(static_cast<uint32_t>(host));
    }
    probes = bento::bpf::Probes::open(o, &err);
    if (!probes) {
      std::fprintf(stderr, "provd: %s (use --no-probes to collect file-system records only)\n",
                   err.c_str());
      return 3;
    }
    for (const auto& w : probes->warnings()) std::fprintf(stderr, "provd: probes: %s\n", w.c_str());
    probes_source = col.probes_source();
    col.set_exec_std_pipes(!probes->fd_events());
    if (probes->copy_events())
      col.copies_reported_since(static_cast<uint64_t>(bento::clock_ns(CLOCK_MONOTONIC)));
  }
  // After the probes loaded: every process started since then has a FORK event; the ones
  // before are named from /proc, and a shell that forks a pipeline and exits right after
  // "collecting" is gone before its first event is read (it was `[unknown program]`).
  col.remember_running_processes();
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::fprintf(stderr, "provd: collecting %zu mount(s)%s into %s\n", mounts.size(),
               probes ? " and the eBPF probes" : "", db_path.c_str());

  uint64_t malformed = 0;
  // What `prov status` shows: written into meta once a second, in the round's transaction.
  const int64_t started_ns = bento::clock_ns(CLOCK_REALTIME);
  int64_t status_ns = 0;
  uint64_t status_events = 0;
  auto write_status = [&](bool force) {
    const int64_t now = bento::clock_ns(CLOCK_REALTIME);
    if (!force && now - status_ns < 1000000000LL) return;
    const uint64_t events = col.records_ingested() + (probes ? probes->stats().events : 0);
    const double rate = status_ns == 0 ? 0.0 : (events - status_events) / ((now - status_ns) / 1e9);
    nlohmann::json probes_json = {{"loaded", probes != nullptr}};
    if (probes) {
      auto ps = probes->stats();
      probes_json["events"] = ps.events;
      probes_json["lost"] = ps.lost;
      probes_json["dropped_waiting"] = col.dropped_waiting();
      probes_json["warnings"] = probes->warnings();
    }
    nlohmann::json mounts_json = nlohmann::json::array();
    nlohmann::json health = nlohmann::json::array();
    for (const auto& m : mounts) {
      mounts_json.push_back(m.path);
      health.push_back({{"path", m.path},
                        {"connected", !m.down},
                        {"error", m.down_error},
                        {"cursor", m.stored},
                        {"progress_wall_ns", m.progress_wall_ns}});
    }
    col.set_meta("provd_status", bento::to_json_text(nlohmann::json{
                                     {"pid", getpid()},
                                     {"started_wall_ns", started_ns},
                                     {"updated_wall_ns", now},
                                     {"events_per_s", rate},
                                     {"fs_records", col.records_ingested()},
                                     {"malformed_probe_events", malformed},
                                     {"probes", probes_json},
                                     {"pruned", nlohmann::json::parse(col.retention_json())},
                                     {"mounts", mounts_json},
                                     {"mount_health", health}}));
    status_ns = now;
    status_events = events;
  };
  int64_t pruned_ns = 0;
  uint64_t round_events = 0;  // probe events the last round's poll took
  bool in_batch = false;
  int64_t batch_ns = 0;  // when the open batch began
  auto round = [&](int poll_ms, bool sync_logs) -> bool {
    if (!in_batch) {
      col.begin();
      in_batch = true;
      batch_ns = bento::clock_ns(CLOCK_MONOTONIC);
    }
    if (probes) {
      // Every event stamped before now is in the ring buffer: records up to then may go in
      // once the poll below has drained it (their processes are known by then).
      const uint64_t horizon = static_cast<uint64_t>(bento::clock_ns(CLOCK_MONOTONIC)) - 1000000;
      round_events = 0;
      probes->poll(poll_ms, [&](const void* d, size_t n) {
        round_events++;
        // Never fatal: an event the collector cannot take is counted and skipped.
        try {
          if (!col.on_probe_event(d, n)) malformed++;
        } catch (const std::exception& e) {
          malformed++;
          std::fprintf(stderr, "provd: skipping a probe event: %s\n", e.what());
        }
      });
      col.set_probe_horizon(sync_logs ? UINT64_MAX : horizon);  // --once, the last round: all
    } else if (poll_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
    }
    for (auto& m : mounts) {
      int64_t synced = 0;  // this round's sync: the log is complete up to then
      // Once a second (every round while it is gone): has the mount point a new connection?
      if (const int64_t now = bento::clock_ns(CLOCK_MONOTONIC);
          m.down || now - m.checked_ns >= 1000000000LL) {
        m.checked_ns = now;
        if (!reconnect(m)) continue;
        if (probes) leave_out_new_host(m, *probes);
      }
      for (;;) {
        size_t n = 0;
        uint64_t before = m.cursor;
        bool ok = m.reader->read(
            &m.cursor,
            [&](const bentofs::prov::Record& r, uint64_t off) {
              const uint64_t next = off + bentofs::prov::record_len(r.name_len, r.name2_len);
              try {
                col.on_fs_record(m.source, r, next);
              } catch (const std::exception& e) {
                std::fprintf(stderr, "provd: %s: skipping the record at offset %llu: %s\n",
                             m.path.c_str(), static_cast<unsigned long long>(off), e.what());
                col.on_fs_malformed(m.source, next);
              }
            },
            [&](uint64_t off, const std::string& why) {
              std::fprintf(stderr, "provd: %s: skipping a malformed record at offset %llu: %s\n",
                           m.path.c_str(), static_cast<unsigned long long>(off), why.c_str());
              col.on_fs_malformed(m.source, off);
            },
            &n, &err);
        if (!ok) {
          if (errno == ENOTCONN || errno == ENODEV || errno == EBADF || log_dev(m.path) != m.dev) {
            mark_down(m, err);
          } else {
            std::fprintf(stderr, "provd: %s: %s\n", m.path.c_str(), err.c_str());
          }
          break;
        }
        if (m.cursor == before) {
          const int64_t now = bento::clock_ns(CLOCK_MONOTONIC);
          if (synced == 0 &&
              (sync_logs || (col.waits_for_logs() && now - m.synced_ns >= kSyncEveryNs))) {
            if (m.reader->sync(&err)) {
              synced = m.synced_ns = now;
              continue;  // read what the sync committed
            }
            std::fprintf(stderr, "provd: %s: %s\n", m.path.c_str(), err.c_str());
          }
          if (synced != 0) col.log_drained(m.source, static_cast<uint64_t>(synced));
          m.progress_wall_ns = bento::clock_ns(CLOCK_REALTIME);  // caught up
          break;
        }
      }
    }
    if (probes) col.set_lost(probes_source, probes->stats().lost);
    // Scope and retention: one bounded round every 5 s.
    if (const int64_t now = bento::clock_ns(CLOCK_MONOTONIC); now - pruned_ns >= 5000000000LL) {
      col.prune(static_cast<uint64_t>(now), live_bytes(*db));
      pruned_ns = now;
    }
    write_status(sync_logs);
    bool due = sync_logs || g_stop || bento::clock_ns(CLOCK_MONOTONIC) - batch_ns >= kCommitEveryNs;
    for (const auto& m : mounts)
      if (m.cursor > m.stored + kCommitLogBytes) due = true;  // the log needs its room back
    if (!due) return true;
    in_batch = false;
    if (!col.commit(&err)) {
      std::fprintf(stderr, "provd: database commit failed: %s\n", err.c_str());
      return false;
    }
    for (auto& m : mounts) {
      // Only what the database holds: records still waiting for the probes are not.
      const uint64_t stored = col.stored_cursor(m.source);
      if (stored != m.stored) m.progress_wall_ns = bento::clock_ns(CLOCK_REALTIME);
      m.stored = stored;
      if (m.down) continue;  // acknowledged on the new connection, next round
      if (stored > 0 && !m.reader->ack(stored, &err)) {
        if (errno == ENOTCONN || errno == ENODEV)
          mark_down(m, err);
        else
          std::fprintf(stderr, "provd: %s\n", err.c_str());
      }
    }
    return true;
  };
  if (once) return round(100, true) ? 0 : 1;
  // Background priority while the logs have room: on a small host the collector competes
  // with the very workload it records, and the log absorbs the lag; once a log is a quarter
  // full provd takes a full share again until it is nearly drained, so a burst does not
  // end in a gap. (Nice values are per thread on Linux: this is the thread that ingests.)
  bool background = setpriority(PRIO_PROCESS, 0, kBackgroundNice) == 0;
  int64_t backlog_checked_ns = 0;
  auto pace_priority = [&] {
    // Events the ring buffer held: a lagging poll must not let the ring buffer overflow
    // (that would lose events, where a full fs log leaves a marked gap).
    if (background && round_events >= kBusyRoundEvents) {
      background = setpriority(PRIO_PROCESS, 0, 0) != 0;
      return;
    }
    const int64_t now = bento::clock_ns(CLOCK_MONOTONIC);
    if (now - backlog_checked_ns < kBacklogCheckNs) return;
    backlog_checked_ns = now;
    double fill = 0;
    for (auto& m : mounts) {
      if (m.down || !m.reader) continue;
      std::string ierr;
      auto i = m.reader->info(&ierr);
      if (i.count("capacity") == 0 || i["capacity"] == 0 || i["tail"] < i["head"]) continue;
      fill = std::max(fill, static_cast<double>(i["tail"] - i["head"]) / i["capacity"]);
    }
    if (background && fill >= 0.25) {
      background = setpriority(PRIO_PROCESS, 0, 0) != 0;
    } else if (!background && fill <= 1.0 / 16 && round_events < kBusyRoundEvents / 8) {
      background = setpriority(PRIO_PROCESS, 0, kBackgroundNice) == 0;
    }
  };
  while (!g_stop) {
    const int64_t started = bento::clock_ns(CLOCK_MONOTONIC);
    if (!round(100, false)) return 1;
    pace_priority();
    // Paced: a busy host wakes the poll for every few events, and each round costs a
    // database commit, a log read and an acknowledgement (a journaled write in the fs)
    // whatever it carries. Events wait in the ring buffer (16 MiB) meanwhile.
    const int64_t left = kRoundNs - (bento::clock_ns(CLOCK_MONOTONIC) - started);
    if (left > 0 && !g_stop) std::this_thread::sleep_for(std::chrono::nanoseconds(left));
  }
  // Drain: the probes' last events, then every record the file systems hold.
  if (background) (void)setpriority(PRIO_PROCESS, 0, 0);
  col.stopping();
  bool ok = round(50, true);
  std::fprintf(stderr, "provd: stopped after %llu fs records\n",
               static_cast<unsigned long long>(col.records_ingested()));
  return ok ? 0 : 1;
}
