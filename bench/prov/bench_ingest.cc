// bench_ingest: how fast does the collector turn events into the lineage graph, how big is
// the database per event, and how fast does `prov why` answer on it?
//
//   bench_ingest [--events N] [--quick]      (default 1,000,000 events; --quick 100,000)
//
// Synthesises a realistic stream through the real ingest path (collector.cc) into a real
// SQLite file: per job, a shell forks a child that execs a tool (probe events), the tool
// reads an input file and writes an output through the fs log (create, write, read,
// release, rename records), then exits. Batches of 10,000 events per transaction, as provd
// does. Then times prov why on random outputs. Prints one JSON line.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "bento_bpf/events.h"
#include "collector.h"
#include "lineage_query.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace prov = bentofs::prov;

struct Gen {
  bento::collector::Collector& col;
  int64_t source;
  uint64_t t = 1'000'000'000, seq = 0, offset = 0, events = 0;
  uint32_t next_pid = 100000;

  void probe(const void* e, size_t n) {
    col.on_probe_event(e, n);
    events++;
  }
  void header(bento_event_header& h, uint32_t type, uint32_t size, uint32_t pid, uint64_t start) {
    h = {};
    h.type = type;
    h.size = size;
    h.ts_ns = t += 1000;
    h.pid = h.tid = pid;
    h.start_ns = start;
  }
  void record(prov::RecordType type, uint32_t tid, uint64_t ino, uint64_t parent,
              const std::string& name, const std::string& name2, uint64_t fh, uint32_t flags) {
    prov::Record r;
    r.type = type;
    r.seq = ++seq;
    r.monotonic_ns = t += 1000;
    r.realtime_ns = r.monotonic_ns;
    r.tid = tid;
    r.ino = ino;
    r.gen = 1;
    r.parent = parent;
    r.parent2 = parent;
    r.fh = fh;
    r.flags = flags;
    r.name = name.data();
    r.name_len = static_cast<uint16_t>(name.size());
    r.name2 = name2.data();
    r.name2_len = static_cast<uint16_t>(name2.size());
    offset += prov::record_len(name.size(), name2.size());
    col.on_fs_record(source, r, offset);
    events++;
  }

  // One job: sh (pid) forks child, child execs a tool, which reads input ino and writes out.
  void job(uint32_t sh_pid, uint64_t sh_start, uint64_t in_ino, uint64_t out_ino, int k) {
    uint32_t child = next_pid++;
    uint64_t cstart = t + 500;
    bento_fork_event f{};
    header(f.h, BENTO_EV_FORK, sizeof f, sh_pid, sh_start);
    f.child_pid = f.child_tid = child;
    f.child_start_ns = cstart;
    probe(&f, sizeof f);
    bento_exec_event e{};
    header(e.h, BENTO_EV_EXEC, sizeof e, child, cstart);
    std::snprintf(e.filename, sizeof e.filename, "/usr/bin/tool%d", k % 50);
    int n = std::snprintf(e.args, sizeof e.args, "tool%d%c--in%cdata%d", k % 50, 0, 0, k);
    e.args_len = static_cast<uint32_t>(n + 1);
    probe(&e, sizeof e);
    std::string out = "out" + std::to_string(k), tmp = out + ".tmp",
                in = "in" + std::to_string(k % 1000);
    uint64_t fh_in = 2 * static_cast<uint64_t>(k) + 1, fh_out = fh_in + 1;
    record(prov::RecordType::kOpen, child, in_ino, 1, "", "", fh_in, 0);
    record(prov::RecordType::kRead, child, in_ino, 1, "", "", fh_in, 0);
    record(prov::RecordType::kCreate, child, out_ino, 1, tmp, "", fh_out, 01 | 0100);
    record(prov::RecordType::kWrite, child, out_ino, 1, "", "", fh_out, 01);
    record(prov::RecordType::kRelease, 0, out_ino, 1, "", "", fh_out, 01);
    record(prov::RecordType::kRelease, 0, in_ino, 1, "", "", fh_in, 0);
    record(prov::RecordType::kRename, child, out_ino, 1, tmp, out, 0, 0);
    bento_exit_event x{};
    header(x.h, BENTO_EV_EXIT, sizeof x, child, cstart);
    x.group_dead = 1;
    probe(&x, sizeof x);
  }
};

}  // namespace

int main(int argc, char** argv) {
  uint64_t target = 1'000'000;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      target = 100'000;
    } else if (std::strcmp(argv[i], "--events") == 0 && i + 1 < argc) {
      target = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: bench_ingest [--events N] [--quick]\n");
      return 2;
    }
  }
  char dir[] = "/dev/shm/bento-ingest-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  std::string mnt = std::string(dir) + "/mnt", db_path = std::string(dir) + "/prov.db";
  mkdir(mnt.c_str(), 0755);
  std::string err;
  auto db =
      bento::lineage::Database::open(db_path, bento::lineage::Database::Mode::kReadWrite, &err);
  if (!db) {
    std::fprintf(stderr, "bench_ingest: %s\n", err.c_str());
    return 1;
  }
  bento::collector::Collector col(*db);
  uint64_t cursor = 0, last = 0;
  Gen g{col, col.fs_source(mnt, &cursor, &last)};
  col.probes_source();
  // The shell every job comes from, and 1,000 input files made by a generator.
  uint32_t sh = g.next_pid++;
  bento_exec_event e{};
  g.header(e.h, BENTO_EV_EXEC, sizeof e, sh, 1);
  std::snprintf(e.filename, sizeof e.filename, "/bin/sh");
  e.args_len = 3;
  std::memcpy(e.args, "sh", 3);
  col.begin();
  g.probe(&e, sizeof e);
  for (int i = 0; i < 1000; i++)
    g.record(prov::RecordType::kCreate, sh, 10 + i, 1, "in" + std::to_string(i), "", 900000 + i,
             01 | 0100);
  col.commit(&err);
  auto t0 = Clock::now();
  uint64_t start_events = g.events, batch = 0;
  col.begin();
  for (int k = 0; g.events - start_events < target; k++) {
    g.job(sh, 1, 10 + k % 1000, 100000 + k, k);
    if (g.events / 10000 != batch) {
      batch = g.events / 10000;
      col.commit(&err);
      col.begin();
    }
  }
  col.commit(&err);
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  uint64_t n = g.events - start_events;
  db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  struct stat st {};
  stat(db_path.c_str(), &st);
  // prov why on random outputs.
  std::mt19937 rng(7);
  std::vector<double> ms;
  prov_cli::LineageOptions why_options;
  uint64_t jobs = n / 10;
  for (int i = 0; i < 200; i++) {
    std::string p = mnt + "/out" + std::to_string(rng() % jobs);
    auto a = Clock::now();
    auto r = prov_cli::why(*db, p, why_options);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
    if (!r.found) {
      std::fprintf(stderr, "bench_ingest: why %s found nothing: %s\n", p.c_str(),
                   r.message.c_str());
      return 1;
    }
  }
  std::sort(ms.begin(), ms.end());
  nlohmann::json j = {{"events", n},
                      {"seconds", secs},
                      {"events_per_s", n / secs},
                      {"db_bytes", st.st_size},
                      {"bytes_per_event", static_cast<double>(st.st_size) / n},
                      {"why_p50_ms", ms[ms.size() / 2]},
                      {"why_p99_ms", ms[ms.size() * 99 / 100]}};
  std::printf(
      "bench_ingest: %llu events in %.2f s = %.0f events/s into SQLite; %.0f bytes/event; "
      "prov why p50 %.2f ms, p99 %.2f ms\n%s\n",
      static_cast<unsigned long long>(n), secs, n / secs, static_cast<double>(st.st_size) / n,
      ms[ms.size() / 2], ms[ms.size() * 99 / 100], j.dump().c_str());
  std::system(("rm -rf " + std::string(dir)).c_str());
  return 0;
}
