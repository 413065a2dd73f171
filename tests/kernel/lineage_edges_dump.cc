// Prints the lineage edges of a `prov why --json` document one per line, in the readable
// form of tests/support/lineage_edges.h ("used(sort, pipe)", "generated(out, sort)"), so
// that tests/kernel/run.sh can check the answers the guest printed with grep.
//
//   kernel_lineage_edges JSON-FILE MOUNTPOINT
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lineage_edges.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: kernel_lineage_edges JSON-FILE MOUNTPOINT\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  nlohmann::json g = nlohmann::json::parse(in, nullptr, false);
  if (!g.is_object() || !g.contains("edges")) {
    std::fprintf(stderr, "%s: not a prov why --json document\n", argv[1]);
    return 1;
  }
  for (const auto& e : bento::test::lineage_edges(g, argv[2], {.informed_how = true}))
    std::printf("%s\n", e.c_str());
  return 0;
}
