// Readable lineage edges from a graph in prov's native JSON (query-cli/JSON.md), for the
// lineage tests: "used(sort -n a, a)", "generated(out, uniq)", "informed(uniq, fork of sh)",
// "invalidated(gone, unlink)", "derived(b, a, copy)". Paths under `mnt` lose that prefix,
// pipes are "pipe", an activity is its argv ("fork of ..." for a fork).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace bento::test {

struct EdgeStyle {
  bool versions = false;      // "out@v2" for a file's versions past the first
  bool informed_how = false;  // "informed(a, b, fork)": wasInformedBy with its how
};

inline std::set<std::string> lineage_edges(const nlohmann::json& g, const std::string& mnt,
                                           EdgeStyle style = {}) {
  std::map<std::string, std::string> name;
  for (const auto& e : g["entities"]) {
    std::string p = e.value("path", "");
    if (p.rfind(mnt + "/", 0) == 0) p = p.substr(mnt.size() + 1);
    const bool pipe = e.value("kind", "") == "pipe";
    if (pipe) p = "pipe";
    if (style.versions && !pipe && e.value("version", 1) > 1)
      p += "@v" + std::to_string(e.value("version", 1));
    name[e.value("id", "")] = p;
  }
  for (const auto& a : g["activities"]) {
    std::string cmd;
    for (const auto& x : a["argv"]) cmd += (cmd.empty() ? "" : " ") + x.get<std::string>();
    if (a.value("origin", "") == "fork") cmd = "fork of " + cmd;
    name[a.value("id", "")] = cmd;
  }
  std::set<std::string> out;
  for (const auto& e : g["edges"]) {
    std::string t = e.value("type", "");
    if (t == "used") out.insert("used(" + name[e["activity"]] + ", " + name[e["entity"]] + ")");
    if (t == "wasGeneratedBy")
      out.insert("generated(" + name[e["entity"]] + ", " + name[e["activity"]] + ")");
    if (t == "wasInformedBy")
      out.insert("informed(" + name[e["informed"]] + ", " + name[e["informant"]] +
                 (style.informed_how ? ", " + e.value("how", "") : "") + ")");
    if (t == "wasInvalidatedBy")
      out.insert("invalidated(" + name[e["entity"]] + ", " + e.value("how", "") + ")");
    if (t == "wasDerivedFrom")
      out.insert("derived(" + name[e["generated"]] + ", " + name[e["used"]] + ", " +
                 e.value("how", "") + ")");
  }
  return out;
}

}  // namespace bento::test
