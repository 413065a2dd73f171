#include "export_stream.h"

#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "dot_export.h"
#include "json_text.h"
#include "lineage_graph.h"
#include "prov_json.h"
#include "wall_clock.h"

namespace prov_cli {

using bento::lineage::Stmt;
using nlohmann::json;

namespace {

// Writes the items of one document format as they come.
class Writer {
 public:
  Writer(ExportFormat f, std::FILE* out) : f_(f), out_(out) {}
  bool ok() const { return ok_; }

  void begin(const json& header) {
    if (f_ == ExportFormat::kDot) return put(dot_begin());
    std::string h = bento::to_json_text(header);
    h.pop_back();  // the header's closing brace: sections follow
    put(h);
    first_section_ = header.empty();
    if (f_ == ExportFormat::kProvJson) {
      section("prefix");
      put(bento::to_json_text(prov_prefixes()).substr(1));  // already an object: drop '{'
      in_section_ = false;
    }
  }
  void end() {
    close_section();
    put(f_ == ExportFormat::kDot ? dot_end() : "}\n");
  }
  // Native: an array section; PROV-JSON: an object section.
  void section(const std::string& name) {
    close_section();
    if (f_ == ExportFormat::kDot) return;
    put(std::string(first_section_ ? "" : ",") + "\n\"" + name +
        "\":" + (f_ == ExportFormat::kNative ? "[" : "{"));
    first_section_ = false;
    in_section_ = true;
    first_item_ = true;
  }
  void item(const std::string& key, const json& value) {
    put(std::string(first_item_ ? "\n" : ",\n") +
        (f_ == ExportFormat::kProvJson ? bento::to_json_text(key) + ":" : "") +
        bento::to_json_text(value));
    first_item_ = false;
  }
  void raw(const std::string& s) { put(s); }
  ExportFormat format() const { return f_; }

 private:
  void close_section() {
    if (!in_section_) return;
    put(f_ == ExportFormat::kNative ? "\n]" : "\n}");
    in_section_ = false;
  }
  void put(const std::string& s) {
    if (ok_ && std::fwrite(s.data(), 1, s.size(), out_) != s.size()) ok_ = false;
  }
  ExportFormat f_;
  std::FILE* out_;
  bool ok_ = true, first_section_ = true, in_section_ = false, first_item_ = true;
};

// Which node ids a window export references (one bit each).
class IdSet {
 public:
  void add(int64_t id) {
    if (id <= 0) return;
    if (static_cast<size_t>(id) >= bits_.size()) bits_.resize(static_cast<size_t>(id) * 2 + 1024);
    bits_[static_cast<size_t>(id)] = true;
  }
  bool has(int64_t id) const {
    return id > 0 && static_cast<size_t>(id) < bits_.size() && bits_[id];
  }

 private:
  std::vector<bool> bits_;
};

// Reads `sql` (which selects id first and takes ?1 = last id, then ?2/?3 = window) chunk by
// chunk; each chunk is one statement run to its end (one short read transaction).
void chunked(bento::lineage::Database& db, const std::string& sql, const StreamScope& scope,
             const std::function<void(Stmt&)>& row) {
  Stmt q(db.handle(), sql.c_str());
  int64_t last = 0;
  for (;;) {
    q.reset();
    q.bind(1, last);
    if (scope.window) q.bind(2, scope.since_ns).bind(3, scope.until_ns);
    q.bind(scope.window ? 4 : 2, static_cast<int64_t>(scope.chunk));
    size_t n = 0;
    while (q.step()) {
      last = q.int64(0);
      row(q);
      n++;
    }
    q.reset();
    if (n < scope.chunk) return;
  }
}

std::string window_clause(const StreamScope& s, const char* column) {
  return s.window ? std::string(" AND ") + column + " BETWEEN ?2 AND ?3" : std::string();
}
std::string limit(const StreamScope& s) {
  return s.window ? " ORDER BY id LIMIT ?4" : " ORDER BY id LIMIT ?2";
}

struct Exporter {
  bento::lineage::Database& db;
  const StreamScope& scope;
  Writer& w;
  int64_t off;
  IdSet entities, activities;

  void edge(const json& e) {
    if (w.format() == ExportFormat::kDot) {
      w.raw(dot_edge(e));
      return;
    }
    if (w.format() == ExportFormat::kNative) {
      w.item("", e);
      return;
    }
    ProvRelation r = prov_relation(e);
    if (!r.section.empty()) w.item(r.key, r.record);
  }
  json t(Stmt& q, int col) { return q.is_null(col) ? json(nullptr) : time_json(q.int64(col), off); }

  // The relation rows of one table (PROV-JSON: the section they belong to).
  void used_rows() {
    chunked(db,
            "SELECT id, activity_id, entity_id, time_ns, last_ns, how FROM used WHERE id > ?1" +
                window_clause(scope, "time_ns") + limit(scope),
            scope, [&](Stmt& q) {
              json e = {{"id", "u:" + std::to_string(q.int64(0))},
                        {"type", "used"},
                        {"activity", "a:" + std::to_string(q.int64(1))},
                        {"entity", "e:" + std::to_string(q.int64(2))},
                        {"time", t(q, 3)},
                        {"how", q.text(5)}};
              if (!q.is_null(4)) e["last"] = t(q, 4);
              activities.add(q.int64(1));
              entities.add(q.int64(2));
              edge(e);
            });
  }
  void generated_rows() {
    chunked(
        db,
        "SELECT id, entity_id, activity_id, time_ns, last_ns, how FROM generated WHERE id > ?1" +
            window_clause(scope, "time_ns") + limit(scope),
        scope, [&](Stmt& q) {
          json e = {{"id", "g:" + std::to_string(q.int64(0))},
                    {"type", "wasGeneratedBy"},
                    {"entity", "e:" + std::to_string(q.int64(1))},
                    {"activity", "a:" + std::to_string(q.int64(2))},
                    {"time", t(q, 3)},
                    {"how", q.text(5)}};
          if (!q.is_null(4)) e["last"] = t(q, 4);
          entities.add(q.int64(1));
          activities.add(q.int64(2));
          edge(e);
        });
  }
  // A pipe's (stream socket's) later reads (is_write 0: used) or writes (wasGeneratedBy),
  // schema v9: instants, with their first one's how.
  void pipe_transfer_rows(int write) {
    if (!db.has_pipe_transfers()) return;
    const std::string first = write ? "generated" : "used";
    chunked(db,
            "SELECT id, activity_id, entity_id, time_ns, IFNULL((SELECT r.how FROM " + first +
                " r WHERE r.activity_id = pipe_transfers.activity_id AND r.entity_id = "
                "pipe_transfers.entity_id), 'pipe') FROM pipe_transfers WHERE id > ?1 AND "
                "is_write = " +
                std::to_string(write) + window_clause(scope, "time_ns") + limit(scope),
            scope, [&](Stmt& q) {
              json e = {{"id", "t:" + std::to_string(q.int64(0))},
                        {"type", write ? "wasGeneratedBy" : "used"},
                        {"activity", "a:" + std::to_string(q.int64(1))},
                        {"entity", "e:" + std::to_string(q.int64(2))},
                        {"time", t(q, 3)},
                        {"last", t(q, 3)},
                        {"how", q.text(4)}};
              activities.add(q.int64(1));
              entities.add(q.int64(2));
              edge(e);
            });
  }
  void informed_rows() {
    chunked(db,
            "SELECT id, informed_id, informant_id, time_ns, how FROM informed WHERE id > ?1" +
                window_clause(scope, "time_ns") + limit(scope),
            scope, [&](Stmt& q) {
              activities.add(q.int64(1));
              activities.add(q.int64(2));
              edge({{"id", "i:" + std::to_string(q.int64(0))},
                    {"type", "wasInformedBy"},
                    {"informed", "a:" + std::to_string(q.int64(1))},
                    {"informant", "a:" + std::to_string(q.int64(2))},
                    {"time", t(q, 3)},
                    {"how", q.text(4)}});
            });
  }
  void invalidated_rows() {
    chunked(db,
            "SELECT id, entity_id, activity_id, time_ns, how FROM invalidated WHERE id > ?1" +
                window_clause(scope, "time_ns") + limit(scope),
            scope, [&](Stmt& q) {
              entities.add(q.int64(1));
              if (!q.is_null(2)) activities.add(q.int64(2));
              edge({{"id", "x:" + std::to_string(q.int64(0))},
                    {"type", "wasInvalidatedBy"},
                    {"entity", "e:" + std::to_string(q.int64(1))},
                    {"activity",
                     q.is_null(2) ? json(nullptr) : json("a:" + std::to_string(q.int64(2)))},
                    {"time", t(q, 3)},
                    {"how", q.text(4)}});
            });
  }
  void derived_rows() {
    chunked(db,
            "SELECT id, generated_id, used_id, time_ns, how FROM derived WHERE how IN ('version', "
            "'replaced') AND id > ?1" +
                window_clause(scope, "time_ns") + limit(scope),
            scope, [&](Stmt& q) {
              entities.add(q.int64(1));
              entities.add(q.int64(2));
              edge({{"id", "d:" + std::to_string(q.int64(0))},
                    {"type", "wasDerivedFrom"},
                    {"generated", "e:" + std::to_string(q.int64(1))},
                    {"used", "e:" + std::to_string(q.int64(2))},
                    {"activity", nullptr},
                    {"time", t(q, 3)},
                    {"how", q.text(4)}});
            });
  }
  // Marks: with a file (PROV-JSON "used"), with another process ("wasInformedBy"), or
  // neither (native and DOT only).
  void action_rows(const char* which) {
    chunked(
        db,
        std::string("SELECT id, activity_id, entity_id, other_activity_id, time_ns, what, detail "
                    "FROM actions WHERE id > ?1 AND ") +
            which + window_clause(scope, "time_ns") + limit(scope),
        scope, [&](Stmt& q) {
          json e = {{"id", "m:" + std::to_string(q.int64(0))},
                    {"type", "action"},
                    {"activity", "a:" + std::to_string(q.int64(1))},
                    {"what", q.text(5)},
                    {"time", t(q, 4)}};
          activities.add(q.int64(1));
          if (!q.is_null(2)) {
            e["entity"] = "e:" + std::to_string(q.int64(2));
            entities.add(q.int64(2));
          }
          if (!q.is_null(3)) {
            e["other"] = "a:" + std::to_string(q.int64(3));
            activities.add(q.int64(3));
          }
          if (!q.is_null(6)) e["detail"] = json::parse(q.text(6), nullptr, false);
          edge(e);
        });
  }

  // Nodes: every one (whole graph), or those the window's edges named and the ones that
  // began in it. `emit_node` gets each node's JSON and the edges that come with it.
  void nodes(const char* table, const char* time_column, IdSet& named,
             const std::function<void(LineageGraph&, int64_t)>& emit) {
    Stmt q(db.handle(), (std::string("SELECT id, ") + time_column + " FROM " + table +
                         " WHERE id > ?1 ORDER BY id LIMIT ?2")
                            .c_str());
    int64_t last = 0;
    for (;;) {
      q.reset();
      q.bind(1, last).bind(2, static_cast<int64_t>(scope.chunk));
      std::vector<int64_t> ids;
      size_t n = 0;
      while (q.step()) {
        n++;
        last = q.int64(0);
        const bool in_window =
            !q.is_null(1) && q.int64(1) >= scope.since_ns && q.int64(1) <= scope.until_ns;
        if (!scope.window || named.has(last) || in_window) ids.push_back(last);
      }
      q.reset();
      if (!ids.empty()) {
        LineageGraph g(db, false, off);  // one chunk of nodes at a time
        for (int64_t id : ids) emit(g, id);
      }
      if (n < scope.chunk) return;
    }
  }
};

}  // namespace

bool stream_export(bento::lineage::Database& db, ExportFormat format, const StreamScope& scope,
                   std::FILE* out, std::string* error) {
  Writer w(format, out);
  const int64_t off = stored_wall_offset(db);
  Exporter x{db, scope, w, off, {}, {}};
  json header = {{"format", "bento-prov"}, {"version", 2}, {"query", "export"}, {"streamed", true}};
  if (scope.window) {
    header["since"] = time_json(scope.since_ns, off);
    header["until"] = time_json(scope.until_ns, off);
  }
  if (format == ExportFormat::kProvJson) header = json::object();
  w.begin(header);
  auto native_or_dot = format != ExportFormat::kProvJson;
  // Relations first (each node they name is noted), then the nodes.
  if (native_or_dot) w.section("edges");
  if (!native_or_dot) w.section("used");
  x.used_rows();
  x.pipe_transfer_rows(0);
  x.action_rows("entity_id IS NOT NULL");
  if (!native_or_dot) w.section("wasGeneratedBy");
  x.generated_rows();
  x.pipe_transfer_rows(1);
  if (!native_or_dot) w.section("wasInformedBy");
  x.informed_rows();
  x.action_rows("entity_id IS NULL AND other_activity_id IS NOT NULL");
  if (!native_or_dot) w.section("wasInvalidatedBy");
  x.invalidated_rows();
  if (!native_or_dot) w.section("wasDerivedFrom");
  x.derived_rows();
  if (native_or_dot) x.action_rows("entity_id IS NULL AND other_activity_id IS NULL");
  // Edges that come with activities: wasAssociatedWith and wasEndedBy.
  std::set<int64_t> uids;
  auto activity_edges = [&](const char* type) {
    x.nodes("activities", "start_ns", x.activities, [&](LineageGraph& g, int64_t id) {
      json a = g.activity(id);
      if (a.empty()) return;
      uids.insert(a.value("uid", 0LL));
      json doc = g.to_json({});
      for (const json& e : doc["edges"])
        if (e.value("type", "") == type && e.value("activity", "") == a.value("id", "")) x.edge(e);
    });
  };
  if (!native_or_dot) w.section("wasAssociatedWith");
  activity_edges("wasAssociatedWith");
  if (!native_or_dot) w.section("wasEndedBy");
  activity_edges("wasEndedBy");
  // The nodes.
  w.section(format == ExportFormat::kNative ? "entities" : "entity");
  x.nodes("entities", "created_ns", x.entities, [&](LineageGraph& g, int64_t id) {
    const json& e = g.entity(id);
    if (e.empty()) return;
    if (format == ExportFormat::kDot)
      w.raw(dot_node("entity", e));
    else if (format == ExportFormat::kNative)
      w.item("", e);
    else
      w.item(prov_qname(e["id"]), prov_entity(e));
  });
  w.section(format == ExportFormat::kNative ? "activities" : "activity");
  x.nodes("activities", "start_ns", x.activities, [&](LineageGraph& g, int64_t id) {
    const json& a = g.activity(id);
    if (a.empty()) return;
    if (format == ExportFormat::kDot)
      w.raw(dot_node("activity", a));
    else if (format == ExportFormat::kNative)
      w.item("", a);
    else
      w.item(prov_qname(a["id"]), prov_activity(a));
  });
  w.section(format == ExportFormat::kNative ? "agents" : "agent");
  {
    LineageGraph g(db, false, off);
    for (int64_t uid : uids) {
      json u = {{"id", "u:" + std::to_string(uid)}, {"uid", uid}, {"name", user_name(uid)}};
      if (format == ExportFormat::kDot)
        w.raw(dot_node("agent", u));
      else if (format == ExportFormat::kNative)
        w.item("", u);
      else
        w.item(prov_qname(u["id"]), prov_agent(u));
    }
  }
  w.end();
  if (!w.ok()) *error = "writing the export failed";
  return w.ok();
}

}  // namespace prov_cli
