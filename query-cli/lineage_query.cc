#include "lineage_query.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "file_identity.h"
#include "lineage_db_source.h"
#include "lineage_graph.h"
#include "lineage_text.h"

namespace prov_cli {

using bento::lineage::Stmt;
using nlohmann::json;

namespace {

const char* branch(bool last) {
  return last ? "└─ " : "├─ ";
}
const char* indent_for(bool last) {
  return last ? "   " : "│  ";
}

bool database_empty(bento::lineage::Database& db) {
  Stmt any(db.handle(), "SELECT 1 FROM activities UNION ALL SELECT 1 FROM entities LIMIT 1");
  return !any.step();
}
const char kEmpty[] = "the lineage database is empty: nothing has been collected yet";

// The inode generation from the file's NFS-export handle, for a file system that has one
// but no FS_IOC_GETVERSION: tmpfs (its handle is {generation, ino low, ino high}), and the
// generic {ino, generation} one. 0 when neither layout names this inode.
uint32_t generation_from_handle(const std::string& path, uint64_t ino) {
  struct {
    struct file_handle h;
    uint32_t words[8];
  } fh = {};
  fh.h.handle_bytes = sizeof fh.words;
  int mount_id = 0;
  if (name_to_handle_at(AT_FDCWD, path.c_str(), &fh.h, &mount_id, 0) != 0) return 0;
  constexpr int kIno32Gen = 1;  // FILEID_INO32_GEN
  if (fh.h.handle_type != kIno32Gen) return 0;
  const uint32_t* w = fh.words;
  if (fh.h.handle_bytes == 12 && (w[1] | static_cast<uint64_t>(w[2]) << 32) == ino) return w[0];
  if (fh.h.handle_bytes == 8 && w[0] == static_cast<uint32_t>(ino)) return w[1];
  return 0;
}

}  // namespace

bool disk_file(const std::string& path, DiskFile* out) {
  struct statx sx = {};
  if (statx(AT_FDCWD, path.c_str(), 0, STATX_TYPE | STATX_INO | STATX_BTIME, &sx) != 0 ||
      !S_ISREG(sx.stx_mode))
    return false;
  int generation = 0;
  if (int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC); fd >= 0) {
    if (ioctl(fd, FS_IOC_GETVERSION, &generation) != 0) generation = 0;
    close(fd);
  }
  // The probes read i_generation from the inode (events.h): tmpfs sets one, yet has no
  // ioctl for it; without it every file in /dev/shm (or a tmpfs /tmp) would look replaced.
  if (generation == 0) generation = static_cast<int>(generation_from_handle(path, sx.stx_ino));
  const uint64_t btime =
      (sx.stx_mask & STATX_BTIME) != 0
          ? static_cast<uint64_t>(sx.stx_btime.tv_sec) * 1000000000ULL + sx.stx_btime.tv_nsec
          : 0;
  out->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  out->ino = sx.stx_ino;
  out->gen = bento::collector::file_identity(static_cast<uint32_t>(generation), btime);
  return true;
}

namespace {

// The file outside the mounts the record has with that identity and no end, 0 if none.
// The identity must be known: an inode number alone may be another file's.
int64_t file_with_identity(bento::lineage::Database& db, const DiskFile& d) {
  if (d.gen == 0) return 0;
  Stmt q(db.handle(),
         "SELECT id FROM files WHERE source_id IS NULL AND dev = ? AND ino = ? AND gen = ? AND "
         "died_ns IS NULL ORDER BY id DESC LIMIT 1");
  q.bind(1, static_cast<int64_t>(d.dev)).bind(2, static_cast<int64_t>(d.ino)).bind(3, d.gen);
  return q.step() ? q.int64(0) : 0;
}

// Whether `file` (outside the mounts) is another file than d: its inode, or both
// identities known and different. false for files on a mount (the fs log names them).
bool another_file(bento::lineage::Database& db, int64_t file, const DiskFile& d) {
  Stmt q(db.handle(), "SELECT dev, ino, gen FROM files WHERE id = ? AND source_id IS NULL");
  q.bind(1, file);
  if (!q.step() || q.is_null(0)) return false;
  if (static_cast<uint64_t>(q.int64(0)) != d.dev || static_cast<uint64_t>(q.int64(1)) != d.ino)
    return true;
  const auto gen = static_cast<uint32_t>(q.int64(2));
  return gen != 0 && d.gen != 0 && gen != d.gen;
}

// The file `path` names (now, or most recently): 0 and *message when none. The record
// knows files outside the mounts by the names they were opened by: where the file on disk
// at `path` is another one (replaced since by something the record did not place), or the
// record has it under other names only (a hard link, a bind mount's other path, a rename
// in another mount namespace: LINEAGE.md §6), it is found by its identity, and *note
// says so.
int64_t file_named(bento::lineage::Database& db, const std::string& path, std::string* message,
                   std::string* note) {
  if (database_empty(db)) {
    *message = kEmpty;
    return 0;
  }
  Stmt q(db.handle(),
         "SELECT file_id FROM names WHERE path = ? ORDER BY (to_ns IS NULL) DESC, from_ns DESC, "
         "id DESC LIMIT 1");
  q.bind(1, path);
  const int64_t named = q.step() ? q.int64(0) : 0;
  DiskFile d;
  const bool on_disk = disk_file(path, &d);
  if (named != 0 && !(on_disk && another_file(db, named, d))) return named;
  if (int64_t same = on_disk ? file_with_identity(db, d) : 0; same != 0) {
    *note = named != 0 ? "the file now at this path is not the one the record names so: "
                         "found by its inode"
                       : "the record does not know this name: found by its inode";
    return same;
  }
  if (named != 0) {
    *note =
        "warning: the file now at this path is another one than the record's of this name "
        "(replaced by something the record did not see); this is the recorded file's lineage";
    return named;
  }
  // A directory has no content of its own to trace ("not on a tracked mount" would mislead
  // about one that is).
  if (struct stat st{}; stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    *message = "no provenance recorded for " + path +
               ": it is a directory (the answers are about files: ask about a file in it)";
    return 0;
  }
  *message = "no provenance recorded for " + path +
             " (not on a tracked mount and never opened by a tracked process, or written before "
             "tracking was enabled)";
  return 0;
}

std::vector<int64_t> versions_of(bento::lineage::Database& db, int64_t file) {
  Stmt v(db.handle(), "SELECT id FROM entities WHERE file_id = ? ORDER BY version");
  v.bind(1, file);
  std::vector<int64_t> out;
  while (v.step()) out.push_back(v.int64(0));
  return out;
}

// Where the forward search starts from a version: its creation. A version no recorded
// process made (the file was there before the record) is "created" when first stored, by
// the first activity kept that read it; a reader kept later may have read it earlier (its
// read lands on the first version, schema/SCHEMA.md), so such a version starts at its
// earliest read: its content was there all along.
int64_t forward_start_ns(bento::lineage::Database& db, int64_t entity) {
  Stmt q(db.handle(),
         "SELECT CASE WHEN EXISTS (SELECT 1 FROM generated g WHERE g.entity_id = e.id) "
         "THEN e.created_ns ELSE MIN(e.created_ns, COALESCE((SELECT MIN(u.time_ns) FROM used u "
         "WHERE u.entity_id = e.id), e.created_ns)) END FROM entities e WHERE e.id = ?");
  q.bind(1, entity);
  return q.step() ? q.int64(0) : 0;
}

// The default depth deepens an answer it cut short while that answer stays small
// (LINEAGE.md, "Where the depth bound stops"): a chain of forty copies is answered back
// to its source; a busy host's wide answer stays at the depth before it would pass
// kDeepenNodes and says where it stopped. An explicit --depth is kept as given.
// `answer` is answer_backward or answer_forward; `*depth` is the depth the answer was
// found at. One AnswerOptions serves every pass (the rule's caches carry over).
using Roots = std::vector<std::pair<Node, int64_t>>;
using AnswerFn = Answer (*)(LineageGraph&, LineageSource&, const Roots&, AnswerOptions&);
Answer deepening(int requested, int by_default, int* depth, AnswerFn answer, LineageGraph& g,
                 LineageSource& src, const Roots& roots, AnswerOptions& ao) {
  *depth = requested != 0 ? requested : by_default;
  ao.depth = *depth;
  ao.max_nodes = 0;
  Answer a = answer(g, src, roots, ao);
  while (requested == 0 && !a.beyond_depth.empty() && *depth * 2 <= kDeepestDefault) {
    ao.depth = *depth * 2;
    ao.max_nodes = kDeepenNodes;
    Answer deeper = answer(g, src, roots, ao);
    if (deeper.over_budget) break;
    *depth *= 2;
    a = std::move(deeper);
  }
  return a;
}

json header_of(const char* query, const std::string& path, const LineageOptions& o) {
  return {{"query", query}, {"path", path}, {"depth", o.depth}, {"all", o.all}};
}

// Marks (actions) touching the entities and activities of a graph, with their edges.
std::vector<LineageGraph::Mark> add_marks(LineageGraph& g, bento::lineage::Database& db,
                                          const json& doc) {
  std::set<int64_t> acts, ents;
  for (const json& a : doc["activities"]) acts.insert(std::stoll(a.value("id", "a:0").substr(2)));
  for (const json& e : doc["entities"]) ents.insert(std::stoll(e.value("id", "e:0").substr(2)));
  for (int64_t e : ents) {
    Stmt q(db.handle(), "SELECT DISTINCT activity_id FROM actions WHERE entity_id = ?");
    q.bind(1, e);
    while (q.step())
      if (!q.is_null(0)) acts.insert(q.int64(0));
  }
  // Only the marks about this graph's files, or about no file (signals, uid changes).
  std::vector<LineageGraph::Mark> out;
  for (int64_t a : acts)
    for (auto& m : g.marks(a, &ents)) out.push_back(std::move(m));
  return out;
}

}  // namespace

QueryResult why(bento::lineage::Database& db, const std::string& path, LineageOptions& o) {
  QueryResult r;
  std::string note;
  int64_t file = file_named(db, path, &r.message, &note);
  if (file == 0) return r;
  auto versions = versions_of(db, file);
  if (versions.empty()) {
    r.message = "no version of " + path + " is recorded";
    return r;
  }
  const int64_t root = versions.back();
  LineageGraph g(db, o.color);
  DbLineageSource src(db);
  AnswerOptions ao{0, o.all, o.rule};
  Answer a = deepening(o.depth, kWhyDepth, &o.depth, answer_backward, g, src,
                       {{Node::entity(root), kForever}}, ao);
  if (o.text) r.text = answer_text(g, a);
  if (std::string was = g.entity(root).value("path", "");
      o.text && (was != path || !note.empty())) {
    // Renamed since (e.g. written as a temporary file, then moved over `path`).
    r.text = g.bold(path) +
             g.dim("  (" + (note.empty() ? "" : note + "; ") +
                   "its current version was written as " + printable(was) + ")") +
             "\n" + r.text;
  }
  json h = header_of("why", path, o);
  if (!note.empty()) h["note"] = note;
  h["root"] = "e:" + std::to_string(root);
  if (o.graph) r.graph = answer_json(g, a, h);
  r.found = true;
  return r;
}

QueryResult impact(bento::lineage::Database& db, const std::string& path, LineageOptions& o) {
  QueryResult r;
  std::string note;
  int64_t file = file_named(db, path, &r.message, &note);
  if (file == 0) return r;
  auto versions = versions_of(db, file);
  LineageGraph g(db, o.color);
  DbLineageSource src(db);
  std::vector<std::pair<Node, int64_t>> roots;
  json ids = json::array();
  for (int64_t v : versions) {
    roots.push_back({Node::entity(v), forward_start_ns(db, v)});
    ids.push_back("e:" + std::to_string(v));
  }
  AnswerOptions ao{0, o.all, o.rule};
  Answer a = deepening(o.depth, kImpactDepth, &o.depth, answer_forward, g, src, roots, ao);
  if (o.text) r.text = answer_text(g, a);
  if (o.text && !note.empty()) r.text = g.bold(path) + g.dim("  (" + note + ")") + "\n" + r.text;
  json h = header_of("impact", path, o);
  h["roots"] = ids;
  if (!note.empty()) h["note"] = note;
  if (o.graph) r.graph = answer_json(g, a, h);
  r.found = true;
  return r;
}

namespace {

// The process ids a selector means, newest first.
std::vector<int64_t> processes_for(bento::lineage::Database& db, const PidSelector& sel) {
  Stmt p(db.handle(), "SELECT id, start_ns FROM processes WHERE pid = ? ORDER BY start_ns DESC");
  p.bind(1, sel.pid);
  std::vector<int64_t> out;
  while (p.step()) {
    if (sel.start_ns != 0 && std::llabs(p.int64(1) - sel.start_ns) > 1000000) continue;
    out.push_back(p.int64(0));
    if (!sel.all && sel.start_ns == 0) break;
  }
  return out;
}

std::string mark_text(LineageGraph& g, const LineageGraph::Mark& m) {
  std::string s = m.what;
  if (m.entity != 0) s += " " + g.entity_line(m.entity);
  if (m.other != 0) s += " → " + g.activity_line(m.other);
  if (!m.detail.empty()) s += g.dim("  " + printable(m.detail));
  return s;
}

}  // namespace

QueryResult process(bento::lineage::Database& db, const PidSelector& sel, bool color) {
  QueryResult r;
  if (database_empty(db)) {
    r.message = kEmpty;
    return r;
  }
  LineageGraph g(db, color);
  json procs = json::array();
  const int64_t off = g.wall_offset();
  for (int64_t id : processes_for(db, sel)) {
    Stmt p(db.handle(),
           "SELECT p.start_ns, p.exit_ns, p.exit_code, p.uid, pp.pid FROM processes p LEFT JOIN "
           "processes pp ON pp.id = p.parent_id WHERE p.id = ?");
    p.bind(1, id);
    if (!p.step()) continue;
    json proc = {{"pid", sel.pid},
                 {"start", time_json(p.int64(0), off)},
                 {"exit", p.is_null(1) ? json(nullptr) : time_json(p.int64(1), off)},
                 {"exit_code", p.is_null(2) ? json(nullptr) : json(p.int64(2))},
                 {"uid", p.int64(3)},
                 {"ppid", p.is_null(4) ? json(nullptr) : json(p.int64(4))},
                 {"activities", json::array()}};
    r.text +=
        g.bold("process " + std::to_string(sel.pid)) +
        g.dim("  (started " + clock_text(p.int64(0), off) +
              (p.is_null(1) ? std::string(", running or not seen exiting")
                            : ", ended " + clock_text(p.int64(1), off)) +
              (p.is_null(4) ? std::string() : ", parent pid " + std::to_string(p.int64(4))) + ")") +
        "\n";
    Stmt a(db.handle(), "SELECT id FROM activities WHERE process_id = ? ORDER BY start_ns, id");
    a.bind(1, id);
    std::vector<int64_t> acts;
    while (a.step()) acts.push_back(a.int64(0));
    for (size_t i = 0; i < acts.size(); i++) {
      const int64_t act = acts[i];
      proc["activities"].push_back("a:" + std::to_string(act));
      bool last = i + 1 == acts.size();
      r.text +=
          std::string(branch(last)) + (i == 0 ? "ran " : "then ran ") + g.activity_line(act) + "\n";
      std::string in = std::string(indent_for(last));
      std::vector<std::pair<int64_t, std::string>> lines;
      for (const auto& l : g.informants(act))
        if (l.how != "exec") lines.push_back({l.time_ns, l.how + " from " + g.activity_line(l.id)});
      for (const auto& l : g.inputs(act))  // told as in why: "opened" when no read was seen
        lines.push_back(
            {l.time_ns, read_verb(l.how, g.entity(l.id).value("kind", "")) + g.entity_line(l.id)});
      for (const auto& l : g.outputs(act))
        lines.push_back({l.time_ns, "wrote " + g.entity_line(l.id) +
                                        (l.how != "write" ? g.dim(" (" + l.how + ")") : "")});
      // A pipe's later reads and writes: one line each pipe and direction, with their span
      // (the JSON has every one).
      for (const bool write : {false, true}) {
        std::map<int64_t, std::vector<int64_t>> times;  // pipe -> its later transfers
        for (const auto& l : g.pipe_transfers(act, write)) times[l.id].push_back(l.time_ns);
        for (const auto& [pipe, at] : times)
          lines.push_back(
              {at.front(),
               std::string(write ? "wrote " : "read ") + g.entity_line(pipe) +
                   g.dim(" again (" + std::to_string(at.size()) +
                         (at.size() == 1 ? " time" : " times") +
                         (at.size() == 1 ? "" : ", until " + clock_text(at.back(), off)) + ")")});
      }
      for (const auto& l : g.invalidated_by(act))
        lines.push_back({l.time_ns, "removed (" + l.how + ") " + g.entity_line(l.id)});
      for (const auto& l : g.informed(act))
        if (l.how != "exec") lines.push_back({l.time_ns, l.how + " to " + g.activity_line(l.id)});
      for (const auto& m : g.marks(act)) lines.push_back({m.time_ns, mark_text(g, m)});
      std::stable_sort(lines.begin(), lines.end(),
                       [](const auto& x, const auto& y) { return x.first < y.first; });
      for (size_t k = 0; k < lines.size(); k++)
        r.text += in + branch(k + 1 == lines.size()) + lines[k].second +
                  g.dim(" at " + clock_text(lines[k].first, off)) + "\n";
    }
    procs.push_back(proc);
  }
  if (procs.empty()) {
    r.message = "no process with pid " + std::to_string(sel.pid) +
                (sel.start_ns != 0 ? " started at that time" : "") + " was recorded";
    return r;
  }
  // What they wrote came from earlier versions: keep wasDerivedFrom(version) edges.
  json doc = g.to_json({});
  for (const json& e : doc["entities"])
    g.previous_versions(std::stoll(e.value("id", "e:0").substr(2)));
  r.graph = g.to_json({{"query", "process"}, {"pid", sel.pid}, {"processes", procs}});
  r.found = true;
  return r;
}

QueryResult window(bento::lineage::Database& db, int64_t since, int64_t until, bool color) {
  QueryResult r;
  if (database_empty(db)) {
    r.message = kEmpty;
    return r;
  }
  LineageGraph g(db, color);
  g.add_window(since, until);
  const int64_t off = g.wall_offset();
  r.graph =
      g.to_json({{"query", "window"},
                 {"since", time_json(since, off)},
                 {"until", until == std::numeric_limits<int64_t>::max() ? json(nullptr)
                                                                        : time_json(until, off)}});
  // The readable form: one line per edge, in time order.
  std::vector<std::pair<int64_t, std::string>> lines;
  auto num = [](const json& id) { return std::stoll(id.get<std::string>().substr(2)); };
  for (const json& e : r.graph["edges"]) {
    const std::string type = e.value("type", "");
    if (!e.contains("time") || e["time"].is_null()) continue;
    int64_t t = e["time"].value("ns", 0LL);
    std::string line;
    if (type == "used") {  // "opened" where no read was seen, as in why
      std::string verb =
          read_verb(e.value("how", ""), g.entity(num(e["entity"])).value("kind", ""));
      verb.pop_back();  // its trailing space
      line = g.activity_line(num(e["activity"])) + "  " + verb + "  " +
             g.entity_line(num(e["entity"]));
    } else if (type == "wasGeneratedBy") {
      line = g.activity_line(num(e["activity"])) + "  " + e.value("how", "") + "  " +
             g.entity_line(num(e["entity"]));
    } else if (type == "wasInformedBy") {
      line = g.activity_line(num(e["informant"])) + "  " + e.value("how", "") + "  " +
             g.activity_line(num(e["informed"]));
    } else if (type == "wasInvalidatedBy") {
      line = (e["activity"].is_null() ? std::string("?") : g.activity_line(num(e["activity"]))) +
             "  " + e.value("how", "") + "  " + g.entity_line(num(e["entity"]));
    } else {
      continue;  // derivations summarise the lines above
    }
    lines.push_back({t, g.dim(clock_text(t, off)) + "  " + line});
  }
  std::stable_sort(lines.begin(), lines.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [t, line] : lines) r.text += line + "\n";
  if (lines.empty()) {
    r.message = "nothing was recorded in that time window";
    return r;
  }
  r.found = true;
  return r;
}

QueryResult export_graph(bento::lineage::Database& db, const ExportScope& scope,
                         LineageOptions& o) {
  QueryResult r;
  if (!scope.path.empty()) {
    std::string note;  // the export's document names the files it holds
    int64_t file = file_named(db, scope.path, &r.message, &note);
    if (file == 0) return r;
    LineageGraph g(db);
    DbLineageSource src(db);
    auto versions = versions_of(db, file);
    std::vector<std::pair<Node, int64_t>> fwd;
    for (int64_t v : versions) fwd.push_back({Node::entity(v), forward_start_ns(db, v)});
    int back_depth = 0, fwd_depth = 0;
    AnswerOptions ao{0, o.all, o.rule};
    Answer back = deepening(o.depth, kWhyDepth, &back_depth, answer_backward, g, src,
                            {{Node::entity(versions.back()), kForever}}, ao);
    Answer forward = deepening(o.depth, kImpactDepth, &fwd_depth, answer_forward, g, src, fwd, ao);
    for (const auto& [n, s] : forward.nodes) back.nodes.emplace(n, s);
    back.beyond_depth.insert(forward.beyond_depth.begin(), forward.beyond_depth.end());
    back.steps.insert(forward.steps.begin(), forward.steps.end());
    for (int64_t v : versions) back.nodes.emplace(Node::entity(v), Answer::kFull);
    // Every version of the file, joined by wasDerivedFrom(version).
    for (int64_t v : versions) g.previous_versions(v);
    json eh = header_of("export", scope.path, o);
    eh["depth"] = back_depth;
    eh["impact_depth"] = fwd_depth;
    r.graph = answer_json(g, back, eh);
    std::set<std::string> only;
    for (const char* kind : {"entities", "activities"})
      for (const json& n : r.graph[kind]) only.insert(n.value("id", ""));
    for (int64_t v : versions) only.insert("e:" + std::to_string(v));
    // The marks of calls on these files (dup, close...), and their signal targets.
    for (const auto& m : add_marks(g, db, r.graph))
      if (m.other != 0) only.insert("a:" + std::to_string(m.other));
    json h = r.graph;
    for (const char* k : {"entities", "activities", "agents", "edges"}) h.erase(k);
    r.graph = g.to_json(h, &only);
  } else {
    r = process(db, scope.pid, false);
    if (!r.found) return r;
    r.graph["query"] = "export";
  }
  r.found = true;
  return r;
}

}  // namespace prov_cli
