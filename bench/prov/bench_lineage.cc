// bench_lineage: `prov why` and `prov impact` latency on the database of a realistic busy
// host, and that database's size per event.
//
//   bench_lineage [--events N] [--hours H] [--quick] [--no-compare-scope] [--keep DIR]
//   (default 5,000,000 events over one hour of the host, 300 why and 100 impact queries;
//   --quick 500,000 over 6 minutes, 100 and 40)
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
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
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
  // `spacing_ns`: the mean time between two events (the host's pace).
  Host(bento::collector::Collector& col, int64_t source, std::string mnt, uint64_t spacing_ns)
      : col_(col), source_(source), mnt_(std::move(mnt)), rng_(42), spacing_(spacing_ns) {}

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
  uint64_t tick() {
    return t_ += spacing_ / 2 + static_cast<uint64_t>(pick(0, 2000)) * spacing_ / 2000;
  }
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
    e.dev = pipefs_dev_;
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
    e.dev = pipefs_dev_;
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
  uint64_t spacing_;
  uint64_t t_ = 1'000'000'000, seq_ = 0, offset_ = 0, events_ = 0, jobs_ = 0;
  uint64_t next_ino_ = 100, next_pipe_ = 1'000'000, next_fh_ = 1;
  // This machine's pipefs: the collector tells pipes from FIFOs by it (HostFacts).
  uint64_t pipefs_dev_ = bento::collector::machine_pipefs_dev();
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

// One recording of the host into a database: the same events (seed) whatever the scope.
struct Recording {
  std::unique_ptr<bento::lineage::Database> db;
  uint64_t events = 0;
  double ingest_s = 0;
  int64_t db_bytes = 0;
  bento::collector::PruneCounts pruned;
  std::vector<std::string> outputs, inputs;
};

bool record_host(const std::string& mnt, const std::string& db_path, uint64_t target,
                 uint64_t spacing_ns, bool keep_everything, Recording* rec) {
  mkdir(mnt.c_str(), 0755);
  std::string err;
  rec->db =
      bento::lineage::Database::open(db_path, bento::lineage::Database::Mode::kReadWrite, &err);
  if (!rec->db) {
    std::fprintf(stderr, "bench_lineage: %s\n", err.c_str());
    return false;
  }
  auto t0 = Clock::now();
  {
    bento::collector::Collector col(*rec->db);
    bento::collector::RetentionPolicy policy;  // provd's default: scope relevant
    policy.keep_everything = keep_everything;
    col.set_retention(policy);
    uint64_t cursor = 0, last = 0;
    const int64_t source = col.fs_source(mnt, &cursor, &last);
    Host host(col, source, mnt, spacing_ns);
    col.probes_source();
    col.begin();
    host.setup();
    uint64_t batch = 0, pruned_at = host.now();
    while (host.events() < target) {
      host.step();
      if (host.events() / 10000 == batch) continue;
      batch = host.events() / 10000;
      col.log_drained(source, host.now());               // as provd says after a sync and a read
      if (host.now() - pruned_at >= 5'000'000'000ULL) {  // provd prunes every 5 s
        col.prune(host.now(), 0);
        pruned_at = host.now();
      }
      if (!col.commit(&err)) {
        std::fprintf(stderr, "bench_lineage: commit: %s\n", err.c_str());
        return false;
      }
      col.begin();
    }
    if (!col.commit(&err)) return false;
    rec->pruned = col.pruned_total();
    rec->events = host.events();
    rec->outputs = host.outputs();
    rec->inputs = host.inputs();
  }
  rec->ingest_s = std::chrono::duration<double>(Clock::now() - t0).count();
  rec->db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  struct stat st {};
  stat(db_path.c_str(), &st);
  rec->db_bytes = st.st_size;
  return true;
}

// What an answer says, independent of row ids (the two recordings insert rows in a
// different order) and of the wall clock's stored offset: its files by path, version and
// creation time, its processes by pid, start and program, its edges between those, and
// how each node is shown. The writers of folded pipes are named by id and in the document,
// not shown: a scope that keeps processes without data inputs (all) has them, the other
// (relevant) never stores such a pipe at all. Neither says more than the other.
std::vector<std::string> answer_core(const nlohmann::json& g) {
  std::map<std::string, std::string> label;
  std::vector<std::string> out;
  std::set<std::string> folded_writers;
  for (const auto& a : g.value("activities", nlohmann::json::array()))
    if (a.contains("folded_streams"))
      for (const auto& w : a["folded_streams"].value("writers", nlohmann::json::array()))
        folded_writers.insert(w.get<std::string>());
  for (const auto& e : g.value("entities", nlohmann::json::array())) {
    std::string lab = e.value("kind", "") + " " + e.value("path", "") + " v" +
                      std::to_string(e.value("version", 0));
    if (e.contains("created") && e["created"].is_object())
      lab += " @" + std::to_string(e["created"].value("ns", 0LL));
    label[e.value("id", "")] = lab;
    out.push_back("entity " + lab + " " + e.value("shown", ""));
  }
  for (const auto& a : g.value("activities", nlohmann::json::array())) {
    if (!a.contains("shown") && folded_writers.count(a.value("id", "")) != 0) continue;
    std::string lab = std::to_string(a.value("pid", 0LL)) + "@" +
                      std::to_string(a.value("process_start_ns", 0LL)) + " " + a.value("exe", "");
    if (a.contains("start") && a["start"].is_object())
      lab += " from " + std::to_string(a["start"].value("ns", 0LL));
    label[a.value("id", "")] = lab;
    out.push_back("activity " + lab + " " + a.value("shown", ""));
  }
  for (auto e : g.value("edges", nlohmann::json::array())) {
    if (e.contains("activity") && e["activity"].is_string() &&
        label.count(e["activity"].get<std::string>()) == 0 &&
        folded_writers.count(e["activity"].get<std::string>()) != 0)
      continue;  // a folded pipe's writer's own edges (its user, its end)
    e.erase("id");
    for (auto& [k, v] : e.items()) {
      if (v.is_string())
        if (auto it = label.find(v.get<std::string>()); it != label.end()) v = it->second;
      if (v.is_object()) v.erase("wall");
    }
    out.push_back("edge " + e.dump());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t target = 5'000'000;
  double hours = 1.0;
  bool compare_scope = true;
  int depth = 0;  // 0: prov's default
  // Queries timed: 300 why, 100 impact; --quick (what CI runs, under ASan too) 100 and 40.
  int why_queries = 300, impact_queries = 100;
  std::string keep;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      target = 500'000;
      hours = 0.1;
      why_queries = 100;
      impact_queries = 40;
    } else if (std::strcmp(argv[i], "--events") == 0 && i + 1 < argc) {
      target = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--hours") == 0 && i + 1 < argc) {
      hours = std::strtod(argv[++i], nullptr);
    } else if (std::strcmp(argv[i], "--no-compare-scope") == 0) {
      compare_scope = false;
    } else if (std::strcmp(argv[i], "--keep") == 0 && i + 1 < argc) {
      keep = argv[++i];
    } else if (std::strcmp(argv[i], "--depth") == 0 && i + 1 < argc) {
      depth = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: bench_lineage [--events N] [--hours H] [--quick] [--no-compare-scope] "
                   "[--keep DIR] [--depth N]\n");
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
  const auto spacing = static_cast<uint64_t>(hours * 3600e9 / static_cast<double>(target));
  Recording rec;
  if (!record_host(dir + "/mnt", dir + "/prov.db", target, spacing, false, &rec)) return 1;
  auto& db = rec.db;
  const uint64_t events = rec.events;
  const double ingest_s = rec.ingest_s;
  const std::vector<std::string>& outputs = rec.outputs;
  const std::vector<std::string>& inputs = rec.inputs;
  struct stat st {};
  st.st_size = rec.db_bytes;
  const int64_t activities = count(*db, "activities");

  // The queries, as `prov` runs them: default depth and pruning.
  std::mt19937 rng(7);
  std::vector<double> why_ms, impact_ms;
  size_t why_lines = 0;
  int why_incomplete = 0;  // answers the depth bound cut short (they say so)
  for (int i = 0; i < why_queries; i++) {
    const std::string& p = outputs[rng() % outputs.size()];
    prov_cli::LineageOptions o;  // as `prov why PATH` runs it: the text answer
    o.graph = false;
    if (depth > 0) o.depth = depth;
    auto a = Clock::now();
    auto r = prov_cli::why(*db, p, o);
    why_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
    if (!r.found) {
      std::fprintf(stderr, "bench_lineage: why %s: %s\n", p.c_str(), r.message.c_str());
      return 1;
    }
    if (r.text.find("(incomplete:") != std::string::npos) why_incomplete++;
    why_lines =
        std::max(why_lines, static_cast<size_t>(std::count(r.text.begin(), r.text.end(), '\n')));
  }
  for (int i = 0; i < impact_queries; i++) {
    // Half recent outputs (a few readers), half original data (read again and again).
    const std::string& p =
        i % 2 ? outputs[outputs.size() - 1 - rng() % std::min<size_t>(outputs.size(), 2000)]
              : inputs[rng() % inputs.size()];
    prov_cli::LineageOptions o;
    o.graph = false;
    if (depth > 0) o.depth = depth;
    auto a = Clock::now();
    auto r = prov_cli::impact(*db, p, o);
    impact_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
    if (!r.found) return 1;
  }
  Latency w = summarise(why_ms), m = summarise(impact_ms);
  std::printf(
      "busy host: %llu events over %.2f h, %lld activities, %lld file versions; ingest %.1f s "
      "(%.0f events/s)\n",
      static_cast<unsigned long long>(events), hours, static_cast<long long>(activities),
      static_cast<long long>(count(*db, "entities")), ingest_s, events / ingest_s);
  std::printf(
      "database (scope relevant) %.1f MiB = %.0f bytes/event; pruned %llu activities, "
      "%llu processes\n",
      st.st_size / 1048576.0, static_cast<double>(st.st_size) / static_cast<double>(events),
      static_cast<unsigned long long>(rec.pruned.activities),
      static_cast<unsigned long long>(rec.pruned.processes));
  std::printf(
      "prov why (%d outputs):    p50 %.2f ms, p99 %.2f ms, max %.2f ms; longest answer %zu "
      "lines; %d cut short by the depth bound\n",
      why_queries, w.p50, w.p99, w.max, why_lines, why_incomplete);
  std::printf("prov impact (%d inputs):  p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", impact_queries,
              m.p50, m.p99, m.max);
  // The same host under --scope all: every `why` of a file on the mount must be the same.
  int64_t all_bytes = 0, compared = 0, same = 0;
  if (compare_scope) {
    Recording all;
    if (!record_host(dir + "/mnt", dir + "/prov-all.db", target, spacing, true, &all)) return 1;
    all_bytes = all.db_bytes;
    std::mt19937 pick_rng(11);
    for (int i = 0; i < 200; i++) {
      const std::string& p = outputs[pick_rng() % outputs.size()];
      prov_cli::LineageOptions o;
      o.graph = true;
      o.text = false;
      if (depth > 0) o.depth = depth;
      auto a = prov_cli::why(*db, p, o), b = prov_cli::why(*all.db, p, o);
      compared++;
      if (a.found == b.found && answer_core(a.graph) == answer_core(b.graph))
        same++;
      else if (compared - same <= 3)
        std::fprintf(stderr, "bench_lineage: why %s differs between the scopes\n", p.c_str());
    }
    std::printf(
        "scope all: %.1f MiB (relevant: %.0f%% of it); why of %lld outputs: %lld the same\n",
        all_bytes / 1048576.0, 100.0 * static_cast<double>(st.st_size) / all_bytes,
        static_cast<long long>(compared), static_cast<long long>(same));
  }
  nlohmann::json j = {
      {"events", events},
      {"hours", hours},
      {"pruned_activities", rec.pruned.activities},
      {"scope_all_db_bytes", all_bytes},
      {"scope_compared", compared},
      {"scope_same", same},
      {"activities", activities},
      {"entities", count(*db, "entities")},
      {"ingest_s", ingest_s},
      {"db_bytes", st.st_size},
      {"bytes_per_event", static_cast<double>(st.st_size) / static_cast<double>(events)},
      {"why_p50_ms", w.p50},
      {"why_p99_ms", w.p99},
      {"why_max_ms", w.max},
      {"why_max_lines", why_lines},
      {"why_incomplete", why_incomplete},
      {"impact_p50_ms", m.p50},
      {"impact_p99_ms", m.p99},
      {"impact_max_ms", m.max}};
  std::printf("%s\n", j.dump().c_str());
  if (keep.empty()) std::system(("rm -rf '" + dir + "'").c_str());
  return same == compared ? 0 : 1;
}
