// Graphviz DOT of the native document (JSON.md), drawn the way the PROV primer does:
// entities as yellow ellipses, activities as blue boxes (their user and their folded
// runtime reads in the label: agents are not drawn); edges point from the later node to
// the earlier one, labelled with the PROV relation and when it happened; marks are dotted.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace prov_cli {

std::string to_dot(const nlohmann::json& native);

// One item at a time, for streamed exports.
std::string dot_begin();
std::string dot_node(const char* kind, const nlohmann::json& node);  // entity activity agent
std::string dot_edge(const nlohmann::json& edge);
std::string dot_end();

}  // namespace prov_cli
