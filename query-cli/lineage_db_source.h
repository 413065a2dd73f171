// The lineage database (schema/SCHEMA.md) as a LineageSource for the causal search: each
// node's steps with their transfer intervals, read once per node. A transfer whose last
// moment is not stored lasted at most until its activity ended (exit or exec), else it
// may still be going on (kForever). Signals are marks, not data flow: never a step.
#pragma once

#include <map>
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

 private:
  struct Statements;
  bento::lineage::Database& db_;
  std::unique_ptr<Statements> q_;
  std::map<Node, std::vector<Step>> causes_, effects_;
};

// Hops an informed edge of this kind costs: an exec or a uid change stays in the same
// process (0); a fork or an fd passed to another process is a process hop (1).
int informed_cost(const std::string& how);

}  // namespace prov_cli
