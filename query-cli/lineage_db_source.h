// The lineage database (schema/SCHEMA.md) as a LineageSource for the causal search: each
// node's steps with their transfer intervals, read once per node. A transfer whose last
// moment is not stored lasted at most until its activity ended (exit or exec), else it
// may still be going on (kForever). Signals are marks, not data flow: never a step.
#pragma once

#include <deque>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "bento/lineage/database.h"
#include "lineage_search.h"

namespace prov_cli {

class DbLineageSource : public LineageSource {
 public:
  explicit DbLineageSource(bento::lineage::Database& db);
  ~DbLineageSource() override;
  const std::vector<Step>& causes(Node n) override;
  const std::vector<Step>& effects(Node n) override;
  int64_t copy_restriction(const Step& arrival) override;
  const std::vector<Step>& restricted_steps(int64_t restriction) override;
  bool copied_from(int64_t activity, int64_t entity) override;
  bool copied_into(int64_t activity, int64_t entity, const std::set<int64_t>& into) override;
  const std::map<int64_t, std::set<uint32_t>>& thread_io(int64_t activity, bool write) override;

 private:
  struct Statements;
  // A file as the `copies` table names it: (source_id or 0, dev or 0, ino).
  using Identity = std::tuple<int64_t, int64_t, int64_t>;
  // An activity's copies, read once: file written -> the files its writes copied; and its
  // steps by file (backward: its reads by the file read; forward: its writes of copies by
  // the file copied, and the rest of its effects).
  struct Copies {
    std::map<Identity, std::set<Identity>> from;
    std::map<Identity, std::vector<Step>> reads;
    std::vector<Step> other_causes;  // not reads (fork, exec)
    std::map<Identity, std::vector<Step>> writes_copying;
    std::vector<Step> other_effects;  // writes not (only) copies, fork, exec
    bool indexed_causes = false, indexed_effects = false;
  };
  Copies& copies_of(int64_t activity);
  // Terminals (LINEAGE.md "Devices"): a pty master's holder relays what it receives.
  int64_t relay_restriction(const Step& arrival);
  bool terminal(int64_t entity);          // a version of /dev/pts/N: its input
  bool terminal_output(int64_t entity);   // "/dev/pts/N (output)" (SCHEMA.md)
  bool holds_terminal(int64_t activity);  // wrote a terminal's input or read its output
  bool relays(int64_t activity) override { return holds_terminal(activity); }
  bool stream(int64_t entity);  // a pipe, FIFO, socket, endpoint or device
  Identity identity(int64_t entity);
  std::string script_of(int64_t activity);
  std::string path_of(int64_t entity);

  bento::lineage::Database& db_;
  std::unique_ptr<Statements> q_;
  std::map<Node, std::vector<Step>> causes_, effects_;
  std::map<int64_t, Copies> copies_;
  std::map<std::pair<int64_t, bool>, std::map<int64_t, std::set<uint32_t>>> thread_io_;
  std::map<int64_t, Identity> identities_;
  std::map<int64_t, bool> terminals_, terminal_outputs_, streams_,
      holds_terminal_;  // entity / activity ->
  // Restrictions: (backward, activity, file) -> its number (1-based) and steps.
  std::map<std::tuple<bool, int64_t, Identity>, int64_t> restriction_ids_;
  std::deque<std::vector<Step>> restricted_;  // a deque: the search holds references
};

// Hops an informed edge of this kind costs: an exec or a uid change stays in the same
// process (0); a fork or an fd passed to another process is a process hop (1).
int informed_cost(const std::string& how);

}  // namespace prov_cli
