// bench_lineage: `prov why` and `prov impact` latency on the database of a realistic busy
// host, and that database's size per event.
//
//   bench_lineage [--events N] [--quick] [--keep DIR]   (default 5,000,000; --quick 500,000)
//
// The host, synthesised through the real collector (collector.cc) into a real SQLite file
// in batches of 10,000 events like provd:
//   - short system programs (date, ls, grep) that read a few system files and never touch
//     the tracked mount (their reads are dropped by the collector's relevance rule);
//   - shell pipelines on the mount: `sort X | uniq -c > Y` with a pipe, fork, exec, dup2,
//     closes, loader reads;
//   - Python jobs through pyenv's shims: a four-image exec chain, helper processes writing
//     pipes, ~150 interpreter module reads, two inputs (earlier outputs: deep chains), one
//     output written as a temporary and renamed;
//   - builds: cc1 reading ~100 headers, a temporary .s in /tmp, the object on the mount;
//   - a long-running logger appending to one file on the mount (many versions).
// Then `prov why` of random outputs and `prov impact` of random inputs, at the default
// depth and pruning, as `prov` runs them. Prints the figures and one JSON line.
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
using prov::RecordType;

constexpr uint64_t kOutsideDev = 0x803;
constexpr int O_WR = 01, O_CR = 0100;

struct Proc {
  uint32_t pid;
  uint64_t start;
};

class Host {
 public:
  Host(bento::collector::Collector& col, int64_t source, std::string mnt)
      : col_(col), source_(source), mnt_(std::move(mnt)), rng_(42) {}

  uint64_t events() const { return events_; }
  uint64_t now() const { return t_; }
  uint64_t jobs() const { return jobs_; }
  const std::vector<std::string>& outputs() const { return outputs_; }
  const std::vector<std::string>& inputs() const { return data_names_; }

  void setup() {
    init_ = spawn_root("/sbin/init", {"init"});
    session_ = fork_exec(init_, "/usr/bin/bash", {"bash", "-l"});
    for (int i = 0; i < 200; i++) {
      uint64_t ino = new_ino();
      std::string name = "data" + std::to_string(i) + ".csv";
      write_new(session_.pid, ino, name);
      data_.push_back(ino);
      data_names_.push_back(mnt_ + "/" + name);
    }
    logger_ = fork_exec(init_, "/usr/sbin/logger-daemon", {"logger-daemon"});
    log_ino_ = new_ino();
    write_new(logger_.pid, log_ino_, "app.log");
  }

  // One unit of the busy host's work, by a fixed mix.
  void step() {
    jobs_++;
    const int r = pick(0, 99);
    if (r < 40)
      system_program();
    else if (r < 65)
      pipeline();
    else if (r < 85)
      python_job();
    else if (r < 95)
      build();
    else
      log_append();
  }

 private:
  // ---- event helpers
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  uint64_t tick() { return t_ += 1000 + static_cast<uint64_t>(pick(0, 2000)); }
  uint64_t new_ino() { return next_ino_++; }
  void probe(const void* e, size_t n) {
    col_.on_probe_event(e, n);
    events_++;
  }
  void header(bento_event_header& h, uint32_t type, uint32_t size, Proc p) {
    h = {};
    h.type = type;
    h.size = size;
    h.ts_ns = tick();
    h.pid = h.tid = p.pid;
    h.start_ns = p.start;
  }
  void record(RecordType type, uint32_t tid, uint64_t ino, const std::string& name = "",
              uint64_t fh = 0, uint32_t flags = 0, const std::string& name2 = "",
              uint64_t last_write = 0) {
    prov::Record r;
    r.type = type;
    r.seq = ++seq_;
    r.monotonic_ns = tick();
    r.realtime_ns = r.monotonic_ns;
    r.tid = tid;
    r.ino = ino;
    r.gen = 1;
    r.parent = 1;
    r.parent2 = type == RecordType::kRelease ? last_write : 1;
    r.fh = fh;
    r.flags = flags;
    r.mode = S_IFREG | 0644;
    r.name = name.data();
    r.name_len = static_cast<uint16_t>(name.size());
    r.name2 = name2.data();
    r.name2_len = static_cast<uint16_t>(name2.size());
    offset_ += prov::record_len(name.size(), name2.size());
    col_.on_fs_record(source_, r, offset_);
    events_++;
  }
  Proc spawn_root(const char* exe, std::vector<std::string> argv) {
    Proc p{next_pid_++, tick()};
    exec(p, exe, argv);
    return p;
  }
  Proc fork(Proc parent) {
    bento_fork_event f{};
    header(f.h, BENTO_EV_FORK, sizeof f, parent);
    f.child_pid = f.child_tid = next_pid_++;
    if (next_pid_ > 4'000'000) next_pid_ = 1000;  // pids wrap: reused, as on a real host
    f.child_start_ns = t_ + 1;
    probe(&f, sizeof f);
    return {f.child_pid, f.child_start_ns};
  }
  void exec(Proc p, const std::string& exe, const std::vector<std::string>& argv) {
    bento_exec_event e{};
    header(e.h, BENTO_EV_EXEC, sizeof e, p);
    std::snprintf(e.filename, sizeof e.filename, "%s", exe.c_str());
    for (const auto& a : argv) {
      if (e.args_len + a.size() + 1 > sizeof e.args) break;
      std::memcpy(e.args + e.args_len, a.c_str(), a.size() + 1);
      e.args_len += static_cast<uint32_t>(a.size() + 1);
      e.argc++;
    }
    probe(&e, sizeof e);
  }
  Proc fork_exec(Proc parent, const std::string& exe, const std::vector<std::string>& argv) {
    Proc c = fork(parent);
    exec(c, exe, argv);
    return c;
  }
  void exit(Proc p) {
    bento_exit_event x{};
    header(x.h, BENTO_EV_EXIT, sizeof x, p);
    x.group_dead = 1;
    probe(&x, sizeof x);
  }
  // `gen`: the inode's generation, as the kernel reports it (a reused inode number gets a
  // new one, so a later /tmp file is not the earlier one).
  void open_outside(Proc p, const std::string& path, uint64_t ino, uint32_t flags = 0,
                    uint32_t gen = 1) {
    bento_open_event e{};
    header(e.h, BENTO_EV_OPEN, sizeof e, p);
    e.fd = 3;
    e.flags = flags;
    e.dev = kOutsideDev;
    e.ino = ino;
    e.generation = gen;
    e.btime_ns = gen;
    e.file_id = ino * 7919;
    e.path_len = static_cast<uint32_t>(std::min(path.size(), sizeof e.path - 1));
    std::memcpy(e.path, path.c_str(), e.path_len);
    probe(&e, sizeof e);
  }
  void close_fd(Proc p, uint64_t file_id, int fd) {
    bento_close_event c{};
    header(c.h, BENTO_EV_CLOSE, sizeof c, p);
    c.fd = fd;
    c.file_id = file_id;
    probe(&c, sizeof c);
  }
  uint64_t pipe(Proc p) {
    bento_pipe_event e{};
    header(e.h, BENTO_EV_PIPE, sizeof e, p);
    e.pipe_ino = next_pipe_++;
    e.fds[0] = 3;
    e.fds[1] = 4;
    e.file_ids[0] = e.pipe_ino * 2;
    e.file_ids[1] = e.pipe_ino * 2 + 1;
    probe(&e, sizeof e);
    return e.pipe_ino;
  }
  void pipe_io(Proc p, uint64_t ino, bool write) {
    bento_pipe_io_event e{};
    header(e.h, BENTO_EV_PIPE_IO, sizeof e, p);
    e.is_write = write;
    e.dev = 0xC;
    e.ino = ino;
    e.file_id = ino * 2 + (write ? 1 : 0);
    probe(&e, sizeof e);
  }
  void dup2(Proc p, uint64_t pipe_ino, bool write) {
    bento_dup_event e{};
    header(e.h, BENTO_EV_DUP, sizeof e, p);
    e.oldfd = write ? 4 : 3;
    e.newfd = write ? 1 : 0;
    e.file_id = pipe_ino * 2 + (write ? 1 : 0);
    e.dev = 0xC;
    e.ino = pipe_ino;
    e.syscall_nr = 33;
    probe(&e, sizeof e);
  }
  // Loader and libc reads every program does (the collector drops /usr/lib and /lib).
  void loader(Proc p) {
    open_outside(p, "/etc/ld.so.cache", 1);
    open_outside(p, "/usr/lib/x86_64-linux-gnu/libc.so.6", 2);
  }
  void read_file(uint32_t tid, uint64_t ino) {
    uint64_t fh = next_fh_++;
    record(RecordType::kOpen, tid, ino, "", fh, 0);
    record(RecordType::kRead, tid, ino, "", fh, 0);
    record(RecordType::kRelease, 0, ino, "", fh, 0);
  }
  void write_new(uint32_t tid, uint64_t ino, const std::string& name) {
    uint64_t fh = next_fh_++;
    record(RecordType::kCreate, tid, ino, name, fh, O_WR | O_CR);
    record(RecordType::kWrite, tid, ino, "", fh, O_WR);
    record(RecordType::kRelease, 0, ino, "", fh, O_WR, "", t_);
  }
  uint64_t some_input() {
    // Mostly recent outputs (chains of jobs), sometimes the original data.
    if (!recent_.empty() && pick(0, 3) != 0)
      return recent_[static_cast<size_t>(pick(0, static_cast<int>(recent_.size()) - 1))];
    return data_[static_cast<size_t>(pick(0, static_cast<int>(data_.size()) - 1))];
  }
  void produced(uint64_t ino, const std::string& name) {
    outputs_.push_back(mnt_ + "/" + name);
    recent_.push_back(ino);
    if (recent_.size() > 300) recent_.erase(recent_.begin());
  }

  // ---- the mix
  void system_program() {
    static const char* const progs[] = {"date", "ls", "grep", "ps", "df", "uptime"};
    const char* prog = progs[pick(0, 5)];
    Proc p = fork_exec(init_, std::string("/usr/bin/") + prog, {prog});
    loader(p);
    for (int i = pick(2, 12); i > 0; i--)
      open_outside(p, "/etc/conf" + std::to_string(pick(0, 40)),
                   100 + static_cast<uint64_t>(pick(0, 40)));
    exit(p);
  }

  void pipeline() {
    const uint64_t in = some_input(), out = new_ino();
    const std::string name = "counts" + std::to_string(out) + ".txt";
    Proc sh = fork_exec(session_, "/usr/bin/bash", {"bash", "report.sh"});
    loader(sh);
    uint64_t p = pipe(sh);
    Proc sort = fork(sh);
    dup2(sort, p, true);
    exec(sort, "/usr/bin/sort", {"sort", "-n", "input"});
    loader(sort);
    read_file(sort.pid, in);
    pipe_io(sort, p, true);
    Proc uniq = fork(sh);
    dup2(uniq, p, false);
    uint64_t fh = next_fh_++;
    record(RecordType::kCreate, uniq.pid, out, name, fh, O_WR | O_CR);
    exec(uniq, "/usr/bin/uniq", {"uniq", "-c"});
    loader(uniq);
    pipe_io(uniq, p, false);
    record(RecordType::kWrite, uniq.pid, out, "", fh, O_WR);
    record(RecordType::kRelease, 0, out, "", fh, O_WR, "", t_);
    close_fd(sh, p * 2, 3);
    close_fd(sh, p * 2 + 1, 4);
    exit(sort);
    exit(uniq);
    exit(sh);
    produced(out, name);
  }

  void python_job() {
    const uint64_t in1 = some_input(), in2 = some_input(), out = new_ino();
    const std::string name = "result" + std::to_string(out) + ".json", tmp = name + ".tmp";
    Proc p = fork(session_);
    exec(p, "/root/.pyenv/shims/python3", {"bash", "/root/.pyenv/shims/python3", "job.py"});
    loader(p);
    exec(p, "/root/.pyenv/libexec/pyenv", {"bash", "/root/.pyenv/libexec/pyenv", "exec"});
    open_outside(p, "/root/.pyenv/libexec/pyenv", 200);
    exec(p, "/root/.pyenv/libexec/pyenv-exec", {"bash", "/root/.pyenv/libexec/pyenv-exec"});
    // Helpers work out the version: each forks, execs a script, writes a pipe.
    for (int h = 0; h < 4; h++) {
      uint64_t pp = pipe(p);
      Proc helper = fork_exec(p, "/root/.pyenv/libexec/pyenv-version-name",
                              {"bash", "/root/.pyenv/libexec/pyenv-version-name"});
      loader(helper);
      open_outside(helper, "/root/.pyenv/version", 201);
      open_outside(helper, "/root/.pyenv/libexec/pyenv-version-file", 202);
      pipe_io(helper, pp, true);
      exit(helper);
      pipe_io(p, pp, false);
    }
    exec(p, "/root/.pyenv/versions/3.11.7/bin/python3.11", {"python3", "job.py", "--in", "x"});
    loader(p);
    for (int m = 0; m < 150; m++)
      open_outside(p,
                   "/root/.pyenv/versions/3.11.7/lib/python3.11/mod" + std::to_string(m) + ".pyc",
                   1000 + static_cast<uint64_t>(m));
    read_file(p.pid, in1);
    read_file(p.pid, in2);
    uint64_t fh = next_fh_++;
    record(RecordType::kCreate, p.pid, out, tmp, fh, O_WR | O_CR);
    record(RecordType::kWrite, p.pid, out, "", fh, O_WR);
    record(RecordType::kRelease, 0, out, "", fh, O_WR, "", t_);
    record(RecordType::kRename, p.pid, out, tmp, 0, 0, name);
    exit(p);
    produced(out, name);
  }

  void build() {
    const uint64_t src = some_input(), obj = new_ino();
    const std::string name = "unit" + std::to_string(obj) + ".o";
    Proc make = fork_exec(session_, "/usr/bin/make", {"make"});
    loader(make);
    Proc cc = fork_exec(make, "/usr/lib/gcc/x86_64-linux-gnu/12/cc1", {"cc1", "unit.c"});
    read_file(cc.pid, src);
    for (int h = 0; h < 100; h++)
      open_outside(cc, "/usr/include/h" + std::to_string(h) + ".h",
                   5000 + static_cast<uint64_t>(h));
    const uint64_t s_ino = 90000 + (obj % 50);  // /tmp inodes come back
    const auto s_gen = static_cast<uint32_t>(obj);
    open_outside(cc, "/tmp/cc" + std::to_string(obj) + ".s", s_ino, O_WR | O_CR, s_gen);
    exit(cc);
    Proc as = fork_exec(make, "/usr/bin/as", {"as", "-o", name});
    open_outside(as, "/tmp/cc" + std::to_string(obj) + ".s", s_ino, 0, s_gen);
    write_new(as.pid, obj, name);
    exit(as);
    exit(make);
    produced(obj, name);
  }

  void log_append() {
    uint64_t fh = next_fh_++;
    record(RecordType::kOpen, logger_.pid, log_ino_, "", fh, O_WR | 02000);
    record(RecordType::kWrite, logger_.pid, log_ino_, "", fh, O_WR);
    record(RecordType::kRelease, 0, log_ino_, "", fh, O_WR, "", t_);
  }

  bento::collector::Collector& col_;
  int64_t source_;
  std::string mnt_;
  std::mt19937 rng_;
  uint64_t t_ = 1'000'000'000, seq_ = 0, offset_ = 0, events_ = 0, jobs_ = 0;
  uint64_t next_ino_ = 100, next_pipe_ = 1'000'000, next_fh_ = 1;
  uint32_t next_pid_ = 1000;
  Proc init_{}, session_{}, logger_{};
  uint64_t log_ino_ = 0;
  std::vector<uint64_t> data_, recent_;
  std::vector<std::string> data_names_, outputs_;
};

struct Latency {
  double p50, p99, max;
};

Latency summarise(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back()};
}

int64_t count(bento::lineage::Database& db, const char* table) {
  bento::lineage::Stmt q(db.handle(), (std::string("SELECT COUNT(*) FROM ") + table).c_str());
  return q.step() ? q.int64(0) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t target = 5'000'000;
  std::string keep;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      target = 500'000;
    } else if (std::strcmp(argv[i], "--events") == 0 && i + 1 < argc) {
      target = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--keep") == 0 && i + 1 < argc) {
      keep = argv[++i];
    } else {
      std::fprintf(stderr, "usage: bench_lineage [--events N] [--quick] [--keep DIR]\n");
      return 2;
    }
  }
  char tmpl[] = "/dev/shm/bento-lineage-XXXXXX";
  std::string dir = keep;
  if (dir.empty()) {
    if (mkdtemp(tmpl) == nullptr) return 1;
    dir = tmpl;
  } else {
    mkdir(dir.c_str(), 0700);
  }
  const std::string mnt = dir + "/mnt", db_path = dir + "/prov.db";
  mkdir(mnt.c_str(), 0755);
  std::string err;
  auto db =
      bento::lineage::Database::open(db_path, bento::lineage::Database::Mode::kReadWrite, &err);
  if (!db) {
    std::fprintf(stderr, "bench_lineage: %s\n", err.c_str());
    return 1;
  }
  auto t0 = Clock::now();
  uint64_t events = 0;
  std::vector<std::string> outputs, inputs;
  {
    bento::collector::Collector col(*db);
    uint64_t cursor = 0, last = 0;
    const int64_t source = col.fs_source(mnt, &cursor, &last);
    Host host(col, source, mnt);
    col.probes_source();
    col.begin();
    host.setup();
    uint64_t batch = 0;
    while (host.events() < target) {
      host.step();
      if (host.events() / 10000 != batch) {
        batch = host.events() / 10000;
        col.log_drained(source, host.now());  // as provd says after reading the log to its end
        if (!col.commit(&err)) {
          std::fprintf(stderr, "bench_lineage: commit: %s\n", err.c_str());
          return 1;
        }
        col.begin();
      }
    }
    if (!col.commit(&err)) return 1;
    events = host.events();
    outputs = host.outputs();
    inputs = host.inputs();
  }
  const double ingest_s = std::chrono::duration<double>(Clock::now() - t0).count();
  db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  struct stat st {};
  stat(db_path.c_str(), &st);
  const int64_t activities = count(*db, "activities");

  // The queries, as `prov` runs them: default depth and pruning.
  std::mt19937 rng(7);
  std::vector<double> why_ms, impact_ms;
  size_t why_lines = 0;
  for (int i = 0; i < 300; i++) {
    const std::string& p = outputs[rng() % outputs.size()];
    prov_cli::LineageOptions o;  // as `prov why PATH` runs it: the text answer
    o.graph = false;
    auto a = Clock::now();
    auto r = prov_cli::why(*db, p, o);
    why_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
    if (!r.found) {
      std::fprintf(stderr, "bench_lineage: why %s: %s\n", p.c_str(), r.message.c_str());
      return 1;
    }
    why_lines =
        std::max(why_lines, static_cast<size_t>(std::count(r.text.begin(), r.text.end(), '\n')));
  }
  for (int i = 0; i < 100; i++) {
    // Half recent outputs (a few readers), half original data (read again and again).
    const std::string& p =
        i % 2 ? outputs[outputs.size() - 1 - rng() % std::min<size_t>(outputs.size(), 2000)]
              : inputs[rng() % inputs.size()];
    prov_cli::LineageOptions o;
    o.graph = false;
    auto a = Clock::now();
    auto r = prov_cli::impact(*db, p, o);
    impact_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
    if (!r.found) return 1;
  }
  Latency w = summarise(why_ms), m = summarise(impact_ms);
  std::printf(
      "busy host: %llu events, %lld activities, %lld file versions; ingest %.1f s (%.0f "
      "events/s)\n",
      static_cast<unsigned long long>(events), static_cast<long long>(activities),
      static_cast<long long>(count(*db, "entities")), ingest_s, events / ingest_s);
  std::printf("database %.1f MiB = %.0f bytes/event\n", st.st_size / 1048576.0,
              static_cast<double>(st.st_size) / static_cast<double>(events));
  std::printf(
      "prov why (300 outputs):    p50 %.2f ms, p99 %.2f ms, max %.2f ms; longest answer %zu "
      "lines\n",
      w.p50, w.p99, w.max, why_lines);
  std::printf("prov impact (100 inputs):  p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", m.p50, m.p99,
              m.max);
  nlohmann::json j = {
      {"events", events},
      {"activities", activities},
      {"entities", count(*db, "entities")},
      {"ingest_s", ingest_s},
      {"db_bytes", st.st_size},
      {"bytes_per_event", static_cast<double>(st.st_size) / static_cast<double>(events)},
      {"why_p50_ms", w.p50},
      {"why_p99_ms", w.p99},
      {"why_max_ms", w.max},
      {"why_max_lines", why_lines},
      {"impact_p50_ms", m.p50},
      {"impact_p99_ms", m.p99},
      {"impact_max_ms", m.max}};
  std::printf("%s\n", j.dump().c_str());
  if (keep.empty()) std::system(("rm -rf '" + dir + "'").c_str());
  return 0;
}
