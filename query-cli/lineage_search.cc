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

// One search for both directions: `better(a, b)` says bound a beats bound b.
template <bool kBackward>
SearchResult run(LineageSource& g, const std::vector<std::pair<Node, int64_t>>& roots, int depth,
                 const StepFilter& follow) {
  auto better = [](int64_t a, int64_t b) { return kBackward ? a > b : a < b; };
  struct State {
    int hops;
    int64_t bound;
    Node node;
  };
  // Fewest hops first; among equal hops the best bound first (fewer re-expansions).
  auto later = [&](const State& a, const State& b) {
    if (a.hops != b.hops) return a.hops > b.hops;
    if (a.bound != b.bound) return better(b.bound, a.bound);
    return b.node < a.node;
  };
  std::priority_queue<State, std::vector<State>, decltype(later)> queue(later);
  std::map<Node, int64_t> expanded;  // node -> best bound it was expanded with
  SearchResult out;
  auto reach = [&](Node n, int hops, int64_t bound) {
    auto [it, fresh] = out.nodes.emplace(n, SearchResult::Reach{hops, bound});
    if (!fresh) {
      it->second.hops = std::min(it->second.hops, hops);
      if (better(bound, it->second.bound)) it->second.bound = bound;
    }
    if (auto e = expanded.find(n); e != expanded.end() && !better(bound, e->second)) return;
    queue.push({hops, bound, n});
  };
  for (const auto& [n, bound] : roots) reach(n, 0, bound);
  while (!queue.empty()) {
    State s = queue.top();
    queue.pop();
    // Every earlier expansion had no more hops (pop order): it dominates unless this
    // state's bound is strictly better.
    if (auto it = expanded.find(s.node); it != expanded.end() && !better(s.bound, it->second))
      continue;
    expanded[s.node] = s.bound;
    const std::vector<Step>& steps = kBackward ? g.causes(s.node) : g.effects(s.node);
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
      reach(kBackward ? st.cause : st.effect, s.hops + st.cost, nb);
    }
  }
  // A step cut on one path but walked on another is in the answer.
  for (const Step& st : out.steps) out.cut.erase(st);
  return out;
}

}  // namespace

SearchResult search_backward(LineageSource& g, const std::vector<std::pair<Node, int64_t>>& roots,
                             int depth, const StepFilter& follow) {
  return run<true>(g, roots, depth, follow);
}

SearchResult search_forward(LineageSource& g, const std::vector<std::pair<Node, int64_t>>& roots,
                            int depth) {
  return run<false>(g, roots, depth, nullptr);
}

}  // namespace prov_cli
