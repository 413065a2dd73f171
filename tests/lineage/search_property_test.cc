// The causal search (query-cli/lineage_search.h) against a brute-force reference on
// thousands of random lineage graphs: random times and intervals, cycles through pipes
// (a process that writes a pipe it also reads, two processes feeding each other), exec
// chains, forks and pid-reuse-like twins (distinct activities with identical commands).
// The reference enumerates every path step by step without any visited set; the search
// must find exactly the nodes and the steps those paths reach, at every depth, and what
// it finds at depth d it finds at every depth above d.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "lineage_search.h"

namespace {

using prov_cli::Node;
using prov_cli::SearchResult;
using prov_cli::Step;

class RandomGraph : public prov_cli::LineageSource {
 public:
  explicit RandomGraph(uint32_t seed) : rng_(seed) {
    const int activities = pick(2, 9), entities = pick(2, 12);
    auto t = [&]() { return static_cast<int64_t>(pick(1, 60)); };
    // Writes: an entity's writers (files versions and pipes alike).
    for (int e = 1; e <= entities; e++) {
      int writers = pick(0, 2);
      for (int k = 0; k < writers; k++) {
        int64_t first = t(), last = coin(4) ? prov_cli::kForever : first + pick(0, 20);
        add(Step::kGenerated, Node::entity(e), Node::activity(pick(1, activities)), first, last, 0,
            "write");
      }
      // A previous version, created before this one (versions never form cycles).
      if (e > 1 && coin(4)) {
        int64_t at = t();
        add(Step::kVersion, Node::entity(e), Node::entity(pick(1, e - 1)), at, at, 0, "version");
      }
    }
    // Reads (any entity: cycles arise when a process reads what it or its reader wrote).
    for (int a = 1; a <= activities; a++) {
      int reads = pick(0, 3);
      for (int k = 0; k < reads; k++) {
        int64_t first = t(), last = coin(3) ? prov_cli::kForever : first + pick(0, 20);
        add(Step::kUsed, Node::activity(a), Node::entity(pick(1, entities)), first, last, 1,
            "read");
      }
      // Fork (1 hop) from any activity, exec (0 hops) only from an earlier-numbered one.
      if (coin(3)) {
        int64_t at = t();
        add(Step::kInformed, Node::activity(a), Node::activity(pick(1, activities)), at, at, 1,
            "fork");
      }
      if (a > 1 && coin(4)) {
        int64_t at = t();
        add(Step::kInformed, Node::activity(a), Node::activity(pick(1, a - 1)), at, at, 0, "exec");
      }
    }
    nodes_ = {Node::entity(1)};
    for (int e = 1; e <= entities; e++) nodes_.push_back(Node::entity(e));
    for (int a = 1; a <= activities; a++) nodes_.push_back(Node::activity(a));
  }

  const std::vector<Step>& causes(Node n) override { return causes_[n]; }
  const std::vector<Step>& effects(Node n) override { return effects_[n]; }
  const std::vector<Node>& nodes() const { return nodes_; }
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool coin(int one_in) { return pick(1, one_in) == 1; }

 private:
  void add(Step::Type type, Node effect, Node cause, int64_t first, int64_t last, int cost,
           const char* how) {
    Step s;
    s.type = type;
    s.effect = effect;
    s.cause = cause;
    s.first = first;
    s.last = last;
    s.cost = cost;
    s.how = how;
    s.row = ++rows_;
    causes_[effect].push_back(s);
    effects_[cause].push_back(s);
  }
  std::mt19937 rng_;
  std::map<Node, std::vector<Step>> causes_, effects_;
  std::vector<Node> nodes_;
  int64_t rows_ = 0;
};

// Every path from the root, one step at a time, no visited set: a step is taken if the
// rule allows it and the hops stay within depth. Zero-hop steps cannot cycle (exec goes
// to earlier activities, versions to earlier entities, writes from entities to
// activities), so the recursion ends; a hard cap guards the test itself.
SearchResult brute_force(RandomGraph& g, Node root, int64_t bound0, int depth, bool backward) {
  SearchResult out;
  out.nodes[root] = {0, bound0};
  size_t budget = 2'000'000;
  std::function<void(Node, int, int64_t, int)> walk = [&](Node n, int hops, int64_t bound,
                                                          int len) {
    if (budget-- == 0 || len > 64) return;
    for (const Step& s : backward ? g.causes(n) : g.effects(n)) {
      if (backward ? !prov_cli::backward_allowed(s, bound) : !prov_cli::forward_allowed(s, bound))
        continue;
      if (hops + s.cost > depth) {
        out.cut.insert(s);  // allowed on this path, but beyond the bound
        continue;
      }
      out.steps.insert(s);
      Node next = backward ? s.cause : s.effect;
      int64_t nb =
          backward ? prov_cli::backward_bound(s, bound) : prov_cli::forward_bound(s, bound);
      auto [it, fresh] = out.nodes.emplace(next, SearchResult::Reach{hops + s.cost, nb});
      if (!fresh) it->second.hops = std::min(it->second.hops, hops + s.cost);
      walk(next, hops + s.cost, nb, len + 1);
    }
  };
  walk(root, 0, bound0, 0);
  for (const Step& s : out.steps) out.cut.erase(s);
  EXPECT_GT(budget, 0u) << "the reference ran out of budget";
  return out;
}

std::set<Node> node_set(const SearchResult& r) {
  std::set<Node> out;
  for (const auto& [n, reach] : r.nodes) out.insert(n);
  return out;
}

std::string describe(const std::set<Node>& s) {
  std::string out;
  for (Node n : s) out += (n.kind == Node::kEntity ? " e" : " a") + std::to_string(n.id);
  return out;
}

TEST(SearchProperty, MatchesBruteForceAndIsMonotoneInDepth) {
  int checked = 0;
  for (uint32_t seed = 1; seed <= 3000; seed++) {
    RandomGraph g(seed);
    for (bool backward : {true, false}) {
      const Node root = Node::entity(1);
      const int64_t bound0 = backward ? prov_cli::kForever : g.pick(0, 30);
      std::set<Node> previous;
      std::set<Step> previous_steps;
      for (int depth = 0; depth <= 5; depth++) {
        SearchResult got = backward ? prov_cli::search_backward(g, {{root, bound0}}, depth)
                                    : prov_cli::search_forward(g, {{root, bound0}}, depth);
        SearchResult want = brute_force(g, root, bound0, depth, backward);
        ASSERT_EQ(node_set(got), node_set(want))
            << "seed " << seed << (backward ? " backward" : " forward") << " depth " << depth
            << ": got" << describe(node_set(got)) << ", want" << describe(node_set(want));
        ASSERT_EQ(got.steps.size(), want.steps.size()) << "seed " << seed << " depth " << depth;
        ASSERT_TRUE(got.steps == want.steps) << "seed " << seed << " depth " << depth;
        // Where the bound stopped the search: exactly the steps some allowed path reaches
        // but only past the bound (an answer says so there, LINEAGE.md).
        ASSERT_TRUE(got.cut == want.cut) << "cut steps, seed " << seed << " depth " << depth;
        for (const auto& [n, reach] : want.nodes)
          ASSERT_EQ(got.nodes.at(n).hops, reach.hops) << "fewest hops, seed " << seed;
        // Monotone: what depth d found, depth d+1 finds too.
        for (Node n : previous) ASSERT_TRUE(got.nodes.count(n)) << "seed " << seed;
        for (const Step& s : previous_steps) ASSERT_TRUE(got.steps.count(s)) << "seed " << seed;
        previous = node_set(got);
        previous_steps = got.steps;
        checked++;
      }
    }
  }
  EXPECT_EQ(checked, 3000 * 2 * 6);
}

// The case the depth-first search of old got wrong: a node first met at the depth limit
// on a long path must still be expanded when met again on a shorter one.
TEST(SearchProperty, ANodeMetFirstAtTheLimitIsExpandedFromAShorterPath) {
  // out <- w1 <- long chain of 3 hops -> p ;  out <- w2 -> p (1 hop) ; p <- src
  struct Fixed : prov_cli::LineageSource {
    std::map<Node, std::vector<Step>> c, e;
    void add(Step::Type t, Node eff, Node cause, int cost) {
      Step s;
      s.type = t;
      s.effect = eff;
      s.cause = cause;
      s.first = 1;
      s.last = prov_cli::kForever;
      s.cost = cost;
      s.row = static_cast<int64_t>(c.size() * 100 + e.size() + 1);
      c[eff].push_back(s);
      e[cause].push_back(s);
    }
    const std::vector<Step>& causes(Node n) override { return c[n]; }
    const std::vector<Step>& effects(Node n) override { return e[n]; }
  } g;
  auto E = Node::entity, A = Node::activity;
  g.add(Step::kGenerated, E(1), A(1), 0);  // out <- w1 (listed first: explored first)
  g.add(Step::kUsed, A(1), E(2), 1);
  g.add(Step::kGenerated, E(2), A(2), 0);
  g.add(Step::kUsed, A(2), E(3), 1);
  g.add(Step::kGenerated, E(3), A(3), 0);
  g.add(Step::kUsed, A(3), E(4), 1);       // e4 (the pipe) at 3 hops this way
  g.add(Step::kGenerated, E(1), A(4), 0);  // out <- w2
  g.add(Step::kUsed, A(4), E(4), 1);       // e4 at 1 hop this way
  g.add(Step::kGenerated, E(4), A(5), 0);  // e4 <- p
  g.add(Step::kUsed, A(5), E(5), 1);       // p <- src: 2 hops from out through w2
  for (int depth = 2; depth <= 6; depth++) {
    auto r = prov_cli::search_backward(g, {{E(1), prov_cli::kForever}}, depth);
    EXPECT_TRUE(r.nodes.count(E(5))) << "src is 2 hops away: found at depth " << depth;
  }
  EXPECT_FALSE(prov_cli::search_backward(g, {{E(1), prov_cli::kForever}}, 1).nodes.count(E(5)));
}

}  // namespace
