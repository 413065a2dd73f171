// Ingest: the program an image runs, as one of its inputs. Its bytes decide what the
// process does: a dropper fetched with curl and run, a binary replaced while tracked, the
// script a shell was given. So the executable is stored as a read of the image (used.how
// "program", at the exec); the script an interpreter opens by the path its script argument
// names, and the pipe an interpreter given no script reads on its stdin (`curl URL | sh`),
// are marked so too. All are stored for the images that started a kept activity (its
// parent, their parents), though those are not kept: the answer shows who ran the program
// that wrote a file, and from what code (query-cli/LINEAGE.md, "The program").
#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <string_view>
#include <vector>

#include "bento_bpf/events.h"
#include "file_identity.h"
#include "ingest.h"
#include "script_rule.h"

namespace bento::collector {

namespace {

// Where installed programs live: an exec of one that nothing recorded wrote is no input
// worth a row (the answer would fold it as runtime).
bool system_program(const std::string& p) {
  for (const char* prefix : {"/usr/", "/bin/", "/sbin/", "/lib", "/opt/"})
    if (p.rfind(prefix, 0) == 0) return true;
  return false;
}

// argv[k] of a NUL-separated argument block ("" when it has fewer).
std::string_view argument(std::string_view all, size_t k) {
  for (size_t i = 0; i < k; i++) {
    const size_t nul = all.find('\0');
    if (nul == std::string_view::npos) return "";
    all.remove_prefix(nul + 1);
  }
  return all.substr(0, all.find('\0'));
}

constexpr size_t kHeldPrograms = 8;  // ancestors looked at above a kept activity

}  // namespace

// fexecve's "/dev/fd/3", "/proc/self/fd/3", runc's "/proc/self/exe": names the collector
// would resolve as its own (for an exec, the probes send the executable's path: v8).
bool process_relative_path(std::string_view filename) {
  return filename.rfind("/dev/fd/", 0) == 0 || filename.rfind("/proc/", 0) == 0;
}

void Ingest::note_program(int64_t act, const bento_exec_event* e, const ActivityRow& row) {
  if (act == 0) return;
  const std::string_view args(e->args, std::min<size_t>(e->args_len, sizeof e->args));
  std::vector<std::string_view> rest;  // argv[1..], as far as the probes sent it
  for (size_t k = 1; k < 16; k++) {
    const std::string_view a = argument(args, k);
    if (a.empty() && argument(args, k + 1).empty()) break;
    rest.push_back(a);
  }
  const ProgramInput in = program_input(argument(args, 0), row.exe, rest);
  // `sort < f`: f is data; so is a device there (`tr -dc a-z < /dev/urandom`, a terminal).
  const uint32_t stdin_type = e->stdin_mode & S_IFMT;
  if ((stdin_type == S_IFREG || stdin_type == S_IFCHR) && e->stdin_ino != 0) {
    if (stdin_file_.size() > (1u << 16)) stdin_file_.clear();  // a cache
    stdin_file_[act] = {e->stdin_dev, e->stdin_ino};
  }
  // What it runs waits as long as a writer's outputs after it ends (kWriterMargin, not
  // seconds): what it started may be kept minutes later (`nohup ./agent &`, then exit).
  if (in.kind != ProgramInput::kNone) writer_newest_[act] = e->h.ts_ns;
  if (in.kind == ProgramInput::kScript) {  // its open of the file is marked (is_script_open)
    if (script_arg_.size() > (1u << 16)) script_arg_.clear();  // a cache
    script_arg_[act] = in.script;
  } else if (in.kind == ProgramInput::kStdin) {
    note_stdin_program(act, e);
  }
  // A `#!` script's image runs its interpreter: the script is read as such (above).
  if (e->exe_ino == 0 || (in.kind == ProgramInput::kScript && shebang_script(in.script, row.exe)))
    return;
  PendingItem r = program_item(e->h.ts_ns, e->exe_dev, e->exe_ino,
                               file_identity(e->exe_generation, e->exe_btime_ns));
  // Its path: as exec'd, symlinks resolved. A file with no path (a memfd run by fexecve:
  // "memfd:NAME", events.h v8) is named so.
  const std::string& path = row.program.empty() ? row.exe : row.program;
  const bool pathless = e->exe_path_len != 0 && e->exe_path[0] != '/' && path == row.program &&
                        process_relative_path(row.exe);
  program_file(act, std::move(r), path, pathless);
}

// An interpreter given neither script nor command runs what it reads on fd 0 (`curl URL |
// sh`, `sh < x.sh`, `nc -e /bin/sh` and `bash -i >& /dev/tcp/...`, whose stdin is a socket):
// a file there is stored as its program at the exec; its first reads of a pipe, FIFO or
// socket there are marked when they come (on_pipe_io, on_sock).
void Ingest::note_stdin_program(int64_t act, const bento_exec_event* e) {
  const uint32_t type = e->stdin_mode & S_IFMT;
  if (type == S_IFIFO || type == S_IFSOCK) {
    if (stdin_program_.size() > (1u << 16)) stdin_program_.clear();  // a cache
    stdin_program_[act] = {e->stdin_dev, e->stdin_ino};
    return;
  }
  if (type != S_IFREG || e->stdin_ino == 0) return;
  PendingItem r = program_item(e->h.ts_ns, e->stdin_dev, e->stdin_ino,
                               file_identity(e->stdin_generation, e->stdin_btime_ns));
  // Named by the open that put it there (the parent shell's `< x.sh`), when one was seen.
  auto known = open_path_.find({r.dev, r.ino});
  program_file(act, std::move(r), known != open_path_.end() ? known->second : "", false);
}

// Whether `act`'s read on `fd` of the pipe, FIFO or socket (dev, ino) is of what it runs:
// only the one it was given on fd 0 at the exec (a `while read; done < <(cmd)` in the
// script puts other pipes on fd 0 later). dev 0: a pipe (ino alone names it).
bool Ingest::runs_stdin(int64_t act, uint64_t dev, uint64_t ino, int fd) const {
  if (fd != 0) return false;
  auto it = stdin_program_.find(act);
  return it != stdin_program_.end() && it->second.second == ino &&
         (dev == 0 || it->second.first == dev);
}

// A read of the file (dev, ino, identity) an image runs, at its exec (t).
Ingest::PendingItem Ingest::program_item(uint64_t t, uint64_t dev, uint64_t ino, uint32_t gen) {
  PendingItem r{PendingItem::kFileRead};
  r.program = true;
  r.t = t;
  r.dev = dev;
  r.ino = ino;
  r.gen = gen;
  return r;
}

// Stores the program file (dev, ino) an image runs, read at its exec (r), when it is worth
// a row: not an installed program nothing recorded wrote, nor a loader file, nor a path that
// now names another file. `pathless`: a file with no path, `path` its name (memfd:NAME).
void Ingest::program_file(int64_t act, PendingItem r, const std::string& path, bool pathless) {
  if (source_for_dev(r.dev) != 0) {
    defer(act, std::move(r));  // the mount's records of the file may not be read yet
    return;
  }
  if (pathless) {
    // What the writer's first write found it called, else the probes' name.
    if (auto known = open_path_.find({r.dev, r.ino}); known != open_path_.end())
      r.path = known->second;
    else
      r.path = path;
  } else {
    uint64_t dev = 0, ino = 0;
    if (path.empty() || path[0] != '/' ||
        (host_.lstat(path, &dev, &ino) && (dev != r.dev || ino != r.ino)))
      return;
    // An installed program counts only when a process opened it for writing while watched.
    if (system_program(path) && outside_writers_.count({r.dev, r.ino, r.gen}) == 0 &&
        written_programs_.count({r.dev, r.ino}) == 0)
      return;
    if (!remember_path(r.dev, r.ino, path)) return;  // a loader file
    r.path = path;  // the file is made with it when stored (open_path_ is a cache)
  }
  writer_newest_[act] = std::max(writer_newest_[act], r.t);
  if (kept(act) == kFull)
    apply(act, r);
  else
    wait(act, std::move(r));
}

// An installed program opened for writing while watched (a binary replaced in /usr/bin):
// its execs are stored from then on.
void Ingest::note_program_written(uint64_t dev, uint64_t ino, const std::string& path) {
  if (!system_program(path)) return;
  if (written_programs_.size() > (1u << 14)) written_programs_.clear();  // a cache
  written_programs_.insert({dev, ino});
}

// Whether `path`, opened for reading by `act`, is the script its arguments name (as given,
// or as the tail of the path: `sh run.sh` opens /work/run.sh). Only its first such open.
bool Ingest::is_script_open(int64_t act, const std::string& path) {
  auto it = script_arg_.find(act);
  if (it == script_arg_.end() || !names_file(path, it->second)) return false;
  script_arg_.erase(it);
  return true;
}

// A kept activity's ancestors are not kept for it: what they read reaches it only through
// its command line and environment (LINEAGE.md). Their programs are stored though, with
// whatever wrote them: the images that forked it, up the fork chain. And what the image
// that forked it read before the fork, which its command line may be made of
// (apply_passed_reads).
// Each image is walked once: the siblings a busy shell starts share its chain; only what
// the parent itself came to hold since (its next terminal read) is stored for a later one.
void Ingest::keep_ancestor_programs(int64_t act) {
  ActivityRow row;
  for (size_t depth = 0; depth < kHeldPrograms; depth++) {
    // The images its process ran before it (`exec tar ...` at the end of a script).
    int64_t forked = act;  // the image its process began with, at the fork
    for (auto prev = exec_prev_.find(act); prev != exec_prev_.end();
         prev = exec_prev_.find(prev->second)) {
      forked = prev->second;
      if (kept(prev->second) != kFull) apply_program_items(prev->second);
    }
    // The kept one's forked image, kept in full: it set up what the program was given (the
    // glob a shell's child expands before it runs `ls`, its redirections). Not the wrappers
    // between (pyenv's shims, env): what they read picked the program, stored above.
    if (depth == 0 && forked != act) keep(forked, kFull);
    if (!store_.activity(forked, &row)) return;
    int64_t parent = 0;
    if (auto it = forked_from_.find(row.process); it != forked_from_.end()) {
      parent = it->second;
    } else if (int64_t p = store_.process_parent(row.process); p != 0) {
      parent = store_.activity_at(p, row.start_ns).id;  // the cache forgot it
    }
    if (parent == 0 || parent == act) return;
    act = parent;
    if (programs_walked_.size() > (1u << 18)) programs_walked_.clear();  // a cache
    const bool walked = !programs_walked_.insert(act).second;
    if (kept(act) != kFull) {
      apply_program_items(act);
      if (depth == 0) apply_passed_reads(act, row.start_ns);
    }
    if (walked) return;  // those above: done
  }
}

// What the image that forked a kept program read before the fork may be in the program's
// command line or environment (`tar cf out $(find ...)`, `find ... | xargs tar cf out`:
// xargs's read of find's output; LINEAGE.md "read since the last command it started").
// Those reads are stored, and their writers kept in full as a kept reader's are; the answer
// picks the ones since the last command the image started before this one.
void Ingest::apply_passed_reads(int64_t parent, uint64_t forked_at) {
  auto it = pending_.find(parent);
  if (it == pending_.end() || !it->second.reads) return;
  const auto before = [&](const PendingItem& item) {
    return item.data_read() && item.t < forked_at;
  };
  auto& items = it->second.items;
  if (std::none_of(items.begin(), items.end(), before)) return;
  // With what it did to the same files before (an open for writing, a mapping: a
  // semaphore's file it made and reads), in order: the read lands on the version it made.
  std::set<std::pair<uint64_t, uint64_t>> files;
  for (const PendingItem& item : items)
    if (before(item) && item.ino != 0) files.insert({item.dev, item.ino});
  std::vector<PendingItem> now, still;
  bool later = false;  // reads after this fork: a later child's
  for (PendingItem& item : items) {
    const bool take =
        before(item) || (item.output && item.t < forked_at && item.ino != 0 &&
                         item.kind != PendingItem::kChannel && files.count({item.dev, item.ino}));
    later = later || (item.data_read() && !take);
    (take ? now : still).push_back(std::move(item));
  }
  it->second.reads = later;
  pending_total_ -= now.size();
  it->second.items = std::move(still);
  if (it->second.items.empty()) pending_.erase(it);
  for (PendingItem& item : now) {
    item.passed = true;
    apply(parent, item);  // may keep the writers of what it read
  }
}

// Stores an image's waiting program items, with its other reads of the same files (the
// script's first read after its open), and its reads of a device: a shell's read of its
// terminal is the command line it typed for the program (LINEAGE.md "Devices").
void Ingest::apply_program_items(int64_t act) {
  auto it = pending_.find(act);
  // A busy shell's children each ask: its waiting items are looked at only when it holds
  // such items (since it last gave them).
  if (it == pending_.end() || !it->second.held) return;
  it->second.held = false;
  std::set<std::pair<uint64_t, uint64_t>> files;
  bool any = false;
  for (const PendingItem& item : it->second.items) {
    any = any || item.program || item.instant;
    if (item.program && item.kind != PendingItem::kChannel) files.insert({item.dev, item.ino});
  }
  if (!any) return;
  std::vector<PendingItem> now, still;
  for (PendingItem& item : it->second.items) {
    const bool read =
        item.kind == PendingItem::kFileRead || (item.kind == PendingItem::kOpen && !item.output);
    const bool take = (read && files.count({item.dev, item.ino}) != 0) ||
                      (item.instant && item.kind == PendingItem::kFileRead) ||
                      (item.kind == PendingItem::kChannel && item.program);
    it->second.held = it->second.held || (!take && item.program);  // an output open's
    (take ? now : still).push_back(std::move(item));
  }
  pending_total_ -= now.size();
  it->second.items = std::move(still);
  if (it->second.items.empty()) pending_.erase(it);
  for (const PendingItem& item : now) apply(act, item);  // may keep the files' writers
}

}  // namespace bento::collector
