#include "lineage_query.h"

#include <pwd.h>
#include <time.h>

#include <map>
#include <set>
#include <vector>

#include "record_format.h"

namespace prov_cli {

using bento::lineage::Stmt;
using nlohmann::json;

namespace {

int64_t wall_offset_ns() {
  timespec rt{}, mt{};
  clock_gettime(CLOCK_REALTIME, &rt);
  clock_gettime(CLOCK_MONOTONIC, &mt);
  return (rt.tv_sec * 1000000000LL + rt.tv_nsec) - (mt.tv_sec * 1000000000LL + mt.tv_nsec);
}

std::string user_name(int64_t uid) {
  passwd* p = getpwuid(static_cast<uid_t>(uid));
  return p != nullptr ? p->pw_name : std::to_string(uid);
}

json time_json(int64_t mono, int64_t off) {
  if (mono <= 0) return nullptr;
  return {{"ns", mono}, {"wall", wall_time_text(static_cast<uint64_t>(mono + off))}};
}

std::string clock_text(int64_t mono, int64_t off) {
  if (mono <= 0) return "?";
  std::string w = wall_time_text(static_cast<uint64_t>(mono + off));  // ...THH:MM:SS.nnnnnnnnnZ
  return w.substr(11, 12);
}

struct Graph {
  bento::lineage::Database& db;
  int64_t off = wall_offset_ns();
  bool color = false;
  std::map<int64_t, json> entities, activities;
  std::set<int64_t> agents;
  json edges = json::array();
  std::set<std::string> edge_keys;

  std::string b(const std::string& s) const { return color ? "\033[1m" + s + "\033[0m" : s; }
  std::string dim(const std::string& s) const { return color ? "\033[2m" + s + "\033[0m" : s; }

  void edge(json e) {
    std::string k = e.dump();
    if (edge_keys.insert(k).second) edges.push_back(std::move(e));
  }

  json& entity(int64_t id) {
    if (auto it = entities.find(id); it != entities.end()) return it->second;
    Stmt q(db.handle(),
           "SELECT e.version, e.path, e.created_ns, f.kind, f.ino, f.gen, f.source_id, s.name, "
           "(SELECT MIN(time_ns) FROM invalidated i WHERE i.entity_id = e.id) "
           "FROM entities e JOIN files f ON f.id = e.file_id LEFT JOIN sources s ON s.id = "
           "f.source_id WHERE e.id = ?");
    q.bind(1, id);
    json j;
    if (q.step()) {
      j = {{"id", "e:" + std::to_string(id)},
           {"kind", q.text(3)},
           {"path", q.text(1)},
           {"version", q.int64(0)},
           {"file",
            {{"source", q.is_null(6) ? json(nullptr) : json(q.text(7))},
             {"ino", q.int64(4)},
             {"gen", q.int64(5)}}},
           {"created", time_json(q.int64(2), off)},
           {"invalidated", q.is_null(8) ? json(nullptr) : time_json(q.int64(8), off)}};
      if (q.text(3) == "pipe") j["path"] = "pipe:[" + std::to_string(q.int64(4)) + "]";
    }
    return entities[id] = j;
  }

  json& activity(int64_t id) {
    if (auto it = activities.find(id); it != activities.end()) return it->second;
    Stmt q(db.handle(),
           "SELECT a.exe, a.argv, p.pid, p.start_ns, a.uid, a.start_ns, a.end_ns, p.exit_code, "
           "a.origin FROM activities a JOIN processes p ON p.id = a.process_id WHERE a.id = ?");
    q.bind(1, id);
    json j;
    if (q.step()) {
      json argv = json::parse(q.text(1), nullptr, false);
      if (!argv.is_array()) argv = json::array();
      j = {{"id", "a:" + std::to_string(id)},
           {"exe", q.text(0)},
           {"argv", argv},
           {"pid", q.int64(2)},
           {"process_start_ns", q.int64(3)},
           {"uid", q.int64(4)},
           {"user", user_name(q.int64(4))},
           {"start", time_json(q.int64(5), off)},
           {"end", q.is_null(6) ? json(nullptr) : time_json(q.int64(6), off)},
           {"exit_code", q.is_null(7) ? json(nullptr) : json(q.int64(7))},
           {"origin", q.text(8)}};
      agents.insert(q.int64(4));
      edge({{"type", "wasAssociatedWith"},
            {"activity", "a:" + std::to_string(id)},
            {"agent", "u:" + std::to_string(q.int64(4))}});
    }
    return activities[id] = j;
  }

  std::string entity_line(int64_t id) {
    json& e = entity(id);
    std::string s = b(e.value("path", "?"));
    if (e.value("kind", "") != "pipe") {
      s += dim("  (version " + std::to_string(e.value("version", 0)) + ", " +
               (e["created"].is_null() ? std::string("?")
                                       : clock_text(e["created"].value("ns", 0LL), off)) +
               ", file " + std::to_string(e["file"].value("ino", 0LL)) + ":" +
               std::to_string(e["file"].value("gen", 0LL)) + ")");
    }
    return s;
  }

  std::string activity_line(int64_t id) {
    json& a = activity(id);
    std::string cmd;
    for (const auto& x : a["argv"]) cmd += (cmd.empty() ? "" : " ") + x.get<std::string>();
    if (cmd.empty()) cmd = a.value("exe", "?");
    if (cmd.size() > 80) cmd = cmd.substr(0, 77) + "...";
    std::string t = a["start"].is_null() ? "?" : clock_text(a["start"].value("ns", 0LL), off);
    if (!a["end"].is_null()) t += "–" + clock_text(a["end"].value("ns", 0LL), off);
    std::string s = b(cmd) + dim("  (pid " + std::to_string(a.value("pid", 0LL)) + ", " +
                                 a.value("user", "?") + ", " + t);
    if (!a["exit_code"].is_null()) {
      int64_t c = a["exit_code"].get<int64_t>();
      s += dim(", " + ((c & 0x7f) ? "signal " + std::to_string(c & 0x7f)
                                  : "exit " + std::to_string((c >> 8) & 0xff)));
    }
    if (a.value("origin", "") == "fork") s += dim(", forked, before any exec");
    return s + dim(")");
  }

  // Backward from an entity. depth counts activity hops.
  void entity_tree(int64_t id, int depth, const std::string& indent, std::string* out,
                   std::set<std::string>& seen) {
    Stmt g(db.handle(),
           "SELECT activity_id, how, time_ns FROM generated WHERE entity_id = ? ORDER BY time_ns");
    g.bind(1, id);
    std::vector<std::pair<int64_t, std::string>> kids;
    while (g.step()) {
      kids.push_back({g.int64(0), g.text(1)});
      edge({{"type", "wasGeneratedBy"},
            {"entity", "e:" + std::to_string(id)},
            {"activity", "a:" + std::to_string(g.int64(0))},
            {"time", time_json(g.int64(2), off)},
            {"how", g.text(1)}});
    }
    Stmt v(db.handle(),
           "SELECT used_id, time_ns FROM derived WHERE generated_id = ? AND how = 'version'");
    v.bind(1, id);
    std::vector<int64_t> prev;
    while (v.step()) {
      prev.push_back(v.int64(0));
      edge({{"type", "wasDerivedFrom"},
            {"generated", "e:" + std::to_string(id)},
            {"used", "e:" + std::to_string(v.int64(0))},
            {"activity", nullptr},
            {"time", time_json(v.int64(1), off)},
            {"how", "version"}});
    }
    size_t n = kids.size() + prev.size(), i = 0;
    for (auto& [a, how] : kids) {
      bool last = ++i == n;
      *out += indent + (last ? "└─ " : "├─ ") +
              (how == "create" ? "created by "
               : how == "pipe" ? "written by "
                               : how + " by ") +
              activity_line(a) + "\n";
      activity_tree(a, depth, indent + (last ? "   " : "│  "), out, seen);
    }
    for (int64_t p : prev) {
      bool last = ++i == n;
      *out += indent + (last ? "└─ " : "├─ ") + "previous version " + entity_line(p) + "\n";
      if (depth > 0) entity_tree(p, depth, indent + (last ? "   " : "│  "), out, seen);
    }
  }

  void activity_tree(int64_t id, int depth, const std::string& indent, std::string* out,
                     std::set<std::string>& seen) {
    std::string key = "a:" + std::to_string(id);
    if (!seen.insert(key).second) {
      *out += indent + dim("└─ (shown above)") + "\n";
      return;
    }
    if (depth <= 0) {
      *out += indent + dim("└─ … (depth limit)") + "\n";
      return;
    }
    Stmt u(db.handle(),
           "SELECT entity_id, how, time_ns FROM used WHERE activity_id = ? ORDER BY time_ns");
    u.bind(1, id);
    std::vector<std::pair<int64_t, std::string>> used;
    while (u.step()) {
      used.push_back({u.int64(0), u.text(1)});
      edge({{"type", "used"},
            {"activity", key},
            {"entity", "e:" + std::to_string(u.int64(0))},
            {"time", time_json(u.int64(2), off)},
            {"how", u.text(1)}});
    }
    Stmt inf(db.handle(), "SELECT informant_id, how, time_ns FROM informed WHERE informed_id = ?");
    inf.bind(1, id);
    std::vector<std::pair<int64_t, std::string>> parents;
    while (inf.step()) {
      parents.push_back({inf.int64(0), inf.text(1)});
      edge({{"type", "wasInformedBy"},
            {"informed", key},
            {"informant", "a:" + std::to_string(inf.int64(0))},
            {"time", time_json(inf.int64(2), off)},
            {"how", inf.text(1)}});
    }
    size_t n = used.size() + parents.size(), i = 0;
    for (auto& [e, how] : used) {
      bool last = ++i == n;
      *out += indent + (last ? "└─ " : "├─ ") + "read " + entity_line(e) + "\n";
      entity_tree(e, depth - 1, indent + (last ? "   " : "│  "), out, seen);
    }
    for (auto& [p, how] : parents) {
      bool last = ++i == n;
      *out += indent + (last ? "└─ " : "├─ ") +
              (how == "exec" ? "was, before exec, " : "started by ") + activity_line(p) + "\n";
      activity_tree(p, depth - 1, indent + (last ? "   " : "│  "), out, seen);
    }
  }
};

}  // namespace

WhyResult why(bento::lineage::Database& db, const std::string& path, int depth, bool color) {
  WhyResult r;
  {
    Stmt any(db.handle(), "SELECT 1 FROM entities LIMIT 1");
    if (!any.step()) {
      r.message = "the lineage database is empty: nothing has been collected yet";
      return r;
    }
  }
  Stmt q(db.handle(),
         "SELECT file_id FROM names WHERE path = ? ORDER BY (to_ns IS NULL) DESC, from_ns DESC "
         "LIMIT 1");
  q.bind(1, path);
  if (!q.step()) {
    r.message = "no provenance recorded for " + path +
                " (not on a tracked mount, or written before tracking was enabled)";
    return r;
  }
  int64_t file = q.int64(0);
  Stmt v(db.handle(), "SELECT id FROM entities WHERE file_id = ? ORDER BY version DESC LIMIT 1");
  v.bind(1, file);
  if (!v.step()) {
    r.message = "no version of " + path + " is recorded";
    return r;
  }
  int64_t root = v.int64(0);
  Graph g{db};
  g.color = color;
  std::set<std::string> seen;
  r.tree = g.entity_line(root) + "\n";
  if (std::string was = g.entity(root).value("path", ""); was != path) {
    // Renamed since (e.g. written as a temporary file, then moved over `path`).
    r.tree = g.b(path) +
             g.dim("  (version " + std::to_string(g.entity(root).value("version", 0)) +
                   ", written as " + was + ")") +
             "\n";
  }
  g.entity_tree(root, depth, "", &r.tree, seen);
  json ents = json::array(), acts = json::array(), agents = json::array();
  for (auto& [id, e] : g.entities) ents.push_back(e);
  for (auto& [id, a] : g.activities) acts.push_back(a);
  for (int64_t uid : g.agents)
    agents.push_back({{"id", "u:" + std::to_string(uid)}, {"uid", uid}, {"name", user_name(uid)}});
  r.graph = {{"format", "bento-prov"},
             {"version", 1},
             {"query", "why"},
             {"path", path},
             {"root", "e:" + std::to_string(root)},
             {"depth", depth},
             {"entities", ents},
             {"activities", acts},
             {"agents", agents},
             {"edges", g.edges}};
  r.found = true;
  return r;
}

}  // namespace prov_cli
