#include "lineage_graph.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "json_text.h"
#include "record_format.h"
#include "wall_clock.h"

namespace prov_cli {

using bento::lineage::Stmt;
using nlohmann::json;

std::string user_name(int64_t uid) {
  static std::map<int64_t, std::string> names;  // getpwuid reads the user database each call
  if (auto it = names.find(uid); it != names.end()) return it->second;
  passwd* p = getpwuid(static_cast<uid_t>(uid));
  return names[uid] = p != nullptr ? p->pw_name : std::to_string(uid);
}

namespace {

std::string eid(int64_t id) {
  return "e:" + std::to_string(id);
}
std::string aid(int64_t id) {
  return "a:" + std::to_string(id);
}

std::string base_name(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace

json time_json(int64_t mono, int64_t off) {
  if (mono <= 0 || mono == kForever) return nullptr;
  return {{"ns", mono}, {"wall", wall_time_text(static_cast<uint64_t>(mono + off))}};
}

namespace {
std::string g_clock_day;  // one answer at a time: prov prints one, a test checks one
}  // namespace

void set_clock_day(int64_t mono, int64_t off) {
  g_clock_day = mono <= 0 || mono == kForever
                    ? ""
                    : wall_time_text(static_cast<uint64_t>(mono + off)).substr(0, 10);
}

std::string clock_day() {
  return g_clock_day;
}

std::string clock_text(int64_t mono, int64_t off) {
  if (mono <= 0 || mono == kForever) return "?";
  std::string w = wall_time_text(static_cast<uint64_t>(mono + off));  // ...THH:MM:SS.nnnnnnnnnZ
  const std::string day = w.substr(0, 10);
  if (g_clock_day.empty()) g_clock_day = day;
  return day == g_clock_day ? w.substr(11, 12) : day + " " + w.substr(11, 12);
}

std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == 0x1b) {
      out += "\\e";
    } else if (c < 0x20 || c == 0x7f) {
      static const char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

int64_t stored_wall_offset(bento::lineage::Database& db) {
  Stmt q(db.handle(), "SELECT value FROM meta WHERE key = 'wall_offset_ns'");
  if (q.step()) {
    const std::string v = q.text(0);
    char* end = nullptr;
    long long off = std::strtoll(v.c_str(), &end, 10);
    if (end != v.c_str() && *end == '\0' && off != 0) return off;
  }
  return bento::wall_offset_ns();
}

LineageGraph::LineageGraph(bento::lineage::Database& db, bool color, int64_t wall_offset)
    : db_(db), off_(wall_offset != 0 ? wall_offset : stored_wall_offset(db)), color_(color) {}

std::string LineageGraph::bold(const std::string& s) const {
  return color_ ? "\033[1m" + s + "\033[0m" : s;
}
std::string LineageGraph::dim(const std::string& s) const {
  return color_ ? "\033[2m" + s + "\033[0m" : s;
}

void LineageGraph::edge(const std::string& id, json e) {
  if (!edge_ids_.insert(id).second) return;
  e["id"] = id;
  edges_.push_back(std::move(e));
}

json& LineageGraph::entity_mut(int64_t id) {
  entity(id);
  return entities_[id];
}

json& LineageGraph::activity_mut(int64_t id) {
  activity(id);
  return activities_[id];
}

const json& LineageGraph::entity(int64_t id) {
  if (auto it = entities_.find(id); it != entities_.end()) return it->second;
  Stmt& q = db_.cached(
      "SELECT e.version, e.path, e.created_ns, f.kind, f.ino, f.gen, f.source_id, s.name, "
      "(SELECT MIN(time_ns) FROM invalidated i WHERE i.entity_id = e.id), f.id, f.addr, f.dev "
      "FROM entities e JOIN files f ON f.id = e.file_id LEFT JOIN sources s ON s.id = "
      "f.source_id WHERE e.id = ?");
  q.bind(1, id);
  json j = json::object();
  if (q.step()) {
    json paths = json::array();
    Stmt& n = db_.cached("SELECT DISTINCT path FROM names WHERE file_id = ? ORDER BY from_ns");
    n.bind(1, q.int64(9));
    while (n.step()) paths.push_back(n.text(0));
    const std::string kind = q.text(3);
    json file = {{"id", q.int64(9)},
                 {"source", q.is_null(6) ? json(nullptr) : json(q.text(7))},
                 {"ino", q.int64(4)},
                 {"gen", q.int64(5)}};
    if (!q.is_null(11)) file["dev"] = q.int64(11);
    j = {{"id", eid(id)},
         {"kind", kind},
         {"path", q.text(1)},
         {"paths", paths},
         {"version", q.int64(0)},
         {"file", file},
         {"created", time_json(q.int64(2), off_)},
         {"invalidated", q.is_null(8) ? json(nullptr) : time_json(q.int64(8), off_)}};
    if (kind == "pipe") j["path"] = "pipe:[" + std::to_string(q.int64(4)) + "]";
    if (!q.is_null(10)) {
      j["address"] = q.text(10);
      if (j["path"].get<std::string>().empty()) j["path"] = q.text(10);
    }
  }
  return entities_[id] = j;
}

// An activity's row; who logged in only from schema v8 (an older provd's database has no
// such columns).
#define BENTO_ACTIVITY_QUERY(login)                                                     \
  "SELECT a.exe, a.argv, p.pid, p.start_ns, a.uid, a.start_ns, a.end_ns, p.exit_code, " \
  "a.origin, (SELECT pp.pid FROM processes pp WHERE pp.id = p.parent_id), p.exit_ns, "  \
  "a.program, (SELECT x.detail FROM actions x WHERE x.activity_id = a.id AND x.what = " \
  "'inputs-lost' LIMIT 1), a.root, a.euid, " login                                      \
  " FROM activities a JOIN processes p ON "                                             \
  "p.id = a.process_id WHERE a.id = ?"
constexpr char kActivityQuery[] = BENTO_ACTIVITY_QUERY("a.login_uid, a.session_id");
constexpr char kActivityQueryBeforeV8[] = BENTO_ACTIVITY_QUERY("NULL, NULL");
#undef BENTO_ACTIVITY_QUERY

const json& LineageGraph::activity(int64_t id) {
  if (auto it = activities_.find(id); it != activities_.end()) return it->second;
  Stmt& q = db_.cached(db_.schema_version() >= 8 ? kActivityQuery : kActivityQueryBeforeV8);
  q.bind(1, id);
  json j = json::object();
  if (q.step()) {
    json argv = json::parse(q.text(1), nullptr, false);
    if (!argv.is_array()) argv = json::array();
    // The process's exit code belongs to its last activity only (an exec'd image ended by
    // the exec did not exit).
    const bool ended_by_exit = !q.is_null(6) && !q.is_null(10) && q.int64(6) == q.int64(10);
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
         {"exit_code", ended_by_exit && !q.is_null(7) ? json(q.int64(7)) : json(nullptr)},
         {"origin", q.text(8)}};
    if (!q.is_null(11) && q.text(11) != q.text(0)) j["program"] = q.text(11);
    if (!q.is_null(13)) j["root"] = q.text(13);  // chroot: the directory it saw as "/"
    // A setuid program (or a seteuid): it acted with another user's rights than its user's.
    if (!q.is_null(14) && q.int64(14) != q.int64(4)) {
      j["euid"] = q.int64(14);
      j["effective_user"] = user_name(q.int64(14));
    }
    // The person behind it: the audit login uid (kept across sudo and su), when set.
    if (!q.is_null(15)) {
      j["login_uid"] = q.int64(15);
      j["login_user"] = user_name(q.int64(15));
      if (!q.is_null(16)) j["session"] = q.int64(16);
    }
    // The collector dropped some of its events before it was kept (memory caps): what it
    // read may be missing from every answer.
    if (!q.is_null(12)) {
      json lost = json::parse(q.text(12), nullptr, false);
      j["inputs_lost"] = lost.is_object() ? lost.value("events", 0LL) : 0LL;
    }
    agents_.insert(q.int64(4));
    if (ended_by_exit) {
      const int64_t code = q.is_null(7) ? 0 : q.int64(7);
      edge("end:" + std::to_string(id),
           {{"type", "wasEndedBy"},
            {"activity", aid(id)},
            {"time", time_json(q.int64(10), off_)},
            {"how", (code & 0x7f) ? "signal " + std::to_string(code & 0x7f)
                                  : "exit " + std::to_string((code >> 8) & 0xff)}});
    }
    edge("w:" + std::to_string(id), {{"type", "wasAssociatedWith"},
                                     {"activity", aid(id)},
                                     {"agent", "u:" + std::to_string(q.int64(4))}});
  }
  return activities_[id] = j;
}

void LineageGraph::annotate_status(int64_t id) {
  json& e = entity_mut(id);
  if (e.empty() || e.contains("status")) return;
  json st = {{"state", "current"}};
  // A later version: what changed it, when, by whom.
  Stmt& next = db_.cached(
      "SELECT d.generated_id, d.time_ns, (SELECT g.activity_id FROM generated g WHERE "
      "g.entity_id = d.generated_id ORDER BY g.time_ns LIMIT 1), (SELECT g.how FROM "
      "generated g WHERE g.entity_id = d.generated_id ORDER BY g.time_ns LIMIT 1) FROM "
      "derived d WHERE d.used_id = ? AND d.how IN ('version', 'replaced') LIMIT 1");
  next.bind(1, id);
  if (next.step()) {
    st = {{"state", "changed"},
          {"next", eid(next.int64(0))},
          {"at", time_json(next.int64(1), off_)},
          {"how", next.is_null(3) ? json(nullptr) : json(next.text(3))},
          {"by", next.is_null(2) ? json(nullptr) : json(aid(next.int64(2)))}};
    if (!next.is_null(2)) activity(next.int64(2));
  } else {
    Stmt& gone = db_.cached(
        "SELECT activity_id, time_ns, how FROM invalidated WHERE entity_id = ? ORDER BY "
        "time_ns LIMIT 1");
    gone.bind(1, id);
    if (gone.step()) {
      st = {{"state", "removed"},
            {"at", time_json(gone.int64(1), off_)},
            {"how", gone.text(2)},
            {"by", gone.is_null(0) ? json(nullptr) : json(aid(gone.int64(0)))}};
      if (!gone.is_null(0)) activity(gone.int64(0));
      // Renamed while it was this version (a log rotated while its daemon wrote on): the
      // name it was removed by is not the one it was made with.
      Stmt& last = db_.cached(
          "SELECT path FROM names WHERE file_id = ? AND from_ns <= ? ORDER BY from_ns DESC "
          "LIMIT 1");
      last.bind(1, e["file"].is_object() ? e["file"].value("id", 0LL) : 0LL).bind(2, gone.int64(1));
      if (last.step() && last.text(0) != e.value("path", "") && !last.text(0).empty())
        st["name_when_removed"] = last.text(0);
      last.reset();
    }
  }
  // Renamed away: the names its file has now, when this version's name is not one.
  const std::string path = e.value("path", "");
  if (e.value("kind", "") != "pipe" && e["file"].is_object()) {
    Stmt& names = db_.cached("SELECT path FROM names WHERE file_id = ? AND to_ns IS NULL");
    names.bind(1, e["file"].value("id", 0LL));
    json now = json::array();
    bool still = false;
    while (names.step()) {
      now.push_back(names.text(0));
      still = still || names.text(0) == path;
    }
    if (!still && st["state"] != "removed") {
      st["names_now"] = now;
      if (st["state"] == "current") st["state"] = now.empty() ? "unnamed" : "renamed";
    }
  }
  e["status"] = st;
}

namespace {

// The file at `path`, if it is the regular file with inode number `ino`; -1 otherwise.
// Looked at before it is opened: a device node put there since is never opened.
int open_same_file(const std::string& path, int64_t ino, struct stat* st) {
  struct stat before = {};
  if (::lstat(path.c_str(), &before) != 0 || !S_ISREG(before.st_mode) ||
      static_cast<int64_t>(before.st_ino) != ino)
    return -1;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return -1;
  if (::fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || st->st_ino != before.st_ino ||
      st->st_dev != before.st_dev) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool same_content(int a, int b, off_t size) {
  std::vector<char> x(64 << 10), y(64 << 10);
  for (off_t off = 0; off < size;) {
    const size_t want = static_cast<size_t>(std::min<off_t>(size - off, x.size()));
    if (::pread(a, x.data(), want, off) != static_cast<ssize_t>(want) ||
        ::pread(b, y.data(), want, off) != static_cast<ssize_t>(want) ||
        std::memcmp(x.data(), y.data(), want) != 0)
      return false;
    off += static_cast<off_t>(want);
  }
  return true;
}

}  // namespace

bool LineageGraph::same_bytes(int64_t id, int64_t other) {
  if (id == other) return false;
  auto [it, fresh] =
      same_bytes_.emplace(std::make_pair(std::min(id, other), std::max(id, other)), false);
  if (!fresh) return it->second;
  constexpr off_t kMaxFile = 64 << 20;
  constexpr uint64_t kMaxAnswer = 256 << 20;
  struct stat sa = {}, sb = {};
  int fa = -1, fb = -1;
  for (int64_t e : {id, other}) {
    annotate_status(e);
    const json& j = entity(e);
    if (j.value("kind", "") != "file" || j["status"].value("state", "") != "current" ||
        !j.contains("file") || !j["file"].is_object() || j.value("path", "").empty())
      return false;
  }
  fa = open_same_file(entity(id).value("path", ""), entity(id)["file"].value("ino", 0LL), &sa);
  if (fa >= 0)
    fb = open_same_file(entity(other).value("path", ""), entity(other)["file"].value("ino", 0LL),
                        &sb);
  bool same = fa >= 0 && fb >= 0 && sa.st_size == sb.st_size && sa.st_size > 0 &&
              sa.st_size <= kMaxFile && compared_bytes_ + 2 * sa.st_size <= kMaxAnswer &&
              !(sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
  if (same) {
    compared_bytes_ += 2 * static_cast<uint64_t>(sa.st_size);
    same = same_content(fa, fb, sa.st_size);
  }
  if (fa >= 0) ::close(fa);
  if (fb >= 0) ::close(fb);
  it->second = same;
  if (same) {
    entity_mut(id)["same_bytes_as"].push_back(eid(other));
    entity_mut(other)["same_bytes_as"].push_back(eid(id));
  }
  return same;
}

// ---- edges, each with both of its nodes

// A used / generated row's edge id; a pipe's later read or write (a pipe_transfers row,
// stepped as -id) is "t:id" (JSON.md).
static std::string relation_edge_id(const char* prefix, int64_t row) {
  return row < 0 ? "t:" + std::to_string(-row) : prefix + std::to_string(row);
}

void LineageGraph::used_edge(const Link& l, int64_t a, int64_t e) {
  activity(a);
  entity(e);
  json j = {{"type", "used"},
            {"activity", aid(a)},
            {"entity", eid(e)},
            {"time", time_json(l.time_ns, off_)},
            {"how", l.how}};
  if (l.last_ns != 0) j["last"] = time_json(l.last_ns, off_);
  edge(relation_edge_id("u:", l.row), std::move(j));
}

void LineageGraph::generated_edge(const Link& l, int64_t e, int64_t a) {
  entity(e);
  activity(a);
  json j = {{"type", "wasGeneratedBy"},
            {"entity", eid(e)},
            {"activity", aid(a)},
            {"time", time_json(l.time_ns, off_)},
            {"how", l.how}};
  if (l.last_ns != 0) j["last"] = time_json(l.last_ns, off_);
  edge(relation_edge_id("g:", l.row), std::move(j));
}

void LineageGraph::informed_edge(const Link& l, int64_t informed, int64_t informant) {
  activity(informed);
  activity(informant);
  edge("i:" + std::to_string(l.row), {{"type", "wasInformedBy"},
                                      {"informed", aid(informed)},
                                      {"informant", aid(informant)},
                                      {"time", time_json(l.time_ns, off_)},
                                      {"how", l.how}});
}

void LineageGraph::version_edge(const Link& l, int64_t generated, int64_t used) {
  entity(generated);
  entity(used);
  edge("d:" + std::to_string(l.row), {{"type", "wasDerivedFrom"},
                                      {"generated", eid(generated)},
                                      {"used", eid(used)},
                                      {"activity", nullptr},
                                      {"time", time_json(l.time_ns, off_)},
                                      {"how", l.how}});
}

void LineageGraph::invalidated_edge(const Link& l, int64_t e, int64_t a) {
  entity(e);
  if (a != 0) activity(a);
  edge("x:" + std::to_string(l.row), {{"type", "wasInvalidatedBy"},
                                      {"entity", eid(e)},
                                      {"activity", a != 0 ? json(aid(a)) : json(nullptr)},
                                      {"time", time_json(l.time_ns, off_)},
                                      {"how", l.how}});
}

void LineageGraph::add_step(const Step& s) {
  Link l{0, s.how, s.first, s.row, s.last == kForever ? 0 : s.last};
  switch (s.type) {
    case Step::kGenerated:
      generated_edge(l, s.effect.id, s.cause.id);
      break;
    case Step::kUsed:
      used_edge(l, s.effect.id, s.cause.id);
      break;
    case Step::kInformed:
      informed_edge(l, s.effect.id, s.cause.id);
      break;
    case Step::kVersion:
      version_edge(l, s.effect.id, s.cause.id);
      break;
  }
}

void LineageGraph::annotate_step(const Step& s, const std::string& key, json value) {
  if (s.type != Step::kUsed && s.type != Step::kGenerated) return;
  const std::string id = relation_edge_id(s.type == Step::kUsed ? "u:" : "g:", s.row);
  for (json& e : edges_)
    if (e.value("id", "") == id) e[key] = std::move(value);
}

void LineageGraph::add_process_derivation(int64_t generated, int64_t used, int64_t a, int64_t t) {
  entity(generated);
  entity(used);
  activity(a);
  edge("p:" + std::to_string(generated) + "-" + std::to_string(used),
       {{"type", "wasDerivedFrom"},
        {"generated", eid(generated)},
        {"used", eid(used)},
        {"activity", aid(a)},
        {"time", time_json(t, off_)},
        {"how", "process"}});
}

// ---- neighbours: one relation walked from one node

std::vector<LineageGraph::Link> LineageGraph::links(const char* sql, int64_t id) {
  Stmt& q = db_.cached(sql);
  q.bind(1, id);
  std::vector<Link> out;
  while (q.step())
    out.push_back({q.int64(0), q.text(1), q.int64(2), q.int64(3), q.is_null(4) ? 0 : q.int64(4)});
  return out;
}

std::vector<LineageGraph::Link> LineageGraph::inputs(int64_t a) {
  activity(a);
  auto out = links(
      "SELECT entity_id, how, time_ns, id, last_ns FROM used WHERE activity_id = ? ORDER BY "
      "time_ns",
      a);
  for (const Link& l : out) used_edge(l, a, l.id);
  return out;
}

std::vector<LineageGraph::Link> LineageGraph::outputs(int64_t a) {
  activity(a);
  auto out = links(
      "SELECT entity_id, how, time_ns, id, last_ns FROM generated WHERE activity_id = ? ORDER BY "
      "time_ns",
      a);
  for (const Link& l : out) generated_edge(l, l.id, a);
  return out;
}

std::vector<LineageGraph::Link> LineageGraph::pipe_transfers(int64_t a, bool write) {
  activity(a);
  if (!db_.has_pipe_transfers()) return {};
  Stmt& q = db_.cached(
      "SELECT entity_id, time_ns, id FROM pipe_transfers WHERE activity_id = ? AND is_write = ? "
      "ORDER BY time_ns, id");
  q.bind(1, a).bind(2, write ? 1 : 0);
  std::vector<Link> out;
  while (q.step()) out.push_back({q.int64(0), "pipe", q.int64(1), -q.int64(2), q.int64(1)});
  q.reset();
  for (const Link& l : out) write ? generated_edge(l, l.id, a) : used_edge(l, a, l.id);
  return out;
}

std::vector<LineageGraph::Link> LineageGraph::informants(int64_t a) {
  activity(a);
  auto out = links(
      "SELECT informant_id, how, time_ns, id, NULL FROM informed WHERE informed_id = ? ORDER BY "
      "time_ns",
      a);
  for (const Link& l : out) informed_edge(l, a, l.id);
  return out;
}

std::vector<LineageGraph::Link> LineageGraph::informed(int64_t a) {
  activity(a);
  auto out = links(
      "SELECT informed_id, how, time_ns, id, NULL FROM informed WHERE informant_id = ? ORDER BY "
      "time_ns",
      a);
  for (const Link& l : out) informed_edge(l, l.id, a);
  return out;
}

std::vector<LineageGraph::Link> LineageGraph::invalidations(int64_t e) {
  entity(e);
  auto out = links(
      "SELECT IFNULL(activity_id, 0), how, time_ns, id, NULL FROM invalidated WHERE entity_id = ? "
      "ORDER BY time_ns",
      e);
  for (const Link& l : out) invalidated_edge(l, e, l.id);
  return out;
}

std::vector<LineageGraph::Link> LineageGraph::invalidated_by(int64_t a) {
  activity(a);
  auto out = links(
      "SELECT entity_id, how, time_ns, id, NULL FROM invalidated WHERE activity_id = ? ORDER BY "
      "time_ns",
      a);
  for (const Link& l : out) invalidated_edge(l, l.id, a);
  return out;
}

std::vector<LineageGraph::Link> LineageGraph::previous_versions(int64_t e) {
  entity(e);
  auto out = links(
      "SELECT used_id, how, time_ns, id, NULL FROM derived WHERE generated_id = ? AND how IN "
      "('version', 'replaced')",
      e);
  for (const Link& l : out) version_edge(l, e, l.id);
  return out;
}

std::vector<LineageGraph::Mark> LineageGraph::marks(int64_t a, const std::set<int64_t>* about) {
  activity(a);
  Stmt& q = db_.cached(
      "SELECT id, what, time_ns, IFNULL(entity_id, 0), IFNULL(other_activity_id, 0), "
      "IFNULL(detail, '') FROM actions WHERE activity_id = ? ORDER BY time_ns, id");
  q.bind(1, a);
  std::vector<Mark> out;
  while (q.step()) {
    Mark m{q.int64(0), q.text(1), q.int64(2), q.int64(3), q.int64(4), q.text(5)};
    if (about != nullptr && m.entity != 0 && about->count(m.entity) == 0) continue;
    json j = {{"type", "action"},
              {"activity", aid(a)},
              {"what", m.what},
              {"time", time_json(m.time_ns, off_)}};
    if (m.entity != 0) {
      entity(m.entity);
      j["entity"] = eid(m.entity);
    }
    if (m.other != 0) {
      activity(m.other);
      j["other"] = aid(m.other);
    }
    if (!m.detail.empty()) j["detail"] = json::parse(m.detail, nullptr, false);
    edge("m:" + std::to_string(m.row), std::move(j));
    out.push_back(std::move(m));
  }
  return out;
}

void LineageGraph::add_window(int64_t since, int64_t until) {
  auto each = [&](const char* sql, auto&& fn) {
    Stmt q(db_.handle(), sql);
    q.bind(1, since).bind(2, until);
    while (q.step()) fn(q);
  };
  auto link = [](Stmt& q) {
    return Link{0, q.text(3), q.int64(2), q.int64(4), q.is_null(5) ? 0 : q.int64(5)};
  };
  each("SELECT id FROM activities WHERE start_ns BETWEEN ? AND ?",
       [&](Stmt& q) { activity(q.int64(0)); });
  each("SELECT id FROM entities WHERE created_ns BETWEEN ? AND ?",
       [&](Stmt& q) { entity(q.int64(0)); });
  each(
      "SELECT activity_id, entity_id, time_ns, how, id, last_ns FROM used WHERE time_ns BETWEEN "
      "? AND ?",
      [&](Stmt& q) { used_edge(link(q), q.int64(0), q.int64(1)); });
  each(
      "SELECT entity_id, activity_id, time_ns, how, id, last_ns FROM generated WHERE time_ns "
      "BETWEEN ? AND ?",
      [&](Stmt& q) { generated_edge(link(q), q.int64(0), q.int64(1)); });
  each(
      "SELECT informed_id, informant_id, time_ns, how, id, NULL FROM informed WHERE time_ns "
      "BETWEEN ? AND ?",
      [&](Stmt& q) { informed_edge(link(q), q.int64(0), q.int64(1)); });
  each(
      "SELECT entity_id, IFNULL(activity_id, 0), time_ns, how, id, NULL FROM invalidated WHERE "
      "time_ns BETWEEN ? AND ?",
      [&](Stmt& q) { invalidated_edge(link(q), q.int64(0), q.int64(1)); });
  each(
      "SELECT generated_id, used_id, time_ns, how, id, NULL FROM derived WHERE time_ns BETWEEN ? "
      "AND ? AND how IN ('version', 'replaced')",
      [&](Stmt& q) { version_edge(link(q), q.int64(0), q.int64(1)); });
  if (!db_.has_pipe_transfers()) return;
  each(
      "SELECT activity_id, entity_id, time_ns, 'pipe', -id, time_ns, is_write FROM "
      "pipe_transfers WHERE time_ns BETWEEN ? AND ?",
      [&](Stmt& q) {
        q.int64(6) != 0 ? generated_edge(link(q), q.int64(1), q.int64(0))
                        : used_edge(link(q), q.int64(0), q.int64(1));
      });
}

bool LineageGraph::read_by(int64_t activity, const std::string& path) {
  Stmt& q = db_.cached(
      "SELECT 1 FROM used u JOIN entities e ON e.id = u.entity_id WHERE u.activity_id = ? AND "
      "e.path = ? LIMIT 1");
  q.bind(1, activity).bind(2, path);
  const bool read = q.step();
  q.reset();
  return read;
}

bool LineageGraph::made_in_record(int64_t id) {
  Stmt& q = db_.cached("SELECT 1 FROM generated WHERE entity_id = ? LIMIT 1");
  q.bind(1, id);
  const bool made = q.step();
  q.reset();
  return made;
}

std::string LineageGraph::entity_line(int64_t id) {
  const json& e = entity(id);
  if (e.empty()) return "?";
  const std::string kind = e.value("kind", "");
  // A file known only by its inode (written through an fd opened before provd started,
  // an O_TMPFILE never linked): it may well have a name, just none provd saw.
  const bool never_named =
      e.value("path", "").empty() && (!e.contains("paths") || e["paths"].empty());
  std::string s = bold(never_named ? "[name never seen]" : printable(e.value("path", "?")));
  if (kind == "pipe" || kind == "socket" || kind == "endpoint") return s;
  const json& c = e["created"];
  // A first version nothing recorded made (a file that was there before the record) has
  // no making time: its time is when provd first saw it, possibly after a read of it.
  const int64_t made_ns = c.is_null() ? 0 : c.value("ns", int64_t{0});
  std::string when = made_ns == 0 ? std::string("?") : clock_text(made_ns, off_);
  // A device is there before any read of it (its first version dates from 0: a terminal's
  // input before its first session's writer, /dev/urandom).
  if (e.value("version", 0) == 1 && !made_in_record(id))
    when = made_ns == 0 ? "there before the record" : "first seen " + when;
  s += dim("  (version " + std::to_string(e.value("version", 0)) + ", " + when + ", file " +
           std::to_string(e["file"].value("ino", 0LL)) + ":" +
           std::to_string(e["file"].value("gen", 0LL)) + ")");
  if (e.contains("status")) {
    const json& st = e["status"];
    const std::string state = st.value("state", "");
    auto by = [&]() -> std::string {
      if (!st.contains("by") || !st["by"].is_string()) return "";
      return " by " + command(std::stoll(st["by"].get<std::string>().substr(2)));
    };
    auto at = [&]() -> std::string {
      return st.contains("at") && st["at"].is_object()
                 ? " at " + clock_text(st["at"].value("ns", 0LL), off_)
                 : "";
    };
    // A next version no recorded step made (its writer not kept) has no "how": null.
    const std::string how =
        st.contains("how") && st["how"].is_string() ? ": " + st["how"].get<std::string>() : "";
    if (state == "changed")
      s += "  " + bold("[changed later" + how + at() + by() + "]");
    else if (state == "removed")
      s += "  " + bold("[deleted" + at() + by() + "]");
    if (state == "removed" && st.contains("name_when_removed"))
      s += "  " + bold("[named " + printable(st.value("name_when_removed", "")) + " when deleted]");
    if (st.contains("names_now") && state != "removed" && !never_named) {
      std::string now;
      for (const auto& n : st["names_now"]) now += (now.empty() ? "" : ", ") + n.get<std::string>();
      s += "  " + bold(now.empty() ? "[no name any more]" : "[now named " + printable(now) + "]");
    }
  }
  return s;
}

std::string LineageGraph::command_text(const json& a) const {
  std::string cmd;
  for (const auto& x : a["argv"]) {
    if (!x.is_string()) continue;
    std::string arg = printable(x.get<std::string>());
    if (arg.empty() || arg.find_first_of(" '\"") != std::string::npos) arg = "'" + arg + "'";
    cmd += (cmd.empty() ? "" : " ") + arg;
  }
  if (cmd.empty()) cmd = printable(a.value("exe", ""));
  // A process the fs log names that had exited before provd could look it up in /proc
  // (it wrote before provd started): nothing is known of it but its pid and uid.
  if (cmd.empty()) cmd = "[unknown program: exited before provd saw it]";
  if (cmd.size() > 100) cmd = cmd.substr(0, 97) + "...";
  return cmd;
}

std::string LineageGraph::command(int64_t id) {
  const json& a = activity(id);
  if (a.empty()) return "?";
  return command_text(a) + " (pid " + std::to_string(a.value("pid", 0LL)) + ")";
}

std::string LineageGraph::activity_line(int64_t id) {
  const json& a = activity(id);
  if (a.empty()) return "?";
  std::string s = bold(command_text(a));
  // The program actually run, when argv[0] does not say it (a renamed or disguised one).
  const std::string exe = a.value("program", a.value("exe", ""));
  std::string argv0 =
      a["argv"].empty() || !a["argv"][0].is_string() ? "" : a["argv"][0].get<std::string>();
  if (!exe.empty() && base_name(argv0) != base_name(exe))
    s += "  " + bold("[exe " + printable(exe) + "]");
  std::string t = a["start"].is_null() ? "?" : clock_text(a["start"].value("ns", 0LL), off_);
  if (!a["end"].is_null()) t += "–" + clock_text(a["end"].value("ns", 0LL), off_);
  std::string d = "  (pid " + std::to_string(a.value("pid", 0LL)) + ", " + a.value("user", "?") +
                  (a.contains("effective_user") ? " as " + a.value("effective_user", "?") : "");
  // Who logged in, where that is someone else (`sudo -i` by alice: "root, login alice").
  if (a.contains("login_uid") && a.value("login_uid", -1LL) != a.value("uid", -1LL))
    d += ", login " + a.value("login_user", "?");
  d += ", " + t;
  if (!a["exit_code"].is_null()) {
    int64_t c = a["exit_code"].get<int64_t>();
    d += ", " + ((c & 0x7f) ? "signal " + std::to_string(c & 0x7f)
                            : "exit " + std::to_string((c >> 8) & 0xff));
  }
  if (a.value("origin", "") == "fork") d += ", forked, before any exec";
  // Found in /proc, not seen starting: what it read before the record began, and who
  // started it, are not in the answer.
  if (a.value("origin", "") == "observed")
    d += ", running before tracking began: earlier reads unknown";
  return s + dim(d + ")");
}

json LineageGraph::to_json(json header, const std::set<std::string>* only) const {
  auto in = [&](const json& id) {
    return only == nullptr || (id.is_string() && only->count(id) != 0);
  };
  json ents = json::array(), acts = json::array(), agents = json::array(), edges = json::array();
  std::set<int64_t> uids;
  for (const auto& [id, e] : entities_)
    if (!e.empty() && in(e["id"])) ents.push_back(e);
  for (const auto& [id, a] : activities_) {
    if (a.empty() || !in(a["id"])) continue;
    acts.push_back(a);
    uids.insert(a.value("uid", 0LL));
  }
  for (int64_t uid : only == nullptr ? agents_ : uids)
    agents.push_back({{"id", "u:" + std::to_string(uid)}, {"uid", uid}, {"name", user_name(uid)}});
  for (const json& e : edges_) {
    bool keep = true;
    for (const char* k :
         {"activity", "entity", "informed", "informant", "generated", "used", "other"})
      if (e.contains(k) && e[k].is_string() && !in(e[k])) keep = false;
    if (keep) edges.push_back(e);
  }
  header["format"] = "bento-prov";
  header["version"] = 2;
  header["entities"] = ents;
  header["activities"] = acts;
  header["agents"] = agents;
  header["edges"] = edges;
  return header;
}

}  // namespace prov_cli
