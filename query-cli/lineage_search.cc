#include "lineage_search.h"

#include <algorithm>
#include <queue>
#include <tuple>

namespace prov_cli {

bool backward_allowed(const Step& s, int64_t deadline) {
  // A version exists from its creation: a reader at that very time may have seen it.
  return s.type == Step::kVersion ? s.first <= deadline : s.first < deadline;
}

int64_t backward_bound(const Step& s, int64_t deadline) {
  return std::min(deadline, s.last);
}

bool forward_allowed(const Step& s, int64_t arrival) {
  return s.last >= arrival;
}

int64_t forward_bound(const Step& s, int64_t arrival) {
  return std::max(arrival, s.first);
}

namespace {

// One search for both directions: `better(a, b)` says bound a beats bound b. A state is a
// node and the copy restriction it was reached under (0 for none, and for every entity).
template <bool kBackward>
SearchResult run(LineageSource& g, const std::vector<std::pair<Node, int64_t>>& roots, int depth,
                 const StepFilter& follow, bool by_copies, size_t max_nodes) {
  auto better = [](int64_t a, int64_t b) { return kBackward ? a > b : a < b; };
  struct State {
    int hops;
    int64_t bound;
    Node node;
    int64_t restriction;
  };
  // Fewest hops first; among equal hops the best bound first (fewer re-expansions).
  auto later = [&](const State& a, const State& b) {
    if (a.hops != b.hops) return a.hops > b.hops;
    if (a.bound != b.bound) return better(b.bound, a.bound);
    if (a.node != b.node) return b.node < a.node;
    return b.restriction < a.restriction;
  };
  std::priority_queue<State, std::vector<State>, decltype(later)> queue(later);
  // (node, restriction) -> best bound it was expanded with. An unrestricted expansion
  // covers the restricted ones with no better bound.
  std::map<std::pair<Node, int64_t>, int64_t> expanded;
  auto dominated = [&](Node n, int64_t restriction, int64_t bound) {
    for (int64_t r : {int64_t{0}, restriction}) {
      auto e = expanded.find({n, r});
      if (e != expanded.end() && !better(bound, e->second)) return true;
    }
    return false;
  };
  SearchResult out;
  auto reach = [&](Node n, int hops, int64_t bound, int64_t restriction) {
    auto [it, fresh] = out.nodes.emplace(n, SearchResult::Reach{hops, bound});
    if (!fresh) {
      it->second.hops = std::min(it->second.hops, hops);
      if (better(bound, it->second.bound)) it->second.bound = bound;
    }
    if (dominated(n, restriction, bound)) return;
    queue.push({hops, bound, n, restriction});
  };
  for (const auto& [n, bound] : roots) reach(n, 0, bound, 0);
  while (!queue.empty()) {
    if (max_nodes != 0 && out.nodes.size() > max_nodes) {
      out.over_budget = true;
      return out;
    }
    State s = queue.top();
    queue.pop();
    // Every earlier expansion had no more hops (pop order): it dominates unless this
    // state's bound is strictly better.
    if (dominated(s.node, s.restriction, s.bound)) continue;
    expanded[{s.node, s.restriction}] = s.bound;
    const std::vector<Step>& steps = s.restriction != 0 ? g.restricted_steps(s.restriction)
                                     : kBackward        ? g.causes(s.node)
                                                        : g.effects(s.node);
    for (const Step& st : steps) {
      if (kBackward ? !backward_allowed(st, s.bound) : !forward_allowed(st, s.bound)) continue;
      const bool within = s.hops + st.cost <= depth;
      if (follow && !follow(st)) {
        if (within) out.held.insert(st);
        continue;
      }
      if (!within) {
        out.cut.insert(st);
        continue;
      }
      out.steps.insert(st);
      const int64_t nb = kBackward ? backward_bound(st, s.bound) : forward_bound(st, s.bound);
      const Node next = kBackward ? st.cause : st.effect;
      const int64_t r = by_copies && next.kind == Node::kActivity &&
                                (st.type == Step::kGenerated || st.type == Step::kUsed)
                            ? g.copy_restriction(st)
                            : 0;
      reach(next, s.hops + st.cost, nb, r);
    }
  }
  // A step cut on one path but walked on another is in the answer.
  for (const Step& st : out.steps) out.cut.erase(st);
  for (const auto& [key, bound] : expanded)
    if (key.second != 0 && expanded.count({key.first, 0}) == 0) out.restricted.insert(key.first);
  return out;
}

}  // namespace

SearchResult search_backward(LineageSource& g, const std::vector<std::pair<Node, int64_t>>& roots,
                             int depth, const StepFilter& follow, bool by_copies,
                             size_t max_nodes) {
  return run<true>(g, roots, depth, follow, by_copies, max_nodes);
}

SearchResult search_forward(LineageSource& g, const std::vector<std::pair<Node, int64_t>>& roots,
                            int depth, bool by_copies, const StepFilter& follow, size_t max_nodes) {
  return run<false>(g, roots, depth, follow, by_copies, max_nodes);
}

}  // namespace prov_cli
