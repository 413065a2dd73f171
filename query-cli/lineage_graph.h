// A subgraph of the lineage database (schema/SCHEMA.md) as a query assembles it: nodes
// (entities, activities, agents) read once each from the database, edges deduplicated,
// and the neighbours of a node in either direction. It renders as the native JSON of
// JSON.md; prov_json.h and dot.h translate that document.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "bento/lineage/database.h"

namespace prov_cli {

// {"ns": mono, "wall": RFC 3339} or null for mono <= 0.
nlohmann::json time_json(int64_t mono_ns, int64_t wall_offset);
// "HH:MM:SS.mmm" (UTC) of a monotonic time, "?" when unknown.
std::string clock_text(int64_t mono_ns, int64_t wall_offset);

class LineageGraph {
 public:
  // One neighbour: the node at the other end of an edge, how and when.
  struct Link {
    int64_t id;
    std::string how;
    int64_t time_ns;
  };

  explicit LineageGraph(bento::lineage::Database& db, bool color = false);

  // Nodes (added on first use; an unknown id gives an empty object).
  const nlohmann::json& entity(int64_t id);
  const nlohmann::json& activity(int64_t id);  // also its agent and wasAssociatedWith
  bool has_entity(int64_t id) const { return entities_.count(id) != 0; }
  bool has_activity(int64_t id) const { return activities_.count(id) != 0; }

  // Backward neighbours; each call adds the edges it walks.
  std::vector<Link> generators(int64_t entity);         // wasGeneratedBy
  std::vector<Link> previous_versions(int64_t entity);  // wasDerivedFrom how=version
  std::vector<Link> inputs(int64_t activity);           // used
  std::vector<Link> informants(int64_t activity);       // wasInformedBy (parent, pre-exec)
  // Forward neighbours.
  std::vector<Link> readers(int64_t entity);           // used, by whom
  std::vector<Link> next_versions(int64_t entity);     // wasDerivedFrom how=version
  std::vector<Link> outputs(int64_t activity);         // wasGeneratedBy, what
  std::vector<Link> informed(int64_t activity);        // children, post-exec images
  std::vector<Link> invalidations(int64_t entity);     // wasInvalidatedBy (activity may be 0)
  std::vector<Link> invalidated_by(int64_t activity);  // what it unlinked / replaced
  // wasDerivedFrom how=process between entities already in the subgraph (what each
  // activity generated from what it had used): call once the walk is done.
  void add_process_derivations();
  // Every edge whose time lies in [since, until] (monotonic ns), with its nodes, and the
  // activities that started in it: a time window, or the whole graph.
  void add_window(int64_t since_ns, int64_t until_ns);

  // Readable one-line descriptions (bold/dim when color).
  std::string entity_line(int64_t id);
  std::string activity_line(int64_t id);
  std::string bold(const std::string& s) const;
  std::string dim(const std::string& s) const;

  // The native document: header fields + entities, activities, agents, edges.
  nlohmann::json to_json(nlohmann::json header) const;
  const nlohmann::json& edges() const { return edges_; }
  int64_t wall_offset() const { return off_; }
  bento::lineage::Database& db() { return db_; }

 private:
  void edge(nlohmann::json e);
  std::vector<Link> links(const char* sql, int64_t id);
  // Edges, with both of their nodes (an activity of 0: none).
  void used_edge(int64_t activity, int64_t entity, int64_t t, const std::string& how);
  void generated_edge(int64_t entity, int64_t activity, int64_t t, const std::string& how);
  void informed_edge(int64_t informed, int64_t informant, int64_t t, const std::string& how);
  void derived_edge(int64_t generated, int64_t used, int64_t activity, int64_t t,
                    const std::string& how);
  void invalidated_edge(int64_t entity, int64_t activity, int64_t t, const std::string& how);

  bento::lineage::Database& db_;
  int64_t off_;
  bool color_;
  std::map<int64_t, nlohmann::json> entities_, activities_;
  std::set<int64_t> agents_;
  nlohmann::json edges_ = nlohmann::json::array();
  std::set<std::string> edge_keys_;
};

}  // namespace prov_cli
