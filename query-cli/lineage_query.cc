#include "lineage_query.h"

#include <algorithm>
#include <set>
#include <vector>

#include "lineage_graph.h"

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

// The file `path` names (now, or most recently): 0 and *message when none.
int64_t file_named(bento::lineage::Database& db, const std::string& path, std::string* message) {
  if (database_empty(db)) {
    *message = kEmpty;
    return 0;
  }
  Stmt q(db.handle(),
         "SELECT file_id FROM names WHERE path = ? ORDER BY (to_ns IS NULL) DESC, from_ns DESC "
         "LIMIT 1");
  q.bind(1, path);
  if (q.step()) return q.int64(0);
  *message = "no provenance recorded for " + path +
             " (not on a tracked mount, or written before tracking was enabled)";
  return 0;
}

std::vector<int64_t> versions_of(bento::lineage::Database& db, int64_t file) {
  Stmt v(db.handle(), "SELECT id FROM entities WHERE file_id = ? ORDER BY version");
  v.bind(1, file);
  std::vector<int64_t> out;
  while (v.step()) out.push_back(v.int64(0));
  return out;
}

// What the backward and forward walks share: the graph, the text, the activities shown.
struct Walk {
  LineageGraph& g;
  std::string* out;
  std::set<int64_t> seen;

  // True (and says why) when activity `id` is not expanded here: shown already, or past
  // the depth limit.
  bool stops_at(int64_t id, int depth, const std::string& indent) {
    if (!seen.insert(id).second) {
      *out += indent + g.dim("└─ (shown above)") + "\n";
      return true;
    }
    if (depth <= 0) {
      *out += indent + g.dim("└─ … (depth limit)") + "\n";
      return true;
    }
    return false;
  }
};

// ---- backward (why)

struct Backward : Walk {
  void entity(int64_t id, int depth, const std::string& indent) {
    auto gens = g.generators(id);
    auto prev = g.previous_versions(id);
    size_t n = gens.size() + prev.size(), i = 0;
    for (const auto& l : gens) {
      bool last = ++i == n;
      *out += indent + branch(last) +
              (l.how == "create" ? "created by "
               : l.how == "pipe" ? "written by "
                                 : l.how + " by ") +
              g.activity_line(l.id) + "\n";
      activity(l.id, depth, indent + indent_for(last));
    }
    for (const auto& l : prev) {
      bool last = ++i == n;
      *out += indent + branch(last) + "previous version " + g.entity_line(l.id) + "\n";
      if (depth > 0) entity(l.id, depth, indent + indent_for(last));
    }
  }

  void activity(int64_t id, int depth, const std::string& indent) {
    if (stops_at(id, depth, indent)) return;
    auto used = g.inputs(id);
    auto parents = g.informants(id);
    size_t n = used.size() + parents.size(), i = 0;
    for (const auto& l : used) {
      bool last = ++i == n;
      *out += indent + branch(last) + "read " + g.entity_line(l.id) + "\n";
      entity(l.id, depth - 1, indent + indent_for(last));
    }
    for (const auto& l : parents) {
      bool last = ++i == n;
      *out += indent + branch(last) + (l.how == "exec" ? "was, before exec, " : "started by ") +
              g.activity_line(l.id) + "\n";
      activity(l.id, depth - 1, indent + indent_for(last));
    }
  }
};

// ---- forward (impact)

struct Forward : Walk {
  void entity(int64_t id, int depth, const std::string& indent) {
    auto readers = g.readers(id);
    auto next = g.next_versions(id);
    auto gone = g.invalidations(id);
    size_t n = readers.size() + next.size() + gone.size(), i = 0;
    for (const auto& l : readers) {
      bool last = ++i == n;
      *out += indent + branch(last) + "read by " + g.activity_line(l.id) + "\n";
      activity(l.id, depth, indent + indent_for(last));
    }
    for (const auto& l : next) {
      bool last = ++i == n;
      *out += indent + branch(last) + "next version " + g.entity_line(l.id) + "\n";
    }
    for (const auto& l : gone) {
      bool last = ++i == n;
      *out += indent + branch(last) + g.dim("removed (" + l.how + ")") +
              (l.id != 0 ? " by " + g.activity_line(l.id) : std::string()) + "\n";
    }
  }

  void activity(int64_t id, int depth, const std::string& indent) {
    if (stops_at(id, depth, indent)) return;
    auto wrote = g.outputs(id);
    auto started = g.informed(id);
    size_t n = wrote.size() + started.size(), i = 0;
    for (const auto& l : wrote) {
      bool last = ++i == n;
      *out += indent + branch(last) + "wrote " + g.entity_line(l.id) + "\n";
      entity(l.id, depth - 1, indent + indent_for(last));
    }
    for (const auto& l : started) {
      bool last = ++i == n;
      *out += indent + branch(last) + (l.how == "exec" ? "then ran " : "started ") +
              g.activity_line(l.id) + "\n";
      activity(l.id, depth - 1, indent + indent_for(last));
    }
  }
};

json finish(LineageGraph& g, json header) {
  g.add_process_derivations();
  return g.to_json(std::move(header));
}

}  // namespace

QueryResult why(bento::lineage::Database& db, const std::string& path, int depth, bool color) {
  QueryResult r;
  int64_t file = file_named(db, path, &r.message);
  if (file == 0) return r;
  auto versions = versions_of(db, file);
  if (versions.empty()) {
    r.message = "no version of " + path + " is recorded";
    return r;
  }
  int64_t root = versions.back();
  LineageGraph g(db, color);
  r.text = g.entity_line(root) + "\n";
  if (std::string was = g.entity(root).value("path", ""); was != path) {
    // Renamed since (e.g. written as a temporary file, then moved over `path`).
    r.text = g.bold(path) +
             g.dim("  (version " + std::to_string(g.entity(root).value("version", 0)) +
                   ", written as " + was + ")") +
             "\n";
  }
  Backward{{g, &r.text, {}}}.entity(root, depth, "");
  r.graph = finish(
      g,
      {{"query", "why"}, {"path", path}, {"root", "e:" + std::to_string(root)}, {"depth", depth}});
  r.found = true;
  return r;
}

QueryResult impact(bento::lineage::Database& db, const std::string& path, int depth, bool color) {
  QueryResult r;
  int64_t file = file_named(db, path, &r.message);
  if (file == 0) return r;
  auto versions = versions_of(db, file);
  LineageGraph g(db, color);
  Forward walk{{g, &r.text, {}}};
  json roots = json::array();
  for (size_t i = 0; i < versions.size(); i++) {
    r.text += g.entity_line(versions[i]) + "\n";
    walk.entity(versions[i], depth, "");
    roots.push_back("e:" + std::to_string(versions[i]));
  }
  r.graph = finish(g, {{"query", "impact"}, {"path", path}, {"roots", roots}, {"depth", depth}});
  r.found = true;
  return r;
}

QueryResult process(bento::lineage::Database& db, int64_t pid, bool color) {
  QueryResult r;
  if (database_empty(db)) {
    r.message = kEmpty;
    return r;
  }
  LineageGraph g(db, color);
  Stmt p(db.handle(),
         "SELECT p.id, p.start_ns, p.exit_ns, p.exit_code, p.uid, pp.pid FROM processes p LEFT "
         "JOIN processes pp ON pp.id = p.parent_id WHERE p.pid = ? ORDER BY p.start_ns DESC");
  p.bind(1, pid);
  json procs = json::array();
  const int64_t off = g.wall_offset();
  while (p.step()) {
    const int64_t id = p.int64(0);
    json proc = {{"pid", pid},
                 {"start", time_json(p.int64(1), off)},
                 {"exit", p.is_null(2) ? json(nullptr) : time_json(p.int64(2), off)},
                 {"exit_code", p.is_null(3) ? json(nullptr) : json(p.int64(3))},
                 {"uid", p.int64(4)},
                 {"ppid", p.is_null(5) ? json(nullptr) : json(p.int64(5))},
                 {"activities", json::array()}};
    r.text +=
        g.bold("process " + std::to_string(pid)) +
        g.dim("  (started " + clock_text(p.int64(1), off) +
              (p.is_null(2) ? std::string(", running or not seen exiting")
                            : ", ended " + clock_text(p.int64(2), off)) +
              (p.is_null(5) ? std::string() : ", parent pid " + std::to_string(p.int64(5))) + ")") +
        "\n";
    Stmt a(db.handle(), "SELECT id FROM activities WHERE process_id = ? ORDER BY start_ns");
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
      std::vector<std::string> lines;
      for (const auto& l : g.informants(act))
        if (l.how == "fork") lines.push_back("started by " + g.activity_line(l.id));
      for (const auto& l : g.inputs(act)) lines.push_back("read " + g.entity_line(l.id));
      for (const auto& l : g.outputs(act)) lines.push_back("wrote " + g.entity_line(l.id));
      for (const auto& l : g.invalidated_by(act))
        lines.push_back("removed (" + l.how + ") " + g.entity_line(l.id));
      for (const auto& l : g.informed(act))
        if (l.how == "fork") lines.push_back("started " + g.activity_line(l.id));
      for (size_t k = 0; k < lines.size(); k++)
        r.text += in + branch(k + 1 == lines.size()) + lines[k] + "\n";
    }
    procs.push_back(proc);
  }
  if (procs.empty()) {
    r.message = "no process with pid " + std::to_string(pid) + " was recorded";
    return r;
  }
  r.graph = finish(g, {{"query", "process"}, {"pid", pid}, {"processes", procs}});
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
      finish(g, {{"query", "window"},
                 {"since", time_json(since, off)},
                 {"until", until == std::numeric_limits<int64_t>::max() ? json(nullptr)
                                                                        : time_json(until, off)}});
  // The readable form: one line per edge, in time order.
  std::vector<std::pair<int64_t, std::string>> lines;
  auto num = [](const json& id) { return std::stoll(id.get<std::string>().substr(2)); };
  for (const json& e : r.graph["edges"]) {
    const std::string type = e.value("type", "");
    if (type == "wasAssociatedWith" || !e.contains("time") || e["time"].is_null()) continue;
    int64_t t = e["time"].value("ns", 0LL);
    std::string line;
    if (type == "used")
      line = g.activity_line(num(e["activity"])) + "  read  " + g.entity_line(num(e["entity"]));
    else if (type == "wasGeneratedBy")
      line = g.activity_line(num(e["activity"])) + "  " + e.value("how", "") + "  " +
             g.entity_line(num(e["entity"]));
    else if (type == "wasInformedBy")
      line = g.activity_line(num(e["informant"])) + "  " + e.value("how", "") + "  " +
             g.activity_line(num(e["informed"]));
    else if (type == "wasInvalidatedBy")
      line = (e["activity"].is_null() ? std::string("?") : g.activity_line(num(e["activity"]))) +
             "  " + e.value("how", "") + "  " + g.entity_line(num(e["entity"]));
    else
      continue;  // derivations summarise the lines above
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

QueryResult export_graph(bento::lineage::Database& db, const ExportScope& scope) {
  QueryResult r;
  if (!scope.path.empty()) {
    int64_t file = file_named(db, scope.path, &r.message);
    if (file == 0) return r;
    LineageGraph g(db);
    std::string discard;
    Backward back{{g, &discard, {}}};
    Forward fwd{{g, &discard, {}}};
    auto versions = versions_of(db, file);
    for (int64_t v : versions) {
      back.entity(v, scope.depth, "");
      fwd.entity(v, scope.depth, "");
    }
    r.graph = finish(g, {{"query", "export"}, {"path", scope.path}, {"depth", scope.depth}});
  } else if (scope.pid >= 0) {
    r = process(db, scope.pid, false);
    if (!r.found) return r;
    r.graph["query"] = "export";
  } else {
    if (database_empty(db)) {
      r.message = kEmpty;
      return r;
    }
    LineageGraph g(db);
    g.add_window(scope.since_ns, scope.until_ns);
    r.graph = finish(g, {{"query", "export"}});
  }
  r.found = true;
  return r;
}

}  // namespace prov_cli
