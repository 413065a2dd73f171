// The causal search behind `prov why` (backward) and `prov impact` (forward), over any
// graph that can list a node's steps (a LineageSource: the database, or a test's random
// graph). LINEAGE.md states the rule; in short (BackTracker, King & Chen SOSP'03):
// information moves only forward in time, so going back through an edge whose transfer
// lasted [first, last] is allowed only if it began before the current deadline, and the
// deadline then becomes min(deadline, last). Forward, an edge is allowed if it lasted past
// the time the information arrived, which then becomes max(arrival, first).
//
// The search is best-first by hops, then by deadline (later is better): a node is
// expanded again whenever it is reached with a deadline later than every earlier
// expansion of it, so nothing reachable within `depth` hops is missed and the answer is
// monotone in depth. Each step costs 0 or 1 hop (a process hop costs 1; a write, an exec
// within the same process and a file's previous version cost 0).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace prov_cli {

constexpr int64_t kForever = std::numeric_limits<int64_t>::max();
constexpr int64_t kNever = std::numeric_limits<int64_t>::min();

struct Node {
  enum Kind : uint8_t { kEntity, kActivity } kind = kEntity;
  int64_t id = 0;
  friend bool operator<(const Node& a, const Node& b) {
    return a.kind != b.kind ? a.kind < b.kind : a.id < b.id;
  }
  friend bool operator==(const Node& a, const Node& b) = default;
  static Node entity(int64_t id) { return {kEntity, id}; }
  static Node activity(int64_t id) { return {kActivity, id}; }
};

// One edge of the graph, seen from one end. `cause` is the earlier end in PROV's sense:
// the entity an activity used, the activity that generated an entity, the informant, the
// previous version. [first, last] is when the transfer happened (last = kForever when it
// may have gone on until the acting activity ended and that is not known).
struct Step {
  enum Type : uint8_t { kGenerated, kUsed, kInformed, kVersion } type = kUsed;
  Node effect, cause;
  int64_t first = 0, last = kForever;
  int cost = 1;     // hops it takes
  std::string how;  // write, read, pipe, fork, exec, fd-pass, version...
  int64_t row = 0;  // the relation's row id (stable across queries)
  friend bool operator<(const Step& a, const Step& b) {
    if (a.type != b.type) return a.type < b.type;
    if (a.effect != b.effect) return a.effect < b.effect;
    if (a.cause != b.cause) return a.cause < b.cause;
    return a.row < b.row;
  }
  friend bool operator==(const Step& a, const Step& b) {
    return a.type == b.type && a.effect == b.effect && a.cause == b.cause && a.row == b.row;
  }
};

class LineageSource {
 public:
  virtual ~LineageSource() = default;
  // Steps whose effect is `n` (backward) / whose cause is `n` (forward).
  virtual const std::vector<Step>& causes(Node n) = 0;
  virtual const std::vector<Step>& effects(Node n) = 0;
  // Copies (LINEAGE.md §3): an activity whose writes of a file only copied other files'
  // bytes. Reached through `arrival` (backward: its write of a file; forward: its read of
  // one), the activity passes data on through some of its steps only: the restriction
  // that puts on it (0: none), and then the steps it is left with (a subset of causes()
  // backward, of effects() forward).
  virtual int64_t copy_restriction(const Step& arrival) {
    (void)arrival;
    return 0;
  }
  virtual const std::vector<Step>& restricted_steps(int64_t restriction) {
    (void)restriction;
    static const std::vector<Step> none;
    return none;
  }
  // Whether the activity copied the entity's file's bytes into a file (its copies): that
  // file is data wherever it lies, never its runtime.
  virtual bool copied_from(int64_t activity, int64_t entity) {
    (void)activity;
    (void)entity;
    return false;
  }
  // The same, into the file of one of the versions `into` only (entity ids).
  virtual bool copied_into(int64_t activity, int64_t entity, const std::set<int64_t>& into) {
    (void)into;
    return copied_from(activity, entity);
  }
  // Whether the activity relays (a pty master's holder: its restriction passes on what it
  // received, not what it copied).
  virtual bool relays(int64_t activity) {
    (void)activity;
    return false;
  }
  // Threads (LINEAGE.md "Threads"): which threads of the activity read (wrote) each version,
  // where the record knows it: entity id -> thread ids; empty where it knows nothing.
  virtual const std::map<int64_t, std::set<uint32_t>>& thread_io(int64_t activity, bool write) {
    (void)activity;
    (void)write;
    static const std::map<int64_t, std::set<uint32_t>> none;
    return none;
  }
};

// The rule, one step at a time (LINEAGE.md). Backward: `bound` is the deadline at the
// step's effect; forward: the arrival time at its cause.
bool backward_allowed(const Step& s, int64_t deadline);
int64_t backward_bound(const Step& s, int64_t deadline);
bool forward_allowed(const Step& s, int64_t arrival);
int64_t forward_bound(const Step& s, int64_t arrival);

// Optional: a step for which `follow` says false is recorded in SearchResult::held and not
// walked (the short answer's folded runtime reads: counted, never expanded).
using StepFilter = std::function<bool(const Step&)>;

struct SearchResult {
  struct Reach {
    int hops = 0;       // fewest hops it was reached with
    int64_t bound = 0;  // best deadline (backward: latest) / arrival (forward: earliest)
  };
  std::map<Node, Reach> nodes;
  std::set<Step> steps;  // every step some allowed path within depth takes
  std::set<Step> held;   // allowed steps the filter held back
  // Allowed steps (that the filter would follow) left unwalked because they lie beyond
  // `depth`: where the answer is incomplete, so that it can say so instead of stopping
  // silently.
  std::set<Step> cut;
  // Activities expanded only under copy restrictions (`cp -r` reached through one file it
  // wrote): their other reads were not walked.
  std::set<Node> restricted;
  // The search reached more than its max_nodes and stopped: the rest is not meaningful.
  bool over_budget = false;
};

// roots: each with its starting bound (backward: deadline, usually kForever; forward:
// the time the information exists, e.g. a version's creation).
// by_copies: follow the copies' restrictions (LineageSource::copy_restriction); --all
// does not. follow: steps it refuses are not walked (SearchResult::held). max_nodes: stop
// (SearchResult::over_budget) once more nodes than that are reached; 0 for no limit.
SearchResult search_backward(LineageSource& g, const std::vector<std::pair<Node, int64_t>>& roots,
                             int depth, const StepFilter& follow = nullptr, bool by_copies = true,
                             size_t max_nodes = 0);
SearchResult search_forward(LineageSource& g, const std::vector<std::pair<Node, int64_t>>& roots,
                            int depth, bool by_copies = true, const StepFilter& follow = nullptr,
                            size_t max_nodes = 0);

}  // namespace prov_cli
