#include "lineage_answer.h"

#include <algorithm>
#include <deque>
#include <string_view>

#include "posix_semaphore.h"
#include "script_rule.h"

namespace prov_cli {

using nlohmann::json;

bool puts_no_data(const Step& st) {
  static const std::set<std::string> kCalls = {"create", "truncate",    "rename", "link",  "chmod",
                                               "chown",  "removexattr", "unlink", "mkdir", "mknod"};
  return st.type == Step::kGenerated && st.first == st.last && kCalls.count(st.how) != 0;
}

namespace {

// NAME.pyc, or NAME.pyc.<digits>: Python writes that first and renames it over NAME.pyc.
bool bytecode_name(std::string_view base) {
  const size_t ext = base.rfind(".pyc");
  if (ext == std::string_view::npos || ext == 0) return false;
  const std::string_view rest = base.substr(ext + 4);
  return rest.empty() || (rest.size() > 1 && rest[0] == '.' &&
                          rest.find_first_not_of("0123456789", 1) == std::string_view::npos);
}

}  // namespace

// Bytecode a Python interpreter compiled (`__pycache__/m.cpython-311.pyc`, PEP 3147) is
// made from the module's source alone, not from whatever else the compiling run had read:
// else one run's data would be a source of every later run that imports the module. Only
// when that run read the module's source (`m.py` beside `__pycache__/`): a python that
// wrote such a file without compiling it (bytecode planted from other data) is shown with
// its inputs like any writer.
std::string bytecode_source(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  const std::string_view dir = std::string_view(path).substr(0, slash);
  const std::string_view base = std::string_view(path).substr(slash + 1);
  if (!bytecode_name(base) || !dir.ends_with("/__pycache__")) return "";
  return std::string(dir.substr(0, dir.size() - 12)) + "/" +
         std::string(base.substr(0, base.find('.'))) + ".py";
}

bool compiled_bytecode(LineageGraph& g, const Step& st) {
  if (st.type != Step::kGenerated || st.effect.kind != Node::kEntity) return false;
  const std::string source = bytecode_source(g.entity(st.effect.id).value("path", ""));
  if (source.empty()) return false;
  const json& a = g.activity(st.cause.id);
  bool python = false;
  for (const char* key : {"exe", "program"}) {
    const std::string prog = a.value(key, "");
    python = python || prog.compare(prog.rfind('/') + 1, 6, "python") == 0;
  }
  return python && g.read_by(st.cause.id, source);
}

namespace {

bool is_pipe(LineageGraph& g, Node n) {
  if (n.kind != Node::kEntity) return false;
  const std::string kind = g.entity(n.id).value("kind", "");
  return kind == "pipe" || kind == "fifo";  // a FIFO is a pipe with a name
}

bool is_stream(LineageGraph& g, Node n) {
  return is_pipe(g, n) || (n.kind == Node::kEntity && g.entity(n.id).value("kind", "") == "socket");
}

// Steps by effect (backward) or by cause (forward), only those kept after folding.
using StepIndex = std::map<Node, std::vector<const Step*>>;

// Which nodes carry data they read themselves (LINEAGE.md): a file or an endpoint does; a
// pipe or socket does when a process that carries data wrote it; a process does when it
// (or an earlier image of it, before exec) read something that carries data. What a
// forked child inherited from its parent counts only until it execs: a helper that only
// read its own runtime files moved no data, whoever started it. (carries_data, below,
// adds the programs given data on their command line.)
// own: read by it or an earlier image of it (what passes an exec). carries: own, or, for
// a forked image that has not exec'd yet, what its parent carried: it runs on a copy of
// its parent's memory, so what it writes (`K=$(cat f); echo "$K" | tr ...`: the subshell
// that runs echo writes the pipe) can hold what the parent had read.
void propagate_carries(const StepIndex& causes, std::map<Node, bool>* own_map,
                       std::map<Node, bool>* carries_map) {
  std::map<Node, bool>& own = *own_map;
  std::map<Node, bool>& carries = *carries_map;
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& [effect, steps] : causes) {
      if (carries[effect] && own[effect]) continue;
      for (const Step* st : steps) {
        const bool moves = st->type == Step::kUsed || st->type == Step::kGenerated;
        const bool exec = st->type == Step::kInformed && st->cost == 0;
        const bool fork = st->type == Step::kInformed && st->how == "fork";
        if (!own[effect] && ((moves && carries[st->cause]) || (exec && own[st->cause]))) {
          own[effect] = carries[effect] = true;
          changed = true;
        } else if (!carries[effect] && fork && carries[st->cause]) {
          carries[effect] = true;
          changed = true;
        }
      }
    }
  }
}

// Whether `child` (through the programs it exec'd) wrote a pipe `parent` read: a command
// whose output the parent took in (`K=$(cat f)`), not a command it ran.
bool output_taken_in(LineageGraph& g, LineageSource& src, Node parent, Node child) {
  std::set<Node> seen;
  for (std::vector<Node> images = {child}; !images.empty();) {
    const Node img = images.back();
    images.pop_back();
    if (!seen.insert(img).second) continue;
    for (const Step& st : src.effects(img)) {
      if (st.type == Step::kInformed && st.cost == 0) images.push_back(st.effect);  // its exec
      if (st.type != Step::kGenerated || g.entity(st.effect.id).value("kind", "") != "pipe")
        continue;
      for (const Step& u : src.effects(st.effect))
        if (u.type == Step::kUsed && u.effect == parent) return true;
    }
  }
  return false;
}

// Until when `read` went on, as far as the record knows: a file on a mount, to the release
// of the handle it read through (`while read x; do ...; done < list`); elsewhere its first
// read (its later reads are reported only as news: a pipe's, a TCP or Unix socket's, or a
// changed file's, each a read of its own).
int64_t read_until(LineageGraph& g, const Step& read) {
  const json& e = g.entity(read.cause.id);
  const bool on_mount = e.value("kind", "") == "file" && e["file"]["source"].is_string();
  return on_mount && read.last != kForever ? read.last : read.first;
}

// xargs and GNU parallel make the command lines of the commands they start of what they
// read, and read ahead: all of `find ... | xargs -I{} cp {} d/`'s input may be read before
// the first cp starts, yet the last cp's line comes from it.
bool builds_command_lines(LineageGraph& g, Node image) {
  const json& a = g.activity(image.id);
  for (const char* key : {"exe", "program"}) {
    const std::string p = a.value(key, "");
    const std::string name = p.substr(p.rfind('/') + 1);
    if (name == "xargs" || name == "parallel") return true;
  }
  return false;
}

// When `parent` last started a command before it forked `child` at `t`: its latest fork
// before then of a child whose output it did not take in; 0 if none, or if `parent` builds
// its commands' lines of what it read (any of it may be in this one's).
int64_t last_command_before(LineageGraph& g, LineageSource& src, Node parent, Node child,
                            int64_t t) {
  if (builds_command_lines(g, parent)) return 0;
  std::vector<const Step*> forks;  // before t, latest first: usually the first one is it
  for (const Step& st : src.effects(parent))
    if (st.type == Step::kInformed && st.how == "fork" && st.effect != child && st.first < t)
      forks.push_back(&st);
  std::sort(forks.begin(), forks.end(),
            [](const Step* a, const Step* b) { return a->first > b->first; });
  for (const Step* st : forks)
    if (!output_taken_in(g, src, parent, st->effect)) return st->first;
  return 0;
}

// Whether `parent`'s read u may be in the command line or environment of a program it
// forked at `fork_ns`: made before the fork, since the last command it started before
// then, of something that carries data, and not the reading of a program.
bool passed_on(LineageGraph& g, const Step& u, int64_t fork_ns, int64_t since,
               const std::map<Node, bool>& carries) {
  auto it = carries.find(u.cause);
  return u.type == Step::kUsed && u.first < fork_ns && read_until(g, u) > since &&
         !program_read(g, u) && it != carries.end() && it->second;
}

// Whether the program image `e` was given data on its command line or in its environment:
// up its execs to the forked image, whose parent had read something that carries data
// since the last command it started before that fork (`printf %s "$(cat f)" > mid`: the
// shell's read of cat's pipe), the reads keep_backward lists as passed on. Not a command
// whose output the parent took in.
bool argv_carries(LineageGraph& g, LineageSource& src, const StepIndex& causes,
                  const std::map<Node, bool>& carries, Node e) {
  Node img = e;
  for (int hop = 0; hop < 16; hop++) {
    auto c = causes.find(img);
    if (c == causes.end()) return false;
    const Step *exec = nullptr, *fork = nullptr;
    for (const Step* st : c->second) {
      if (st->type != Step::kInformed) continue;
      if (st->cost == 0) exec = st;
      if (st->how == "fork") fork = st;
    }
    if (fork != nullptr) {
      if (hop == 0) return false;  // no exec since the fork: it carries its parent's memory
      const Node parent = fork->cause;
      if (output_taken_in(g, src, parent, img)) return false;
      auto reads = causes.find(parent);
      if (reads == causes.end()) return false;
      const int64_t since = last_command_before(g, src, parent, img, fork->first);
      return std::any_of(reads->second.begin(), reads->second.end(), [&](const Step* u) {
        return passed_on(g, *u, fork->first, since, carries);
      });
    }
    if (exec == nullptr) return false;
    img = exec->cause;
  }
  return false;
}

// propagate_carries, and a program given data on its command line carries it too
// (argv_carries): `printf %s "$(cat f)" > mid; cat mid > out` has f in out's answer, as
// in mid's.
// A process whose inputs lie beyond the depth may carry data: it counts as carrying.
std::map<Node, bool> carries_data(LineageGraph& g, LineageSource& src, const SearchResult& s,
                                  const StepIndex& causes, const std::set<Node>& beyond) {
  std::map<Node, bool> own, carries;
  for (const auto& [n, reach] : s.nodes)
    own[n] = carries[n] = (n.kind == Node::kEntity && !is_stream(g, n)) || beyond.count(n) != 0;
  propagate_carries(causes, &own, &carries);
  for (int round = 0; round < 8; round++) {
    std::vector<Node> given;
    for (const auto& [n, reach] : s.nodes)
      if (n.kind == Node::kActivity && !own[n] && argv_carries(g, src, causes, carries, n))
        given.push_back(n);
    if (given.empty()) break;
    for (const Node& n : given) own[n] = carries[n] = true;
    propagate_carries(causes, &own, &carries);
  }
  return carries;
}

// Keeps what the short answer shows, from the roots down (see Answer::Shown). The writers
// of the file asked about are shown in full with the processes that started them (who
// ran it); elsewhere a process is shown when it carries data.
//
// A process image that exec'd a new program passed it only its command line, environment
// and open files: what the image inherited from its parent at the fork (its memory) does
// not reach the new program otherwise. So when the search reaches a forked image through
// an exec (or a writer whose own process exec'd a program that wrote the file too: a
// shell's `> out` redirection), the parent's data inputs are held back: the parent is
// shown as who ran it, with a note (Answer::argv_only_forks); --all shows everything. A
// driving shell that once read a file (`X=$(cat f)`, `while read ...; done < list`) is
// then not a source of every command it starts afterwards.
//
// Of that parent, the reads since the last command it started before this one are listed
// all the same (Answer::passed_reads): what a shell just read is what it may pass on.
void keep_backward(LineageGraph& g, LineageSource& src, const StepIndex& causes,
                   const std::map<Node, bool>& carries, const std::set<Step>& compiled, Answer* a) {
  struct Item {
    Node n;
    Answer::Shown how;
    bool chain;       // a writer of a root, or an ancestor of one
    bool exec_after;  // an image whose process exec'd the program that matters
    // Reached only as a writer that put no data in (chmod, rename), or as its ancestor:
    // who did it; nothing it or its parent read is the file's, not even "passed on".
    bool no_data = false;
  };
  std::deque<Item> todo;
  std::set<Node> roots, chain, unrestricted, with_data;
  for (const auto& [n, bound] : a->roots) {
    roots.insert(n);
    a->nodes[n] = Answer::kFull;
    with_data.insert(n);
    todo.push_back({n, Answer::kFull, false, false});
  }
  auto carry = [&](Node n) {
    auto it = carries.find(n);
    return it != carries.end() && it->second;
  };
  // Per file version shown as read (not only opened), the latest time it was read at.
  std::map<Node, int64_t> shown_read;
  // An open that read nothing as far as the record knows (how "open") of a version the
  // answer already shows read since, by the program it was opened for (a shell's `< in`).
  auto read_shown_since = [&](const Step& open) {
    if (open.how != "open") return false;
    auto it = shown_read.find(open.cause);
    return it != shown_read.end() && it->second >= open.first;
  };
  auto show = [&](const Step* st, Node n, Answer::Shown how, bool in_chain, bool exec_after = false,
                  bool no_data = false) {
    a->steps.insert(*st);
    if (st->type == Step::kUsed && st->how != "open") {
      auto [r, fresh_read] = shown_read.emplace(st->cause, st->first);
      if (!fresh_read) r->second = std::max(r->second, st->first);
    }
    auto [it, fresh] = a->nodes.emplace(n, how);
    const bool chain_new = in_chain && chain.insert(n).second;
    const bool freed = !exec_after && unrestricted.insert(n).second;
    const bool data_new = !no_data && with_data.insert(n).second;
    if (!fresh && how >= it->second && !chain_new && !freed && !data_new)
      return;                                // shown as much already
    if (how < it->second) it->second = how;  // kFull < kAncestry < kLine
    todo.push_back({n, it->second, in_chain || chain.count(n) != 0, unrestricted.count(n) == 0,
                    with_data.count(n) == 0});
  };
  // Writers of an entity whose process later exec'd (through any number of execs: `gunzip`
  // is a script that execs gzip) another writer of it: the redirection's image before the
  // program ran.
  auto exec_writers = [&](const std::vector<const Step*>& steps) {
    std::set<Node> writers, out;
    for (const Step* st : steps)
      if (st->type == Step::kGenerated) writers.insert(st->cause);
    for (const Node& w : writers) {
      std::set<Node> seen;
      for (std::vector<Node> images = {w}; !images.empty();) {
        const Node img = images.back();
        images.pop_back();
        auto c = causes.find(img);
        if (c == causes.end()) continue;
        for (const Step* st : c->second) {
          if (st->type != Step::kInformed || st->cost != 0 || !seen.insert(st->cause).second)
            continue;
          if (writers.count(st->cause) != 0) out.insert(st->cause);
          images.push_back(st->cause);
        }
      }
    }
    return out;
  };
  // Whether the image runs code the record saw written (`bash /tmp/dl.sh` that curl
  // fetched, a binary dropped and run): what it starts is its doing.
  auto runs_made_code = [&](Node img) {
    auto it = causes.find(img);
    if (it == causes.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(), [&](const Step* u) {
      if (u->type != Step::kUsed || !program_read(g, *u)) return false;
      auto w = causes.find(u->cause);
      return w != causes.end() &&
             std::any_of(w->second.begin(), w->second.end(),
                         [](const Step* ws) { return ws->type == Step::kGenerated; });
    });
  };
  // The module's source a python run compiled into the bytecode: what the bytecode holds
  // (its read before the write: the search kept only such), shown in full.
  auto compiled_source = [&](const Step* st, Node writer) {
    const std::string source = bytecode_source(g.entity(st->effect.id).value("path", ""));
    auto it = causes.find(writer);
    if (it == causes.end()) return;
    for (const Step* u : it->second) {
      if (u->type != Step::kUsed || g.entity(u->cause.id).value("path", "") != source) continue;
      a->compiled_from.insert(*u);
      show(u, u->cause, Answer::kFull, false);
    }
  };
  // A read of a pipe that only the reader's own process had written (make taking back the
  // jobserver tokens it put there; events.h v10 reports such a read again): nothing came
  // in that it did not have.
  auto own_pipe_read = [&](const Step* u, Node reader) {
    if (!is_pipe(g, u->cause)) return false;
    auto w = causes.find(u->cause);
    if (w == causes.end()) return false;
    const json& r = g.activity(reader.id);
    bool any = false;
    for (const Step* ws : w->second) {
      if (ws->type != Step::kGenerated || ws->first > u->first) continue;
      const json& by = g.activity(ws->cause.id);
      if (by.value("pid", 0LL) != r.value("pid", 0LL) ||
          by.value("process_start_ns", 0LL) != r.value("process_start_ns", 0LL))
        return false;
      any = true;
    }
    return any;
  };
  // Names a read held back from a program (Answer::held_back), once, in time order.
  auto held_back = [&](const Step& u, int64_t program) {
    std::string name;
    const json& e = g.entity(u.cause.id);
    if (is_pipe(g, u.cause)) {
      if (auto w = causes.find(u.cause); w != causes.end())
        for (const Step* ws : w->second)
          if (ws->type == Step::kGenerated && ws->first <= u.first) {
            name = "the output of " + g.command(ws->cause.id);
            break;
          }
    } else if (!e.value("path", "").empty()) {
      name = (u.how == "readdir" ? "the listing of " : "") + printable(e.value("path", ""));
    }
    if (name.empty()) return;
    auto [at, fresh] = a->held_back[program].emplace(name, u.first);
    if (!fresh) at->second = std::min(at->second, u.first);
  };
  while (!todo.empty()) {
    Item item = todo.front();
    todo.pop_front();
    auto it = causes.find(item.n);
    if (it == causes.end() || item.how == Answer::kLine) continue;
    const bool root = roots.count(item.n) != 0;
    const std::set<Node> redirecting =
        item.n.kind == Node::kEntity ? exec_writers(it->second) : std::set<Node>();
    for (const Step* st : it->second) {
      const Node c = st->cause;
      switch (st->type) {
        case Step::kGenerated:
          if (puts_no_data(*st) || compiled.count(*st) != 0) {
            // Who made it so, not where its content came from: neither its inputs nor its
            // parent's (a subshell's `exec 3> out`) are the file's; those of its children
            // that wrote reach the file by their own steps. Bytecode: compiled_bytecode.
            show(st, c, root ? Answer::kAncestry : Answer::kLine, root, /*exec_after=*/true,
                 /*no_data=*/compiled.count(*st) == 0);
            if (compiled.count(*st) != 0) compiled_source(st, c);
            break;
          }
          show(st, c, root || carry(c) ? Answer::kFull : Answer::kLine, root,
               redirecting.count(c) != 0);
          break;
        case Step::kVersion:
          show(st, c, item.how, false);
          break;
        case Step::kUsed:
          if (item.how != Answer::kLine && program_read(g, *st)) {
            // The code it ran, with what made it: also under a parent whose other reads
            // are held back (who ran the writer, and from what program).
            a->program_reads.insert(*st);
            show(st, c, Answer::kFull, false);
            break;
          }
          if (item.how != Answer::kFull) break;
          if (st->how == "readdir") {
            // A listing took in the directory's names: the line says so; who made the
            // directory or its entries is not where the listing's content came from.
            show(st, c, Answer::kLine, false);
          } else if (carry(c)) {
            show(st, c, Answer::kFull, false);
          } else {
            // A pipe or socket that carried no data: folded, its writers named.
            Answer::Folded& f = a->runtime[item.n.id];
            f.streams++;
            if (auto w = causes.find(c); w != causes.end())
              for (const Step* ws : w->second)
                if (ws->type == Step::kGenerated) f.stream_writers.insert(ws->cause.id);
          }
          break;
        case Step::kInformed:
          if (st->cost == 0) {  // an earlier image of the same process
            show(st, c, item.how, item.chain, /*exec_after=*/st->how == "exec", item.no_data);
          } else if (item.no_data) {
            if (item.chain) show(st, c, Answer::kAncestry, true, true, true);
          } else if (item.exec_after && st->how == "fork" && carry(c)) {
            // Its data reaches the program only through argv and environment: held back,
            // but for what it read since its last command.
            a->argv_only_forks.insert(item.n.id);
            // Who ran it, up the chain for the file's writers; for any process a script
            // or binary the record saw made (the downloaded script that ran `curl -T`).
            if (item.chain || runs_made_code(c)) show(st, c, Answer::kAncestry, item.chain, true);
            // Not for a command whose output it took in (`K=$(cat f)`'s cat): that came
            // back to the parent, which the answer follows from there.
            // Not a file it only opened for the program, which the answer shows read
            // (a shell's `< in`: the writer's reads are shown before its parents are
            // reached). The shell put no bytes of it in.
            if (auto reads = causes.find(c);
                reads != causes.end() && !output_taken_in(g, src, c, item.n)) {
              const int64_t since = last_command_before(g, src, c, item.n, st->first);
              // What it read since that command is listed; the earlier reads, held back,
              // are named in the note (not what it read again since: a terminal's next
              // line is listed).
              std::set<Node> passed;
              std::vector<const Step*> earlier;
              for (const Step* u : reads->second) {
                if (!passed_on(g, *u, st->first, 0, carries) || own_pipe_read(u, c)) continue;
                if (read_shown_since(*u)) continue;  // put none of its bytes in: not named
                if (read_until(g, *u) <= since) {
                  earlier.push_back(u);
                  continue;
                }
                passed.insert(u->cause);
                a->passed_reads[*u].insert(st->first);
                show(u, u->cause, u->how == "readdir" ? Answer::kLine : Answer::kFull, false);
                // Who ran it, as it is shown above those reads.
                if (!item.chain) show(st, c, Answer::kAncestry, false, true);
              }
              for (const Step* u : earlier)
                if (passed.count(u->cause) == 0) held_back(*u, item.n.id);
            }
          } else if (carry(c)) {
            show(st, c, Answer::kFull, item.chain);
          } else if (item.chain || st->how == "fd-pass") {
            // A parent without data of its own (a subshell that forked the program) passes
            // the hold on: its own parent's data reaches the program only through argv too.
            show(st, c, Answer::kAncestry, item.chain,
                 /*exec_after=*/item.exec_after && st->how == "fork");
          }
          break;
      }
    }
  }
}

// The nodes the depth bound stopped at with more to find (Answer::beyond_depth, before
// keeping only the shown ones). Backward, a cut input counts (a cut "started by" is who
// ran it, which the answer names where it matters); forward, every cut step.
std::set<Node> beyond_depth(const SearchResult& s, bool backward) {
  std::set<Node> out;
  for (const Step& st : s.cut)
    if (!backward || st.type == Step::kUsed) out.insert(backward ? st.effect : st.cause);
  return out;
}

void keep_shown_beyond(const std::set<Node>& beyond, Answer* a) {
  for (const Node& n : beyond)
    if (auto it = a->nodes.find(n); it != a->nodes.end() && it->second == Answer::kFull)
      a->beyond_depth.insert(n);
}

void find_gaps(LineageGraph& g, Answer* a) {
  int64_t lo = kForever, hi = 0;
  for (const Step& st : a->steps) {
    lo = std::min(lo, st.first);
    hi = std::max(hi, st.last == kForever ? st.first : st.last);
  }
  if (lo == kForever) return;
  bento::lineage::Stmt q(g.db().handle(),
                         "SELECT s.name, g.from_ns, g.to_ns, g.records, "
                         "json_extract(g.detail, '$.mutating') FROM gaps g JOIN sources s "
                         "ON s.id = g.source_id WHERE g.to_ns >= ? AND g.from_ns <= ? ORDER BY "
                         "g.from_ns");
  q.bind(1, lo).bind(2, a->backward ? kForever : hi);
  while (q.step()) {
    a->gaps.push_back("lineage on " + q.text(0) + " is incomplete between " +
                      clock_text(q.int64(1), g.wall_offset()) + " and " +
                      clock_text(q.int64(2), g.wall_offset()) + ": " + std::to_string(q.int64(3)) +
                      " provenance records were not written (the log was full" +
                      (q.is_null(4) ? std::string(")")
                                    : "; " + std::to_string(q.int64(4)) + " of them changes)"));
  }
}

// A scratch file of the reading process: it wrote every version of it up to this one, by
// itself, and removed it (sort's temporary files), renamed another file over it (git
// rewriting its config through config.lock), renamed it into place itself (rsync's
// receiver opens its temporary `.f1.XXXXXX` again before it moves it to `f1`), emptied it
// to write it anew (`ar rcs lib.a` reads the lib.a it just created, then truncates and
// writes it), or read it back before it had finished writing it (`as` and `ld` reading the
// file they write, sqlite3 the database it makes).
// It holds only what that process had read already, which the answer lists on it, so it
// is folded, not walked: `why main.o` does not list main.o under its writer. (A file it
// wrote, finished and read later is shown: that read may be what it passes on to a
// command it starts.)
bool own_scratch_file(bento::lineage::Database& db, int64_t entity, int64_t activity,
                      int64_t read_ns) {
  bento::lineage::Stmt& q = db.cached(
      "SELECT COUNT(*), SUM(NOT EXISTS (SELECT 1 FROM generated g WHERE g.entity_id = e.id)), "
      "SUM(EXISTS (SELECT 1 FROM generated g WHERE g.entity_id = e.id AND g.activity_id != ?)), "
      "EXISTS (SELECT 1 FROM invalidated i JOIN entities v ON v.id = i.entity_id WHERE "
      "v.file_id = me.file_id AND i.activity_id = ? AND i.how IN ('unlink', 'rename-over')) OR "
      "EXISTS (SELECT 1 FROM generated g WHERE g.entity_id = me.id AND g.activity_id = ? AND "
      "COALESCE(g.last_ns, g.time_ns) >= ?) OR "
      "EXISTS (SELECT 1 FROM generated g JOIN entities v ON v.id = g.entity_id WHERE "
      "v.file_id = me.file_id AND v.version > me.version AND g.activity_id = ?2 AND "
      "g.how = 'rename') OR "
      "EXISTS (SELECT 1 FROM generated g JOIN entities v ON v.id = g.entity_id WHERE "
      "v.file_id = me.file_id AND v.version > me.version AND g.activity_id = ?2 AND NOT EXISTS "
      "(SELECT 1 FROM derived d WHERE d.generated_id = v.id AND d.how = 'version')) "
      "FROM entities e JOIN entities me ON me.id = ? AND e.file_id = me.file_id AND e.version "
      "<= me.version JOIN files f ON f.id = e.file_id WHERE f.kind = 'file'");
  q.bind(1, activity).bind(2, activity).bind(3, activity).bind(4, read_ns).bind(5, entity);
  const bool scratch =
      q.step() && q.int64(0) > 0 && q.int64(1) == 0 && q.int64(2) == 0 && q.int64(3) == 1;
  q.reset();
  return scratch;
}

// A pipe or socket flow the reading process alone wrote into (an event loop's self-pipe,
// node's wake-up pipes, a server and its client in one process): it carried only what
// that process had already, which the answer lists on it. Folded like a scratch file.
bool own_stream(bento::lineage::Database& db, int64_t entity, int64_t activity) {
  bento::lineage::Stmt& q = db.cached(
      "SELECT COUNT(g.id), SUM(g.activity_id != ?) FROM entities e JOIN files f ON f.id = "
      "e.file_id JOIN generated g ON g.entity_id = e.id WHERE e.id = ? AND f.kind IN "
      "('pipe', 'socket')");
  q.bind(1, activity).bind(2, entity);
  const bool own = q.step() && q.int64(0) > 0 && q.int64(1) == 0;
  q.reset();
  return own;
}

}  // namespace

std::string program_script(const json& argv, const std::string& exe) {
  if (!argv.is_array() || argv.empty()) return "";
  std::vector<std::string_view> args;
  for (size_t i = 1; i < argv.size(); i++)
    args.push_back(argv[i].is_string() ? std::string_view(argv[i].get_ref<const std::string&>())
                                       : std::string_view());
  const std::string_view argv0 =
      argv[0].is_string() ? std::string_view(argv[0].get_ref<const std::string&>()) : "";
  const auto in = bento::collector::program_input(argv0, exe, args);
  return in.kind == bento::collector::ProgramInput::kScript ? in.script : "";
}

// Times on the day of the (first) version asked about are shown without their date, in
// every text of this answer (gap warnings included: they are written here).
void set_answer_day(LineageGraph& g, const std::vector<std::pair<Node, int64_t>>& roots) {
  set_clock_day(0, 0);
  if (roots.empty()) return;
  const json& c = g.entity(roots.front().first.id)["created"];
  if (!c.is_null()) set_clock_day(c.value("ns", 0LL), g.wall_offset());
}

bool program_read(LineageGraph& g, const Step& st) {
  if (st.type != Step::kUsed || st.effect.kind != Node::kActivity) return false;
  if (st.how == "program") return true;
  const json& act = g.activity(st.effect.id);
  const std::string script =
      program_script(act.contains("argv") ? act["argv"] : json::array(), act.value("exe", ""));
  const std::string path = g.entity(st.cause.id).value("path", "");
  if (script.empty())  // `python3 -m app.etl` runs app/etl.py (or its bytecode)
    return RuntimeRule::module_root(path, RuntimeRule::python_module(act)) != std::string::npos;
  return bento::collector::names_file(path, script);
}

// When a connection's ends were gone: the exit of the last process that sent on it
// (senders) or received from it (receivers), when all of them exited; kForever when one
// has not, or none is known (a remote endpoint). Exit, not exec: an exec'd image may still
// hold the socket; a forked child that could is a sender or receiver of its own.
class ConnectionEnds {
 public:
  ConnectionEnds(LineageGraph& g, LineageSource& src) : g_(g), src_(src) {}
  int64_t senders(Node socket) { return last_end(socket, true).at; }
  int64_t receivers(Node socket) { return last_end(socket, false).at; }
  // Whether senders() is a FIN rather than an exit.
  bool senders_closed(Node socket) { return last_end(socket, true).closed; }
  // Whether senders() is a sender's last reported send (a UDP send is reported again
  // after news, events.h v11: what it sent after that held nothing new).
  bool senders_instant(Node socket) { return last_end(socket, true).instant; }

 private:
  struct End {
    int64_t at = 0;
    bool closed = false;   // `at` is a sender's FIN (the send's last time), not an exit
    bool instant = false;  // `at` is a sender's reported send (an instant)
  };
  // The last exit of its senders or receivers; a sender's sends end earlier where it sent
  // its FIN (the send's last time: the probes' SOCK_END, TCP only), or at its last
  // reported send (instants).
  End last_end(Node socket, bool senders) {
    auto [it, fresh] = (senders ? senders_ : receivers_).emplace(socket, End{});
    End& e = it->second;
    if (!fresh) return e;
    for (const Step& st : senders ? src_.causes(socket) : src_.effects(socket)) {
      if (st.type != (senders ? Step::kGenerated : Step::kUsed)) continue;
      const json& a = g_.activity(senders ? st.cause.id : st.effect.id);
      const bool exited =
          a.contains("exit_code") && !a["exit_code"].is_null() && a["end"].is_object();
      const int64_t exit = exited ? a["end"].value("ns", kForever) : kForever;
      const int64_t end = senders ? std::min(exit, st.last) : exit;
      if (end == kForever) return e = End{kForever, false};
      const bool instant = senders && st.first == st.last && end < exit;
      if (end > e.at) e = End{end, end < exit && !instant, instant};
    }
    if (e.at == 0) e.at = kForever;
    return e;
  }

  LineageGraph& g_;
  LineageSource& src_;
  std::map<Node, End> senders_, receivers_;
};

// Per-file tools: `gzip a b` reads a, writes a.gz, then reads b and writes b.gz; b.gz's
// writer read a too, before b.gz began, but a went into a.gz. Process-level lineage cannot
// tell what stayed in its memory (a configuration read once is in every output), so nothing
// is dropped: a read by a writer shown in full that began before the writer finished
// another file and ended before it began the file of the answer is said to be maybe for
// that other file (Answer::earlier_batch). Not a file it read back (sort's temporary
// files: their data goes on into the output).
class Batches {
 public:
  Batches(LineageGraph& g, LineageSource& src) : g_(g), src_(src) {}

  struct Finished {
    const Step* step;  // its write of the file or reply (src_'s, which keeps it)
    int64_t file;
    int64_t end;           // when it was finished
    bool closed = false;   // a reply: `end` is the server's FIN (else its receiver's exit)
    bool instant = false;  // a reply whose sends are instants (events.h v11): `end` is a
                           // reported send of it, after which it sent nothing new
  };

  // The other file `writer` finished first after `read` began, before it began writing
  // at `begin` a file of `own` (the answer's), when `read` ended before then: nullptr if
  // none.
  const Finished* earlier_output(Node writer, const Step& read, int64_t begin,
                                 const std::set<int64_t>& own) {
    if (read_end(read) >= begin) return nullptr;
    const std::vector<Finished>& done = finished(writer);  // by the time it was finished
    auto it = std::upper_bound(done.begin(), done.end(), read.first,
                               [](int64_t t, const Finished& f) { return t < f.end; });
    for (; it != done.end() && it->end < begin; ++it)
      if (own.count(it->file) == 0 && !request_of(*it->step, read))
        return configuration(writer, read, it->end) ? nullptr : &*it;
    return nullptr;
  }

  // Whether `send` went the other way on the connection `read` came over, before the read
  // began: a client's request, which the reply it read answers (a server's reply, sent
  // after its read of the request, is a batch of that read's as above).
  bool request_of(const Step& send, const Step& read) {
    if (send.how != "send" || send.first > read.first || !is_socket(read.cause)) return false;
    const std::string back = reversed(g_.entity(send.effect.id).value("path", ""));
    return !back.empty() && back == g_.entity(read.cause.id).value("path", "");
  }
  // "tcp A → B" for "tcp B → A" (the names of a connection's two directions); "" otherwise.
  static std::string reversed(const std::string& name) {
    static const std::string kArrow = " → ";
    const size_t space = name.find(' '), arrow = name.find(kArrow);
    if (space == std::string::npos || arrow == std::string::npos || arrow < space) return "";
    return name.substr(0, space + 1) + name.substr(arrow + kArrow.size()) + kArrow +
           name.substr(space + 1, arrow - space - 1);
  }

  // A server's set-up: a file it read before it began its first output, with a connection
  // received after that read and before the output finished at `output_end`. Its batches
  // are its connections; what it read before the first is read once for all (server.conf).
  bool configuration(Node writer, const Step& read, int64_t output_end) {
    if (is_socket(read.cause)) return false;
    const std::vector<Finished>& done = finished(writer);
    int64_t first_output = kForever;
    for (const Finished& f : done) first_output = std::min(first_output, f.step->first);
    if (read.last >= first_output) return false;
    for (const Step& st : src_.causes(writer))
      if (st.type == Step::kUsed && st.first > read.last && st.first < output_end &&
          is_socket(st.cause))
        return true;
    return false;
  }

  bool is_socket(const Node& e) { return g_.entity(e.id).value("kind", "") == "socket"; }

  // What makes the batches: files written, and what a server sent on a connection.
  bool output_kind(const Step& write) {
    const std::string kind = g_.entity(write.effect.id).value("kind", "");
    return kind == "file" || (kind == "socket" && write.how == "send");
  }

  Answer::EarlierOutput describe(const Finished& output) {
    const json& e = g_.entity(output.step->effect.id);
    if (is_socket(output.step->effect)) {
      Answer::EarlierOutput o{e.value("path", ""), output.end, 0, true, output.closed};
      o.sent_instant = output.instant;
      return o;
    }
    const json& names = e.value("paths", json::array());
    std::string path = e.value("path", "");
    if (!names.empty() && names.back().is_string() && names.back() != path)
      path += " (now " + names.back().get<std::string>() + ")";  // sed -i's temporary file
    return {path, output.end};
  }

  int64_t file_of(const Node& e) { return g_.entity(e.id)["file"].value("id", 0LL); }

  // A bound on the end of `read`: its last read of a file (the handle's release), else the
  // reader's end; for a connection, also the exit of the last process that sent on it (a
  // server's read of it may end later, draining what was sent, but nothing came after).
  // An instant (a stream socket's reported receive, events.h v11) ends where it began.
  int64_t read_end(const Step& read) {
    if (!is_socket(read.cause) || read.first == read.last) return read.last;
    return std::min(read.last, ends_.senders(read.cause));
  }
  bool sender_closed(const Step& read) {
    return is_socket(read.cause) && ends_.senders_closed(read.cause);
  }
  bool sender_instant(const Step& read) {
    return is_socket(read.cause) && ends_.senders_instant(read.cause);
  }

 private:
  // The files it wrote data into and finished, but never read (a scratch file's data goes
  // on into what it writes next: sort's temporary files), and the replies it sent on
  // connections, by when it finished them. A reply's sends are reported again after news
  // (events.h v11): each reported send is an instant, after which it sent nothing new
  // until the next; a reply seen once (one whose reports ran out, or a record from before
  // v11) is finished when the server sent its FIN, else when the last process that
  // received it exited.
  const std::vector<Finished>& finished(Node writer) {
    auto [it, fresh] = finished_.emplace(writer, std::vector<Finished>());
    if (!fresh) return it->second;
    std::set<int64_t> read_back;
    for (const Step& st : src_.causes(writer))
      if (st.type == Step::kUsed) read_back.insert(file_of(st.cause));
    for (const Step& st : src_.effects(writer))
      if (st.type == Step::kGenerated &&
          (st.how == "write" || st.how == "create" || st.how == "send") && !puts_no_data(st) &&
          output_kind(st) && read_back.count(file_of(st.effect)) == 0) {
        const bool instant = st.how == "send" && st.first == st.last;
        const int64_t gone = st.how == "send" && !instant ? ends_.receivers(st.effect) : kForever;
        const int64_t end = std::min(st.last, gone);
        if (end != kForever)
          it->second.push_back({&st, file_of(st.effect), end,
                                st.how == "send" && !instant && st.last < gone, instant});
      }
    std::sort(it->second.begin(), it->second.end(),
              [](const Finished& a, const Finished& b) { return a.end < b.end; });
    return it->second;
  }

  LineageGraph& g_;
  LineageSource& src_;
  std::map<Node, std::vector<Finished>> finished_;
  ConnectionEnds ends_{g_, src_};
};

// The steps between `act` and the answer's roots, reached from a root without passing
// through `act`: backward, its writes the roots came from; forward, its reads of what
// reached it from the roots. Not those reached only through `act` itself: a server's
// reply A is in the answer of its reply B when client A sent the request the server read
// (client A may have sent again after receiving reply A); what A sent is no data of the
// root's in `impact`.
// Not through `skip` (reads already said to be maybe only for an earlier output).
std::vector<const Step*> steps_toward_roots(
    const Answer& a, const Node& act, const StepIndex& toward_roots,
    const std::map<Step, Answer::EarlierOutput>* skip = nullptr) {
  std::vector<const Step*> out;
  std::set<Node> seen;
  std::vector<Node> todo;
  for (const auto& [root, bound] : a.roots) todo.push_back(root);
  while (!todo.empty()) {
    const Node n = todo.back();
    todo.pop_back();
    if (!seen.insert(n).second) continue;
    auto it = toward_roots.find(n);
    if (it == toward_roots.end()) continue;
    for (const Step* st : it->second) {
      if (skip != nullptr && skip->count(*st) != 0) continue;
      const Node& next = a.backward ? st->cause : st->effect;
      if (next == act)
        out.push_back(st);
      else
        todo.push_back(next);
    }
  }
  return out;
}

// The writers shown in full of the answer's files and replies: when each began its first
// output in the answer, and those outputs (file ids). With `by_effect`, a writer of several
// counts only those the roots came from (steps_toward_roots, not through a read already
// said to be for an earlier output).
struct AnswerOutputs {
  std::map<Node, std::vector<int64_t>> starts;  // when each began, in time
  std::map<Node, std::set<int64_t>> own;
  // The first of `writer`'s outputs in the answer begun at or after t (what a read at t can
  // be in: a server's port file written before it read a.txt is not), 0 if none.
  int64_t begun_after(Node writer, int64_t t) const {
    auto s = starts.find(writer);
    if (s == starts.end()) return 0;
    auto it = std::lower_bound(s->second.begin(), s->second.end(), t);
    return it == s->second.end() ? 0 : *it;
  }
};
AnswerOutputs answer_outputs(Batches& batches, const Answer& a, const StepIndex* by_effect) {
  StepIndex outputs;  // writer -> its writes in the answer
  for (const Step& st : a.steps) {
    if (st.type != Step::kGenerated || puts_no_data(st) || !batches.output_kind(st)) continue;
    auto n = a.nodes.find(st.cause);
    if (n != a.nodes.end() && n->second == Answer::kFull) outputs[st.cause].push_back(&st);
  }
  AnswerOutputs o;
  for (auto& [writer, writes] : outputs) {
    if (by_effect != nullptr && writes.size() > 1)  // one is
      writes = steps_toward_roots(a, writer, *by_effect, &a.earlier_batch);
    for (const Step* st : writes) {
      if (st->type != Step::kGenerated || puts_no_data(*st) || !batches.output_kind(*st)) continue;
      o.starts[writer].push_back(st->first);
      o.own[writer].insert(batches.file_of(st->effect));
    }
  }
  for (auto& [writer, starts] : o.starts) std::sort(starts.begin(), starts.end());
  return o;
}

// One pass of mark_batches.
void mark_batches_once(Batches& batches, Answer* a) {
  StepIndex by_effect;
  for (const Step& st : a->steps) by_effect[st.effect].push_back(&st);
  const AnswerOutputs outputs = answer_outputs(batches, *a, &by_effect);
  using Mark = std::pair<Step, const Batches::Finished*>;  // a read, the earlier output
  std::map<Node, int> inputs;                              // writer -> its reads shown
  std::map<Node, std::vector<Mark>> marks;
  for (const Step& st : a->steps) {
    if (st.type != Step::kUsed || a->program_reads.count(st) != 0) continue;
    const int64_t begin = outputs.begun_after(st.effect, st.first);
    if (begin == 0) continue;
    inputs[st.effect]++;
    if (const Batches::Finished* o =
            batches.earlier_output(st.effect, st, begin, outputs.own.at(st.effect)))
      marks[st.effect].push_back({st, o});
  }
  for (const auto& [writer, marked] : marks) {
    // Every input said to be for an earlier file: then the file came from none of them,
    // which cannot be; the batches are not what the times suggest (a threaded server whose
    // clients overlapped). Nothing is said.
    if (static_cast<int>(marked.size()) == inputs[writer]) continue;
    for (const auto& [st, o] : marked) {
      Answer::EarlierOutput& e = a->earlier_batch[st] = batches.describe(*o);
      if (const int64_t end = batches.read_end(st); end < st.last) {
        e.sender_end = end;
        e.sender_closed = batches.sender_closed(st);
        e.sender_instant = batches.sender_instant(st);
      }
    }
  }
}

// Pipes (events.h v10: each read and write an instant). A reader of the answer that took in
// a writer's message at its first read after it, and then finished another file of its
// own before it began the answer's (a pool's parent writing each result to its own file):
// the message maybe went only into that file. What the writer read for that message (after
// its message before it on that pipe) is said to be maybe only for that file (a worker's
// earlier input). The reader's own reads of the pipe are one line in the text (the latest
// before the bound), so the note is said at the writer's reads.
void mark_pipe_batches(LineageGraph& g, LineageSource& src, Batches& batches, Answer* a) {
  auto [starts, own] = answer_outputs(batches, *a, nullptr);  // readers' outputs
  // A writer's message (its write step of the pipe) -> the reader's earlier output.
  std::map<Step, std::pair<Node, const Batches::Finished*>> for_earlier;
  std::set<std::pair<Node, Node>> done;  // (reader, pipe)
  // Per reader, the pipes every message of which it took in for an earlier file.
  std::map<Node, std::set<Node>> only_earlier;
  for (const Step& u : a->steps) {
    if (u.type != Step::kUsed || !is_pipe(g, u.cause)) continue;
    auto b = starts.find(u.effect);
    if (b == starts.end() || !done.insert({u.effect, u.cause}).second) continue;
    const int64_t begun = b->second.front();  // its first output in the answer
    std::vector<int64_t> reads;               // the reader's reads of the pipe, in time
    for (const Step& r : src.causes(u.effect))
      if (r.type == Step::kUsed && r.cause == u.cause && r.last == r.first)
        reads.push_back(r.first);
    std::sort(reads.begin(), reads.end());
    int taken = 0, earlier = 0;
    for (const Step& w : src.causes(u.cause)) {
      if (w.type != Step::kGenerated || w.last != w.first || w.first >= begun) continue;
      auto r = std::lower_bound(reads.begin(), reads.end(), w.first);
      if (r == reads.end() || *r >= begun) continue;
      taken++;
      Step took = u;
      took.first = took.last = *r;
      if (const Batches::Finished* o =
              batches.earlier_output(u.effect, took, begun, own[u.effect])) {
        for_earlier[w] = {u.effect, o};
        earlier++;
      }
    }
    if (taken > 0 && earlier == taken) only_earlier[u.effect].insert(u.cause);
  }
  // A reader all of whose data inputs would be said to be for earlier files (`gzip -d <
  // t.tgz | tar x`: one message, taken in before tar finished the first file; the later
  // ones came from it too) made the file from one of them: nothing is said, as for files
  // (mark_batches_once).
  for (const auto& [reader, pipes] : only_earlier) {
    bool other = false;
    for (const Step& st : a->steps)
      if (st.type == Step::kUsed && st.effect == reader && a->program_reads.count(st) == 0 &&
          pipes.count(st.cause) == 0 && a->earlier_batch.count(st) == 0)
        other = true;
    if (other) continue;
    for (auto it = for_earlier.begin(); it != for_earlier.end();)
      it = it->second.first == reader ? for_earlier.erase(it) : std::next(it);
  }
  if (for_earlier.empty()) return;
  std::set<Node> noted;  // the pipes of those messages
  for (const auto& [w, o] : for_earlier) noted.insert(w.effect);
  // Each writer's reads of the answer: the message it wrote next after the read (on such a
  // pipe: not its stderr).
  for (const Step& x : a->steps) {
    if (x.type != Step::kUsed || a->program_reads.count(x) != 0 || a->earlier_batch.count(x))
      continue;
    const Step* next = nullptr;
    for (const Step& w : src.effects(x.effect))
      if (w.type == Step::kGenerated && w.last == w.first && noted.count(w.effect) != 0 &&
          w.first > x.first && (next == nullptr || w.first < next->first))
        next = &w;
    if (next == nullptr) continue;
    auto f = for_earlier.find(*next);
    if (f == for_earlier.end()) continue;
    Answer::EarlierOutput e = batches.describe(*f->second.second);
    e.pipe = g.entity(next->effect.id).value("path", "");
    e.sent_at = next->first;
    e.reader = f->second.first.id;
    a->earlier_batch[x] = e;
  }
}

// For each thread of `writer` not in `writing`, a version it wrote of a file not in `files`:
// the thread's file of its own (mark_thread_batches, mark_later_thread_batches).
std::map<uint32_t, int64_t> other_threads_outputs(LineageSource& src, Batches& batches, Node writer,
                                                  const std::set<uint32_t>& writing,
                                                  const std::set<int64_t>& files) {
  std::map<uint32_t, int64_t> out;
  for (const auto& [entity, tids] : src.thread_io(writer.id, /*write=*/true)) {
    if (files.count(batches.file_of(Node::entity(entity))) != 0) continue;
    for (uint32_t tid : tids)
      if (writing.count(tid) == 0) out.emplace(tid, entity);
  }
  return out;
}

// Threads (LINEAGE.md "Threads"): where the record knows which threads of a writer read and
// wrote what (thread_io: files on the mounts, a process that made threads), the threads that
// wrote the answer's files are its batch. A read that only other threads made, one of which
// wrote a file of its own (a thread pool's worker: one file in, one out), is maybe only for
// that thread's file. Not a read a writing thread made too, nor one whose threads wrote
// nothing (an acceptor thread that hands requests to workers); nothing is said where every
// input would be so marked.
void mark_thread_batches(LineageGraph& g, Batches& batches, LineageSource& src, Answer* a) {
  StepIndex by_effect;
  for (const Step& st : a->steps) by_effect[st.effect].push_back(&st);
  auto own = answer_outputs(batches, *a, &by_effect).own;
  std::map<Node, std::set<uint32_t>> writing;  // writer -> threads that wrote its answer files
  for (const Step& st : a->steps) {
    auto o = own.find(st.cause);
    if (st.type != Step::kGenerated || o == own.end() ||
        o->second.count(batches.file_of(st.effect)) == 0)
      continue;
    const auto& wrote = src.thread_io(st.cause.id, /*write=*/true);
    if (auto w = wrote.find(st.effect.id); w != wrote.end())
      writing[st.cause].insert(w->second.begin(), w->second.end());
  }
  for (const auto& [writer, threads] : writing) {
    const std::map<uint32_t, int64_t> other_output =
        other_threads_outputs(src, batches, writer, threads, own[writer]);
    if (other_output.empty()) continue;
    const auto& read = src.thread_io(writer.id, /*write=*/false);
    size_t inputs = 0;
    std::vector<std::tuple<Step, uint32_t, int64_t>> marked;  // read, its thread, that one's file
    for (const Step& st : a->steps) {
      if (st.type != Step::kUsed || st.effect != writer || a->program_reads.count(st) != 0)
        continue;
      inputs++;
      auto r = read.find(st.cause.id);
      if (r == read.end()) continue;
      bool by_writer = false;
      std::pair<uint32_t, int64_t> theirs{0, 0};
      for (uint32_t tid : r->second) {
        if (threads.count(tid) != 0) by_writer = true;
        if (auto o = other_output.find(tid); o != other_output.end() && theirs.first == 0)
          theirs = *o;
      }
      if (!by_writer && theirs.first != 0) marked.emplace_back(st, theirs.first, theirs.second);
    }
    if (marked.empty() || marked.size() == inputs) continue;
    for (const auto& [st, tid, entity] : marked) {  // over what the times said: more exact
      Answer::EarlierOutput e;
      e.path = g.entity(entity).value("path", "");
      e.thread = tid;
      a->earlier_batch[st] = e;
    }
  }
}

// Backward: the reads of the writers of the file asked about that were maybe only for an
// earlier file (Answer::earlier_batch).
//
// A writer's outputs of the answer are those the roots came from; not one reached only
// through a read already said to be maybe only for an earlier output (a long-lived client
// that fetched a, saved it, then fetched b: reply A reaches b's answer through the
// client's read of it, which is maybe only for a's file; so reply A is not the server's
// output here, and what it read for reply A is maybe only for that one). Repeated until no
// new read is marked.
void mark_batches(LineageGraph& g, LineageSource& src, Answer* a) {
  Batches batches(g, src);
  for (int pass = 0; pass < 4; pass++) {
    const size_t marked = a->earlier_batch.size();
    mark_batches_once(batches, a);
    if (a->earlier_batch.size() == marked) break;
  }
  mark_pipe_batches(g, src, batches, a);
  mark_thread_batches(g, batches, src, a);
}

// Forward: the files a reader of what is asked about began after its reads of it ended and
// it finished another file: maybe not from them (Answer::later_batch).
// Forward, the same for threads (mark_thread_batches): a file a writer's threads wrote none
// of whose reads of the root's data they made, when the threads that made them wrote a file
// of their own, and the writing threads made some other read of the writer: maybe not from
// the root's data (the other workers' outputs of a thread pool).
void mark_later_thread_batches(LineageGraph& g, Batches& batches, LineageSource& src,
                               const StepIndex& reads, Answer* a) {
  for (const Step& st : a->steps) {
    if (st.type != Step::kGenerated || puts_no_data(st)) continue;
    auto r = reads.find(st.cause);
    if (r == reads.end()) continue;
    const auto& wrote = src.thread_io(st.cause.id, /*write=*/true);
    auto w = wrote.find(st.effect.id);
    if (w == wrote.end()) continue;
    const std::set<uint32_t>& writing = w->second;
    const std::map<uint32_t, int64_t> other_output =
        other_threads_outputs(src, batches, st.cause, writing, {batches.file_of(st.effect)});
    const auto& read = src.thread_io(st.cause.id, /*write=*/false);
    std::pair<uint32_t, int64_t> theirs{0, 0};
    bool all = true;
    for (const Step* u : r->second) {
      auto t = read.find(u->cause.id);
      bool elsewhere = t != read.end();
      for (uint32_t tid : elsewhere ? t->second : std::set<uint32_t>()) {
        if (writing.count(tid) != 0) elsewhere = false;
        if (auto o = other_output.find(tid); o != other_output.end() && theirs.first == 0)
          theirs = *o;
      }
      all = all && elsewhere;
    }
    if (!all || theirs.first == 0) continue;
    // The writing threads read something else: the file came from that.
    bool other = false;
    for (const auto& [entity, tids] : read)
      for (uint32_t tid : tids) other = other || writing.count(tid) != 0;
    if (!other) continue;
    Answer::EarlierOutput e;  // over what the times said, if they did: more exact
    e.path = g.entity(theirs.second).value("path", "");
    e.thread = theirs.first;
    a->later_batch[st] = e;
  }
}

void mark_later_batches(LineageGraph& g, LineageSource& src, RuntimeRule& rule, Answer* a) {
  Batches batches(g, src);
  StepIndex by_cause, reads;  // reads: reader -> its reads of the root's data
  for (const Step& st : a->steps) {
    by_cause[st.cause].push_back(&st);
    if (st.type == Step::kUsed && st.how != "program") reads[st.effect].push_back(&st);
  }
  for (auto& [reader, used] : reads)
    if (used.size() > 1) {  // one is toward the roots
      used.clear();
      for (const Step* st : steps_toward_roots(*a, reader, by_cause))
        if (st->type == Step::kUsed && st->how != "program") used.push_back(st);
    }
  for (const Step& st : a->steps) {
    if (st.type != Step::kGenerated || puts_no_data(st)) continue;
    auto r = reads.find(st.cause);
    if (r == reads.end()) continue;
    const std::set<int64_t> own = {batches.file_of(st.effect)};
    // Only when every read that brought the root's data ended before such another file.
    const Batches::Finished* batch = nullptr;
    bool all = true;
    for (const Step* u : r->second) {
      const Batches::Finished* o = batches.earlier_output(st.cause, *u, st.first, own);
      all = all && o != nullptr;
      if (o != nullptr && (batch == nullptr || o->end > batch->end)) batch = o;
    }
    if (!all || batch == nullptr) continue;
    // And only when some other data read of the writer (not its runtime), before it ended
    // this file, was not for an earlier one: else the file came from nothing (clients that
    // overlapped).
    bool other = false;
    for (const Step& u : src.causes(st.cause)) {
      other = u.type == Step::kUsed && u.how != "program" && u.first < st.last &&
              batches.earlier_output(st.cause, u, st.first, own) == nullptr &&
              rule.classify(g.db(), g.entity(u.cause.id), g.activity(st.cause.id)).empty();
      if (other) break;
    }
    if (other) a->later_batch[st] = batches.describe(*batch);
  }
  mark_later_thread_batches(g, batches, src, reads, a);
}

Answer answer_backward(LineageGraph& g, LineageSource& src,
                       const std::vector<std::pair<Node, int64_t>>& roots, AnswerOptions& options) {
  Answer a;
  set_answer_day(g, roots);
  a.backward = true;
  a.all = options.all;
  a.roots = roots;
  // Runtime reads are classified as the search meets them: counted, never walked.
  std::map<std::pair<int64_t, int64_t>, std::string> runtime;  // (activity, entity) -> why
  // A file whose bytes it copied into a file is that file's data (`shutil.copyfile
  // ("/etc/passwd", out)`), whatever its prefix: in the answer for that file, or for one its
  // data reached (the search met a version of it), not for the process's other outputs
  // (git clone's hook templates are not in the files it checked out). The versions met:
  // the roots, then every version a search met, searching again while that adds one whose
  // copies were held back as runtime.
  std::set<int64_t> copy_targets;
  for (const auto& [n, t] : roots)
    if (n.kind == Node::kEntity) copy_targets.insert(n.id);
  bool copy_held = false;  // a read copied into a version not met was classified runtime
  StepFilter follow = nullptr;
  if (!options.all) {
    follow = [&](const Step& st) {
      if (st.type != Step::kUsed) return true;
      auto key = std::make_pair(st.effect.id, st.cause.id);
      auto it = runtime.find(key);
      if (it == runtime.end()) {
        const bool copied = src.copied_from(st.effect.id, st.cause.id);
        const bool here = copied && src.copied_into(st.effect.id, st.cause.id, copy_targets);
        std::string why =
            here ? ""
                 : options.rule.classify(g.db(), g.entity(st.cause.id), g.activity(st.effect.id));
        if (copied && !here && !why.empty()) copy_held = true;
        if (why.empty() && own_scratch_file(g.db(), st.cause.id, st.effect.id, st.first))
          why = "files it wrote itself";
        if (why.empty() && own_stream(g.db(), st.cause.id, st.effect.id))
          why = "pipes and sockets it wrote itself";
        it = runtime.emplace(key, std::move(why)).first;
      }
      return it->second.empty();
    };
  }
  SearchResult s =
      search_backward(src, roots, options.depth, follow, !options.all, options.max_nodes);
  for (int pass = 0; copy_held && pass < 4 && !s.over_budget; pass++) {
    const size_t before = copy_targets.size();
    for (const auto& [n, reach] : s.nodes)
      if (n.kind == Node::kEntity) copy_targets.insert(n.id);
    if (copy_targets.size() == before) break;
    runtime.clear();
    copy_held = false;
    s = search_backward(src, roots, options.depth, follow, !options.all, options.max_nodes);
  }
  if (s.over_budget) {
    a.over_budget = true;
    return a;
  }
  a.reach = s.nodes;
  a.depth = options.depth;
  if (options.all) {
    for (const auto& [n, reach] : s.nodes) a.nodes[n] = Answer::kFull;
    a.steps = s.steps;
    keep_shown_beyond(beyond_depth(s, true), &a);
    find_gaps(g, &a);
    return a;
  }
  for (const Step& st : s.held) {
    const std::string& why = runtime[{st.effect.id, st.cause.id}];
    if (why == RuntimeRule::kExecOpen) continue;  // the exec, no read: not counted either
    Answer::Folded& f = a.runtime[st.effect.id];
    f.count++;
    f.by_reason[why]++;
    f.first_of.emplace(why, st.cause.id);
  }
  // What copies left out: the reads (not runtime ones) a restricted process made in time
  // that no path walked. A copied read the depth bound cut is not one of them: the answer
  // says where it stopped instead.
  for (const Node& act : s.restricted) {
    const int64_t bound = s.nodes.at(act).bound;
    for (const Step& st : src.causes(act))
      if (st.type == Step::kUsed && backward_allowed(st, bound) && s.steps.count(st) == 0 &&
          s.cut.count(st) == 0 && follow(st))
        a.runtime[act.id].not_copied.insert(st.cause.id);
  }
  for (const Step& st : s.steps) {
    if (st.type != Step::kGenerated) continue;
    const int64_t restriction = src.copy_restriction(st);
    if (restriction == 0) continue;
    std::set<int64_t>& copied = a.copied_into[{st.cause.id, st.effect.id}];
    for (const Step& u : src.restricted_steps(restriction))
      if (u.type == Step::kUsed) copied.insert(u.cause.id);
    if (src.relays(st.cause.id)) a.relays.insert(st.cause.id);
  }
  StepIndex causes;
  for (const Step& st : s.steps) causes[st.effect].push_back(&st);
  const std::set<Node> beyond = beyond_depth(s, true);
  std::set<Step> compiled;
  for (const Step& st : s.steps)
    if (compiled_bytecode(g, st)) compiled.insert(st);
  keep_backward(g, src, causes, carries_data(g, src, s, causes, beyond), compiled, &a);
  mark_batches(g, src, &a);
  // Folded reads of processes that are not shown are not counted either.
  for (auto it = a.runtime.begin(); it != a.runtime.end();) {
    auto n = a.nodes.find(Node::activity(it->first));
    it = n == a.nodes.end() || n->second != Answer::kFull ? a.runtime.erase(it) : std::next(it);
  }
  for (const auto& [n, reach] : s.nodes) {
    if (a.nodes.count(n) != 0) continue;
    (n.kind == Node::kActivity ? a.left_out_activities : a.left_out_entities)++;
  }
  keep_shown_beyond(beyond, &a);
  find_gaps(g, &a);
  return a;
}

Answer answer_forward(LineageGraph& g, LineageSource& src,
                      const std::vector<std::pair<Node, int64_t>>& roots, AnswerOptions& options) {
  Answer a;
  set_answer_day(g, roots);
  a.backward = false;
  a.all = options.all;
  a.roots = roots;
  // A rename, chmod, chown, truncation or empty create by a process puts none of what it
  // had read into the file (puts_no_data): the short answer does not go that way (vim's
  // rename of conf to conf~ before it writes the new conf: what it read is not in conf~).
  // Nor into a POSIX semaphore's file (multiprocessing's locks): it holds a count, whatever
  // its writer had read, as `why` folds it.
  StepFilter follow = nullptr;
  if (!options.all)
    follow = [&g](const Step& st) {
      if (st.type != Step::kGenerated) return true;
      const json& e = g.entity(st.effect.id);
      const bool semaphore = e.value("kind", "") == "file" && !e["file"]["source"].is_string() &&
                             bento::collector::posix_semaphore(e.value("path", ""));
      return !puts_no_data(st) && !semaphore;
    };
  SearchResult s =
      search_forward(src, roots, options.depth, !options.all, follow, options.max_nodes);
  if (s.over_budget) {
    a.over_budget = true;
    return a;
  }
  a.reach = s.nodes;
  a.depth = options.depth;
  for (const auto& [n, reach] : s.nodes) a.nodes[n] = Answer::kFull;
  a.steps = s.steps;
  mark_later_batches(g, src, options.rule, &a);
  // A forked image that read nothing reached itself and exec'd: what its parent had read
  // reaches the program only through its command line and environment. Followed (a secret
  // a shell passed to `curl -d "$K"` left that way), but said (Answer::argv_only_forks).
  std::set<Node> readers;
  for (const Step& st : s.steps)
    if (st.type == Step::kUsed) readers.insert(st.effect);
  for (const Step& st : s.steps)
    if (st.type == Step::kInformed && st.how == "exec" && readers.count(st.cause) == 0 &&
        g.activity(st.cause.id).value("origin", "") == "fork")
      a.argv_only_forks.insert(st.cause.id);
  keep_shown_beyond(beyond_depth(s, false), &a);
  find_gaps(g, &a);
  return a;
}

namespace {

// Entities by path, then version (a summary's order).
std::vector<Node> in_path_order(LineageGraph& g, std::vector<Node> nodes) {
  std::vector<std::pair<std::pair<std::string, int64_t>, Node>> keyed;
  for (const Node& n : nodes) {
    const json& e = g.entity(n.id);
    keyed.push_back({{e.value("path", ""), e.value("version", int64_t{0})}, n});
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<Node> out;
  for (const auto& [key, n] : keyed) out.push_back(n);
  return out;
}

}  // namespace

std::vector<Node> answer_origins(LineageGraph& g, const Answer& a) {
  if (!a.backward) return {};
  // Read by a process shown for its data (not only the program of who ran one).
  std::set<Node> made, roots, read;
  for (const Step& st : a.steps) {
    if (st.type == Step::kGenerated || st.type == Step::kVersion) made.insert(st.effect);
    auto by = a.nodes.find(st.effect);
    if (st.type == Step::kUsed && by != a.nodes.end() && by->second == Answer::kFull)
      read.insert(st.cause);
  }
  for (const auto& [n, bound] : a.roots) roots.insert(n);
  std::vector<Node> found;
  for (const auto& [n, shown] : a.nodes)
    if (n.kind == Node::kEntity && shown == Answer::kFull && roots.count(n) == 0 &&
        made.count(n) == 0 && read.count(n) != 0 && a.beyond_depth.count(n) == 0 &&
        !is_stream(g, n))
      found.push_back(n);
  return in_path_order(g, std::move(found));
}

std::vector<Node> answer_reached(LineageGraph& g, const Answer& a) {
  if (a.backward) return {};
  const auto file_of = [&](Node n) {
    const json& e = g.entity(n.id);
    auto f = e.find("file");
    return f != e.end() && f->is_object() ? f->value("id", int64_t{0}) : int64_t{0};
  };
  std::set<int64_t> asked;  // the files asked about: their later versions are no news
  for (const auto& [n, bound] : a.roots) asked.insert(file_of(n));
  // A file reached in several versions is named once, by its newest one's path: a temp
  // file mv'd into place is where the data went under its final name.
  std::map<int64_t, Node> newest;
  std::vector<Node> found;
  for (const auto& [n, shown] : a.nodes) {
    if (n.kind != Node::kEntity || is_stream(g, n)) continue;
    const int64_t file = file_of(n);
    if (file == 0) {
      found.push_back(n);  // a remote peer
    } else if (asked.count(file) == 0) {
      auto [it, fresh] = newest.emplace(file, n);
      if (!fresh && g.entity(n.id).value("version", int64_t{0}) >
                        g.entity(it->second.id).value("version", int64_t{0}))
        it->second = n;
    }
  }
  for (const auto& [file, n] : newest) found.push_back(n);
  return in_path_order(g, std::move(found));
}

json answer_json(LineageGraph& g, const Answer& a, json header) {
  std::set<std::string> stream_writers;  // named by folded_streams: in the document too
  for (const auto& [n, shown] : a.nodes) {
    json& node = n.kind == Node::kEntity ? g.entity_mut(n.id) : g.activity_mut(n.id);
    if (node.empty()) continue;
    if (n.kind == Node::kEntity) g.annotate_status(n.id);
    if (n.kind == Node::kEntity && a.backward)  // "same_bytes_as" the version asked about
      for (const auto& [root, bound] : a.roots)
        if (root.kind == Node::kEntity) g.same_bytes(n.id, root.id);
    node["shown"] = shown == Answer::kFull       ? "full"
                    : shown == Answer::kAncestry ? "ancestry"
                                                 : "line";
    if (n.kind == Node::kActivity && a.argv_only_forks.count(n.id) != 0) node["argv_only"] = true;
    if (auto f = a.runtime.find(n.id); n.kind == Node::kActivity && f != a.runtime.end()) {
      node["runtime_reads"] = {{"count", f->second.count}, {"by", f->second.by_reason}};
      if (!f->second.not_copied.empty()) {  // not in the document: named here
        json paths = json::array();
        for (int64_t e : f->second.not_copied) paths.push_back(g.entity(e).value("path", ""));
        node["not_copied"] = {{"count", f->second.not_copied.size()}, {"paths", paths}};
      }
      if (f->second.streams > 0) {
        json writers = json::array();
        for (int64_t w : f->second.stream_writers) {
          g.activity(w);
          writers.push_back("a:" + std::to_string(w));
          stream_writers.insert("a:" + std::to_string(w));
        }
        node["folded_streams"] = {{"count", f->second.streams}, {"writers", writers}};
      }
    }
  }
  for (const Step& st : a.steps) g.add_step(st);
  auto output_json = [&](const Answer::EarlierOutput& o) {
    json j = {{"path", o.path}};
    if (o.thread != 0)
      j["thread"] = o.thread;  // another thread's file (mark_thread_batches): no time
    else
      j["finished"] = time_json(o.finished, g.wall_offset());
    if (o.sender_end != 0) j["sender_end"] = time_json(o.sender_end, g.wall_offset());
    if (o.sent) j["sent"] = true;
    if (o.closed) j["closed"] = true;
    if (o.sender_closed) j["sender_closed"] = true;
    if (o.sender_instant) j["sender_last_sent"] = true;
    if (!o.pipe.empty()) {
      j["pipe"] = o.pipe;
      j["sent_at"] = time_json(o.sent_at, g.wall_offset());
      j["reader"] = "a:" + std::to_string(o.reader);
    }
    return j;
  };
  for (const auto& [st, earlier] : a.earlier_batch)
    g.annotate_step(st, "before_output", output_json(earlier));
  for (const auto& [st, forks] : a.passed_reads) g.annotate_step(st, "passed_on", true);
  for (const auto& [st, earlier] : a.later_batch)
    g.annotate_step(st, "after_output", output_json(earlier));
  // wasDerivedFrom(process): what a shown process wrote from what it had read before its
  // last write of it.
  std::map<int64_t, std::vector<const Step*>> reads, writes;
  for (const Step& st : a.steps) {
    if (st.type == Step::kUsed) reads[st.effect.id].push_back(&st);
    if (st.type == Step::kGenerated) writes[st.cause.id].push_back(&st);
  }
  for (const auto& [act, ws] : writes) {
    auto r = reads.find(act);
    if (r == reads.end()) continue;
    for (const Step* w : ws) {
      auto copy = a.copied_into.find({act, w->effect.id});  // a copy: what it copied only
      for (const Step* u : r->second)
        if (u->first < w->last && u->cause != w->effect && a.earlier_batch.count(*u) == 0 &&
            (copy == a.copied_into.end() || copy->second.count(u->cause.id) != 0))
          g.add_process_derivation(w->effect.id, u->cause.id, act, w->first);
    }
  }
  // The document holds the answer's nodes only (the graph object also read others while
  // deciding what to fold), and the activities their status and removal name.
  std::set<std::string> only = stream_writers;
  for (const auto& [n, shown] : a.nodes) {
    only.insert((n.kind == Node::kEntity ? "e:" : "a:") + std::to_string(n.id));
    if (n.kind != Node::kEntity) continue;
    for (const auto& l : g.invalidations(n.id))
      if (l.id != 0) only.insert("a:" + std::to_string(l.id));
    const json& st = g.entity(n.id).value("status", json::object());
    if (st.contains("by") && st["by"].is_string()) only.insert(st["by"].get<std::string>());
    if (st.contains("next") && st["next"].is_string()) only.insert(st["next"].get<std::string>());
  }
  header["left_out"] = {{"activities", a.left_out_activities}, {"entities", a.left_out_entities}};
  json summary = json::array();
  for (const Node& n : a.backward ? answer_origins(g, a) : answer_reached(g, a))
    summary.push_back("e:" + std::to_string(n.id));
  header[a.backward ? "origins" : "reached"] = std::move(summary);
  header["gaps"] = a.gaps;
  // Where the search stopped at --depth with more left: the answer is partial there.
  json beyond = json::array();
  for (const Node& n : a.beyond_depth)
    beyond.push_back((n.kind == Node::kEntity ? "e:" : "a:") + std::to_string(n.id));
  header["complete"] = a.beyond_depth.empty();
  header["beyond_depth"] = std::move(beyond);
  return g.to_json(std::move(header), &only);
}

}  // namespace prov_cli
