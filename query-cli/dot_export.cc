#include "dot_export.h"

namespace prov_cli {

using nlohmann::json;

namespace {

// A DOT double-quoted string.
std::string dot_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string id_of(const json& v) {
  return v.is_string() ? dot_string(v.get<std::string>()) : std::string();
}

}  // namespace

std::string to_dot(const json& g) {
  std::string out = "digraph provenance {\n  rankdir=BT;\n  node [fontname=\"sans\"];\n";
  for (const json& e : g.value("entities", json::array())) {
    std::string label = e.value("path", "");
    if (e.value("kind", "") != "pipe") label += "\nv" + std::to_string(e.value("version", 0));
    out += "  " + id_of(e["id"]) +
           " [shape=ellipse, style=filled, fillcolor=\"#fffc87\", label=" + dot_string(label) +
           "];\n";
  }
  for (const json& a : g.value("activities", json::array())) {
    std::string cmd;
    for (const auto& s : a["argv"]) cmd += (cmd.empty() ? "" : " ") + s.get<std::string>();
    if (cmd.empty()) cmd = a.value("exe", "");
    if (cmd.size() > 60) cmd = cmd.substr(0, 57) + "...";
    out += "  " + id_of(a["id"]) + " [shape=box, style=filled, fillcolor=\"#9fb1fc\", label=" +
           dot_string(cmd + "\npid " + std::to_string(a.value("pid", 0LL))) + "];\n";
  }
  for (const json& u : g.value("agents", json::array())) {
    out += "  " + id_of(u["id"]) + " [shape=house, style=filled, fillcolor=\"#fed37f\", label=" +
           dot_string(u.value("name", "")) + "];\n";
  }
  for (const json& e : g.value("edges", json::array())) {
    const std::string type = e.value("type", "");
    std::string from, to;
    if (type == "used") {
      from = id_of(e["activity"]), to = id_of(e["entity"]);
    } else if (type == "wasGeneratedBy" || type == "wasInvalidatedBy") {
      from = id_of(e["entity"]), to = id_of(e["activity"]);
    } else if (type == "wasInformedBy") {
      from = id_of(e["informed"]), to = id_of(e["informant"]);
    } else if (type == "wasDerivedFrom") {
      from = id_of(e["generated"]), to = id_of(e["used"]);
    } else if (type == "wasAssociatedWith") {
      from = id_of(e["activity"]), to = id_of(e["agent"]);
    }
    if (from.empty() || to.empty()) continue;
    std::string label = type;
    if (e.contains("how") && e["how"].is_string())
      label += "\n(" + e["how"].get<std::string>() + ")";
    out += "  " + from + " -> " + to + " [label=" + dot_string(label) +
           (type == "wasDerivedFrom" || type == "wasAssociatedWith" ? ", style=dashed" : "") +
           "];\n";
  }
  return out + "}\n";
}

}  // namespace prov_cli
