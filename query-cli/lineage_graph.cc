#include "lineage_graph.h"

#include <pwd.h>
#include <time.h>

#include "json_text.h"
#include "record_format.h"
#include "wall_clock.h"

namespace prov_cli {

using bento::lineage::Stmt;
using nlohmann::json;

namespace {

std::string user_name(int64_t uid) {
  passwd* p = getpwuid(static_cast<uid_t>(uid));
  return p != nullptr ? p->pw_name : std::to_string(uid);
}

std::string eid(int64_t id) {
  return "e:" + std::to_string(id);
}
std::string aid(int64_t id) {
  return "a:" + std::to_string(id);
}

}  // namespace

json time_json(int64_t mono, int64_t off) {
  if (mono <= 0) return nullptr;
  return {{"ns", mono}, {"wall", wall_time_text(static_cast<uint64_t>(mono + off))}};
}

std::string clock_text(int64_t mono, int64_t off) {
  if (mono <= 0) return "?";
  std::string w = wall_time_text(static_cast<uint64_t>(mono + off));  // ...THH:MM:SS.nnnnnnnnnZ
  return w.substr(11, 12);
}

LineageGraph::LineageGraph(bento::lineage::Database& db, bool color)
    : db_(db), off_(bento::wall_offset_ns()), color_(color) {}

std::string LineageGraph::bold(const std::string& s) const {
  return color_ ? "\033[1m" + s + "\033[0m" : s;
}
std::string LineageGraph::dim(const std::string& s) const {
  return color_ ? "\033[2m" + s + "\033[0m" : s;
}

void LineageGraph::edge(json e) {
  if (edge_keys_.insert(bento::to_json_text(e)).second) edges_.push_back(std::move(e));
}

const json& LineageGraph::entity(int64_t id) {
  if (auto it = entities_.find(id); it != entities_.end()) return it->second;
  Stmt q(db_.handle(),
         "SELECT e.version, e.path, e.created_ns, f.kind, f.ino, f.gen, f.source_id, s.name, "
         "(SELECT MIN(time_ns) FROM invalidated i WHERE i.entity_id = e.id), f.id "
         "FROM entities e JOIN files f ON f.id = e.file_id LEFT JOIN sources s ON s.id = "
         "f.source_id WHERE e.id = ?");
  q.bind(1, id);
  json j = json::object();
  if (q.step()) {
    json paths = json::array();
    Stmt n(db_.handle(), "SELECT DISTINCT path FROM names WHERE file_id = ? ORDER BY from_ns");
    n.bind(1, q.int64(9));
    while (n.step()) paths.push_back(n.text(0));
    j = {{"id", eid(id)},
         {"kind", q.text(3)},
         {"path", q.text(1)},
         {"paths", paths},
         {"version", q.int64(0)},
         {"file",
          {{"source", q.is_null(6) ? json(nullptr) : json(q.text(7))},
           {"ino", q.int64(4)},
           {"gen", q.int64(5)}}},
         {"created", time_json(q.int64(2), off_)},
         {"invalidated", q.is_null(8) ? json(nullptr) : time_json(q.int64(8), off_)}};
    if (q.text(3) == "pipe") j["path"] = "pipe:[" + std::to_string(q.int64(4)) + "]";
  }
  return entities_[id] = j;
}

const json& LineageGraph::activity(int64_t id) {
  if (auto it = activities_.find(id); it != activities_.end()) return it->second;
  Stmt q(db_.handle(),
         "SELECT a.exe, a.argv, p.pid, p.start_ns, a.uid, a.start_ns, a.end_ns, p.exit_code, "
         "a.origin, (SELECT pp.pid FROM processes pp WHERE pp.id = p.parent_id) "
         "FROM activities a JOIN processes p ON p.id = a.process_id WHERE a.id = ?");
  q.bind(1, id);
  json j = json::object();
  if (q.step()) {
    json argv = json::parse(q.text(1), nullptr, false);
    if (!argv.is_array()) argv = json::array();
    j = {{"id", aid(id)},
         {"exe", q.text(0)},
         {"argv", argv},
         {"pid", q.int64(2)},
         {"ppid", q.is_null(9) ? json(nullptr) : json(q.int64(9))},
         {"process_start_ns", q.int64(3)},
         {"uid", q.int64(4)},
         {"user", user_name(q.int64(4))},
         {"start", time_json(q.int64(5), off_)},
         {"end", q.is_null(6) ? json(nullptr) : time_json(q.int64(6), off_)},
         {"exit_code", q.is_null(7) ? json(nullptr) : json(q.int64(7))},
         {"origin", q.text(8)}};
    agents_.insert(q.int64(4));
    edge({{"type", "wasAssociatedWith"},
          {"activity", aid(id)},
          {"agent", "u:" + std::to_string(q.int64(4))}});
  }
  return activities_[id] = j;
}

std::vector<LineageGraph::Link> LineageGraph::links(const char* sql, int64_t id) {
  Stmt q(db_.handle(), sql);
  q.bind(1, id);
  std::vector<Link> out;
  while (q.step()) out.push_back({q.int64(0), q.text(1), q.int64(2)});
  return out;
}

// ---- edges, each with both of its nodes

void LineageGraph::used_edge(int64_t a, int64_t e, int64_t t, const std::string& how) {
  activity(a);
  entity(e);
  edge({{"type", "used"},
        {"activity", aid(a)},
        {"entity", eid(e)},
        {"time", time_json(t, off_)},
        {"how", how}});
}

void LineageGraph::generated_edge(int64_t e, int64_t a, int64_t t, const std::string& how) {
  entity(e);
  activity(a);
  edge({{"type", "wasGeneratedBy"},
        {"entity", eid(e)},
        {"activity", aid(a)},
        {"time", time_json(t, off_)},
        {"how", how}});
}

void LineageGraph::informed_edge(int64_t informed, int64_t informant, int64_t t,
                                 const std::string& how) {
  activity(informed);
  activity(informant);
  edge({{"type", "wasInformedBy"},
        {"informed", aid(informed)},
        {"informant", aid(informant)},
        {"time", time_json(t, off_)},
        {"how", how}});
}

void LineageGraph::derived_edge(int64_t generated, int64_t used, int64_t a, int64_t t,
                                const std::string& how) {
  entity(generated);
  entity(used);
  if (a != 0) activity(a);
  edge({{"type", "wasDerivedFrom"},
        {"generated", eid(generated)},
        {"used", eid(used)},
        {"activity", a != 0 ? json(aid(a)) : json(nullptr)},
        {"time", time_json(t, off_)},
        {"how", how}});
}

void LineageGraph::invalidated_edge(int64_t e, int64_t a, int64_t t, const std::string& how) {
  entity(e);
  if (a != 0) activity(a);
  edge({{"type", "wasInvalidatedBy"},
        {"entity", eid(e)},
        {"activity", a != 0 ? json(aid(a)) : json(nullptr)},
        {"time", time_json(t, off_)},
        {"how", how}});
}

// ---- neighbours: one relation walked from one node

std::vector<LineageGraph::Link> LineageGraph::generators(int64_t e) {
  entity(e);
  auto out = links(
      "SELECT activity_id, how, time_ns FROM generated WHERE entity_id = ? ORDER BY time_ns", e);
  for (const Link& l : out) generated_edge(e, l.id, l.time_ns, l.how);
  return out;
}

std::vector<LineageGraph::Link> LineageGraph::previous_versions(int64_t e) {
  entity(e);
  auto out = links(
      "SELECT used_id, how, time_ns FROM derived WHERE generated_id = ? AND how = 'version'", e);
  for (const Link& l : out) derived_edge(e, l.id, 0, l.time_ns, l.how);
  return out;
}

std::vector<LineageGraph::Link> LineageGraph::next_versions(int64_t e) {
  entity(e);
  auto out = links(
      "SELECT generated_id, how, time_ns FROM derived WHERE used_id = ? AND how = 'version'", e);
  for (const Link& l : out) derived_edge(l.id, e, 0, l.time_ns, l.how);
  return out;
}

std::vector<LineageGraph::Link> LineageGraph::inputs(int64_t a) {
  activity(a);
  auto out =
      links("SELECT entity_id, how, time_ns FROM used WHERE activity_id = ? ORDER BY time_ns", a);
  for (const Link& l : out) used_edge(a, l.id, l.time_ns, l.how);
  return out;
}

std::vector<LineageGraph::Link> LineageGraph::readers(int64_t e) {
  entity(e);
  auto out =
      links("SELECT activity_id, how, time_ns FROM used WHERE entity_id = ? ORDER BY time_ns", e);
  for (const Link& l : out) used_edge(l.id, e, l.time_ns, l.how);
  return out;
}

std::vector<LineageGraph::Link> LineageGraph::outputs(int64_t a) {
  activity(a);
  auto out = links(
      "SELECT entity_id, how, time_ns FROM generated WHERE activity_id = ? ORDER BY time_ns", a);
  for (const Link& l : out) generated_edge(l.id, a, l.time_ns, l.how);
  return out;
}

std::vector<LineageGraph::Link> LineageGraph::informants(int64_t a) {
  activity(a);
  auto out = links(
      "SELECT informant_id, how, time_ns FROM informed WHERE informed_id = ? ORDER BY time_ns", a);
  for (const Link& l : out) informed_edge(a, l.id, l.time_ns, l.how);
  return out;
}

std::vector<LineageGraph::Link> LineageGraph::informed(int64_t a) {
  activity(a);
  auto out = links(
      "SELECT informed_id, how, time_ns FROM informed WHERE informant_id = ? ORDER BY time_ns", a);
  for (const Link& l : out) informed_edge(l.id, a, l.time_ns, l.how);
  return out;
}

std::vector<LineageGraph::Link> LineageGraph::invalidations(int64_t e) {
  entity(e);
  auto out = links(
      "SELECT IFNULL(activity_id, 0), how, time_ns FROM invalidated WHERE entity_id = ? "
      "ORDER BY time_ns",
      e);
  for (const Link& l : out) invalidated_edge(e, l.id, l.time_ns, l.how);
  return out;
}

std::vector<LineageGraph::Link> LineageGraph::invalidated_by(int64_t a) {
  activity(a);
  auto out = links(
      "SELECT entity_id, how, time_ns FROM invalidated WHERE activity_id = ? ORDER BY time_ns", a);
  for (const Link& l : out) invalidated_edge(l.id, a, l.time_ns, l.how);
  return out;
}

void LineageGraph::add_process_derivations() {
  std::vector<int64_t> ents;
  for (const auto& [id, e] : entities_) ents.push_back(id);
  // An activity generated e after using u: e was derived from u. Computed here rather than
  // stored (it is used x generated per activity). UNIQUE(activity_id, entity_id) indexes
  // the used side.
  Stmt q(db_.handle(),
         "SELECT u.entity_id, g.activity_id, g.time_ns FROM generated g JOIN used u ON "
         "u.activity_id = g.activity_id WHERE g.entity_id = ? AND u.time_ns <= g.time_ns AND "
         "u.entity_id != g.entity_id");
  for (int64_t e : ents) {
    q.bind(1, e);
    while (q.step()) {
      // Only between nodes already in the subgraph: derivations summarise walked paths.
      if (has_entity(q.int64(0)) && has_activity(q.int64(1)))
        derived_edge(e, q.int64(0), q.int64(1), q.int64(2), "process");
    }
    q.reset();
  }
}

void LineageGraph::add_window(int64_t since, int64_t until) {
  auto each = [&](const char* sql, auto&& fn) {
    Stmt q(db_.handle(), sql);
    q.bind(1, since).bind(2, until);
    while (q.step()) fn(q);
  };
  each("SELECT id FROM activities WHERE start_ns BETWEEN ? AND ?",
       [&](Stmt& q) { activity(q.int64(0)); });
  each("SELECT id FROM entities WHERE created_ns BETWEEN ? AND ?",
       [&](Stmt& q) { entity(q.int64(0)); });
  each("SELECT activity_id, entity_id, time_ns, how FROM used WHERE time_ns BETWEEN ? AND ?",
       [&](Stmt& q) { used_edge(q.int64(0), q.int64(1), q.int64(2), q.text(3)); });
  each("SELECT entity_id, activity_id, time_ns, how FROM generated WHERE time_ns BETWEEN ? AND ?",
       [&](Stmt& q) { generated_edge(q.int64(0), q.int64(1), q.int64(2), q.text(3)); });
  each("SELECT informed_id, informant_id, time_ns, how FROM informed WHERE time_ns BETWEEN ? AND ?",
       [&](Stmt& q) { informed_edge(q.int64(0), q.int64(1), q.int64(2), q.text(3)); });
  each(
      "SELECT entity_id, IFNULL(activity_id, 0), time_ns, how FROM invalidated WHERE time_ns "
      "BETWEEN ? AND ?",
      [&](Stmt& q) { invalidated_edge(q.int64(0), q.int64(1), q.int64(2), q.text(3)); });
  each(
      "SELECT generated_id, used_id, time_ns, how FROM derived WHERE time_ns BETWEEN ? AND ? AND "
      "how = 'version'",
      [&](Stmt& q) { derived_edge(q.int64(0), q.int64(1), 0, q.int64(2), q.text(3)); });
}

std::string LineageGraph::entity_line(int64_t id) {
  const json& e = entity(id);
  std::string s = bold(e.value("path", "?"));
  if (e.value("kind", "") != "pipe" && !e.empty()) {
    const json& c = e["created"];
    s += dim("  (version " + std::to_string(e.value("version", 0)) + ", " +
             (c.is_null() ? std::string("?") : clock_text(c.value("ns", 0LL), off_)) + ", file " +
             std::to_string(e["file"].value("ino", 0LL)) + ":" +
             std::to_string(e["file"].value("gen", 0LL)) + ")");
  }
  return s;
}

std::string LineageGraph::activity_line(int64_t id) {
  const json& a = activity(id);
  if (a.empty()) return "?";
  std::string cmd;
  for (const auto& x : a["argv"]) cmd += (cmd.empty() ? "" : " ") + x.get<std::string>();
  if (cmd.empty()) cmd = a.value("exe", "?");
  if (cmd.size() > 80) cmd = cmd.substr(0, 77) + "...";
  std::string t = a["start"].is_null() ? "?" : clock_text(a["start"].value("ns", 0LL), off_);
  if (!a["end"].is_null()) t += "–" + clock_text(a["end"].value("ns", 0LL), off_);
  std::string s = bold(cmd) + dim("  (pid " + std::to_string(a.value("pid", 0LL)) + ", " +
                                  a.value("user", "?") + ", " + t);
  if (!a["exit_code"].is_null()) {
    int64_t c = a["exit_code"].get<int64_t>();
    s += dim(", " + ((c & 0x7f) ? "signal " + std::to_string(c & 0x7f)
                                : "exit " + std::to_string((c >> 8) & 0xff)));
  }
  if (a.value("origin", "") == "fork") s += dim(", forked, before any exec");
  return s + dim(")");
}

json LineageGraph::to_json(json header) const {
  json ents = json::array(), acts = json::array(), agents = json::array();
  for (const auto& [id, e] : entities_)
    if (!e.empty()) ents.push_back(e);
  for (const auto& [id, a] : activities_)
    if (!a.empty()) acts.push_back(a);
  for (int64_t uid : agents_)
    agents.push_back({{"id", "u:" + std::to_string(uid)}, {"uid", uid}, {"name", user_name(uid)}});
  header["format"] = "bento-prov";
  header["version"] = 1;
  header["entities"] = ents;
  header["activities"] = acts;
  header["agents"] = agents;
  header["edges"] = edges_;
  return header;
}

}  // namespace prov_cli
