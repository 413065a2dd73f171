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
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}

std::string id_of(const json& v) {
  return v.is_string() ? dot_string(v.get<std::string>()) : std::string();
}

std::string short_text(std::string s, size_t n) {
  return s.size() > n ? s.substr(0, n - 3) + "..." : s;
}

// "HH:MM:SS.mmm" of a native time, "" when none.
std::string clock_of(const json& t) {
  if (!t.is_object() || !t.contains("wall") || !t["wall"].is_string()) return "";
  std::string w = t["wall"].get<std::string>();
  return w.size() >= 23 ? w.substr(11, 12) : w;
}

}  // namespace

std::string dot_begin() {
  return "digraph provenance {\n  rankdir=BT;\n  node [fontname=\"sans\"];\n"
         "  edge [fontname=\"sans\", fontsize=9];\n";
}

std::string dot_end() {
  return "}\n";
}

std::string dot_node(const char* kind, const json& n) {
  const std::string k = kind;
  if (k == "entity") {
    std::string label = short_text(n.value("path", ""), 60);
    if (n.value("kind", "") == "file") label += "\nv" + std::to_string(n.value("version", 0));
    return "  " + id_of(n["id"]) +
           " [shape=ellipse, style=filled, fillcolor=\"#fffc87\", label=" + dot_string(label) +
           "];\n";
  }
  if (k == "activity") {
    std::string cmd;
    for (const auto& s : n["argv"])
      if (s.is_string()) cmd += (cmd.empty() ? "" : " ") + s.get<std::string>();
    if (cmd.empty()) cmd = n.value("exe", "");
    std::string label = short_text(cmd, 50) + "\npid " + std::to_string(n.value("pid", 0LL)) +
                        ", " + n.value("user", std::to_string(n.value("uid", 0LL)));
    if (n.contains("runtime_reads"))
      label += "\n+" + std::to_string(n["runtime_reads"].value("count", 0)) + " runtime reads";
    return "  " + id_of(n["id"]) +
           " [shape=box, style=filled, fillcolor=\"#9fb1fc\", label=" + dot_string(label) + "];\n";
  }
  return "";  // agents: each activity's label names its user (one arrow per activity to
              // the same few users made pictures unreadable)
}

std::string dot_edge(const json& e) {
  const std::string type = e.value("type", "");
  std::string from, to, style;
  if (type == "used") {
    from = id_of(e["activity"]), to = id_of(e["entity"]);
  } else if (type == "wasGeneratedBy" || type == "wasInvalidatedBy") {
    from = id_of(e["entity"]), to = id_of(e["activity"]);
  } else if (type == "wasInformedBy") {
    from = id_of(e["informed"]), to = id_of(e["informant"]);
  } else if (type == "wasDerivedFrom") {
    from = id_of(e["generated"]), to = id_of(e["used"]);
    style = ", style=dashed";
  } else if (type == "action") {
    from = id_of(e["activity"]);
    to = e.contains("entity") ? id_of(e["entity"]) : e.contains("other") ? id_of(e["other"]) : "";
    style = ", style=dotted";
  }
  if (from.empty() || to.empty()) return "";
  std::string label = type == "action" ? e.value("what", "") : type;
  if (e.contains("how") && e["how"].is_string()) label += "\n(" + e["how"].get<std::string>() + ")";
  if (e.contains("time")) {
    std::string t = clock_of(e["time"]);
    if (!t.empty()) label += "\n" + t;
  }
  return "  " + from + " -> " + to + " [label=" + dot_string(label) + style + "];\n";
}

std::string to_dot(const json& g) {
  std::string out = dot_begin();
  for (const json& e : g.value("entities", json::array())) out += dot_node("entity", e);
  for (const json& a : g.value("activities", json::array())) out += dot_node("activity", a);
  for (const json& u : g.value("agents", json::array())) out += dot_node("agent", u);
  for (const json& e : g.value("edges", json::array())) out += dot_edge(e);
  return out + dot_end();
}

}  // namespace prov_cli
