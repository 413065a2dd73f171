// A subgraph of the lineage database (schema/SCHEMA.md) as a query assembles it: nodes
// (entities, activities, agents) read once each from the database, edges deduplicated by
// their stable id, and the neighbours of a node in either direction. It renders as the
// native JSON of JSON.md; prov_json.h and dot_export.h translate that document.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "bento/lineage/database.h"
#include "lineage_search.h"

namespace prov_cli {

// {"ns": mono, "wall": RFC 3339} or null for mono <= 0 (or kForever: not known).
nlohmann::json time_json(int64_t mono_ns, int64_t wall_offset);
// "HH:MM:SS.mmm" (UTC) of a monotonic time on the answer's day, "YYYY-MM-DD HH:MM:SS.mmm"
// on another, "?" when unknown. The answer's day is set_clock_day()'s, else the first
// time shown's: an answer that spans days (a payload fetched last week) says so.
std::string clock_text(int64_t mono_ns, int64_t wall_offset);
void set_clock_day(int64_t mono_ns, int64_t wall_offset);
std::string clock_day();  // "YYYY-MM-DD", "" before any
// Text safe for one line of a terminal: control characters (newlines, escapes) shown as
// \n, \t, \e, \xNN.
std::string printable(const std::string& s);
// CLOCK_REALTIME - CLOCK_MONOTONIC as provd last recorded it (meta wall_offset_ns), so every
// query and export shows the same wall times for the same facts; now's when none is stored.
int64_t stored_wall_offset(bento::lineage::Database& db);
// The user name of a uid (its number when the system has no such user).
std::string user_name(int64_t uid);

class LineageGraph {
 public:
  // One neighbour: the node at the other end of an edge, how and when, its relation row.
  struct Link {
    int64_t id;
    std::string how;
    int64_t time_ns;
    int64_t row = 0;
    int64_t last_ns = 0;  // 0: not stored
  };

  // wall_offset: CLOCK_REALTIME - CLOCK_MONOTONIC to show times with (default: now's).
  explicit LineageGraph(bento::lineage::Database& db, bool color = false, int64_t wall_offset = 0);

  // Nodes (added on first use; an unknown id gives an empty object).
  const nlohmann::json& entity(int64_t id);
  const nlohmann::json& activity(int64_t id);  // also its agent and wasAssociatedWith
  nlohmann::json& entity_mut(int64_t id);
  nlohmann::json& activity_mut(int64_t id);
  bool has_entity(int64_t id) const { return entities_.count(id) != 0; }
  bool has_activity(int64_t id) const { return activities_.count(id) != 0; }
  // Adds "status" to an entity: whether its file changed, was removed or renamed after
  // this version, when and by whom (JSON.md).
  void annotate_status(int64_t id);
  // Whether entity `id`'s file holds now the same bytes as entity `other`'s: both regular
  // files, the current versions (nothing recorded changed, removed or renamed them since),
  // their paths still naming those files (inode numbers), of the same size, 1 byte to
  // 64 MiB (256 MiB compared per answer at most). A fact about content, not about how it
  // got there: a relay that read many files and wrote many (`tar c | tar x`, rsync) is
  // one process reading them all, and this says which one a file's bytes are. When true,
  // adds "same_bytes_as": [eid of other, ...] to the entity (JSON.md).
  bool same_bytes(int64_t id, int64_t other);

  // A step of the causal search as its PROV edge (with `time`, `last`, a stable `id`).
  void add_step(const Step& s);
  // Adds `key` to the edge add_step() made of the read or write `s`.
  void annotate_step(const Step& s, const std::string& key, nlohmann::json value);
  // wasDerivedFrom(how process): `activity` generated `generated` after reading `used`.
  void add_process_derivation(int64_t generated, int64_t used, int64_t activity, int64_t t);

  // Neighbours, for `prov process` and `prov window`; each call adds the edges it walks.
  std::vector<Link> inputs(int64_t activity);          // used
  std::vector<Link> informants(int64_t activity);      // wasInformedBy (parent, pre-exec)
  std::vector<Link> outputs(int64_t activity);         // wasGeneratedBy, what
  std::vector<Link> informed(int64_t activity);        // children, post-exec images
  std::vector<Link> invalidations(int64_t entity);     // wasInvalidatedBy (activity may be 0)
  std::vector<Link> invalidated_by(int64_t activity);  // what it unlinked / replaced
  // A pipe's later reads (writes: write = true) by the activity, after the first one in
  // inputs() (outputs()): pipe_transfers rows (schema v9), instants, how "pipe".
  std::vector<Link> pipe_transfers(int64_t activity, bool write);
  std::vector<Link> previous_versions(int64_t entity);  // wasDerivedFrom how=version
  // Marks of calls that move no data (actions table): what, entity or other activity.
  struct Mark {
    int64_t row;
    std::string what;
    int64_t time_ns;
    int64_t entity = 0, other = 0;
    std::string detail;
  };
  // Adds them as edges (JSON.md "action"); with `about`, only the marks that name one of
  // those entities or no entity at all (signals, uid changes).
  std::vector<Mark> marks(int64_t activity, const std::set<int64_t>* about = nullptr);
  // Every edge whose time lies in [since, until] (monotonic ns), with its nodes, and the
  // activities that started in it: a time window.
  void add_window(int64_t since_ns, int64_t until_ns);

  // Readable one-line descriptions (bold/dim when color).
  std::string entity_line(int64_t id);
  // Whether a recorded process made this version (a generated edge); else it was there.
  bool made_in_record(int64_t id);
  // Whether the activity read a version of the file that had this path then.
  bool read_by(int64_t activity, const std::string& path);
  std::string activity_line(int64_t id);
  std::string command(int64_t activity);  // its command line, printable and short
  std::string bold(const std::string& s) const;
  std::string dim(const std::string& s) const;

  // The native document: header fields + entities, activities, agents, edges. With
  // `only`, just those nodes (ids "e:1", "a:2"), the edges between them and their agents.
  nlohmann::json to_json(nlohmann::json header, const std::set<std::string>* only = nullptr) const;
  int64_t wall_offset() const { return off_; }
  bento::lineage::Database& db() { return db_; }

 private:
  void edge(const std::string& id, nlohmann::json e);
  std::string command_text(const nlohmann::json& a) const;
  std::vector<Link> links(const char* sql, int64_t id);
  // Edges, with both of their nodes (an activity of 0: none).
  void used_edge(const Link& l, int64_t activity, int64_t entity);
  void generated_edge(const Link& l, int64_t entity, int64_t activity);
  void informed_edge(const Link& l, int64_t informed, int64_t informant);
  void version_edge(const Link& l, int64_t generated, int64_t used);
  void invalidated_edge(const Link& l, int64_t entity, int64_t activity);

  bento::lineage::Database& db_;
  int64_t off_;
  bool color_;
  std::map<int64_t, nlohmann::json> entities_, activities_;
  std::set<int64_t> agents_;
  nlohmann::json edges_ = nlohmann::json::array();
  std::set<std::string> edge_ids_;
  std::map<std::pair<int64_t, int64_t>, bool> same_bytes_;
  uint64_t compared_bytes_ = 0;
};

}  // namespace prov_cli
