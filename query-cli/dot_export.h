// Graphviz DOT of the native document (JSON.md), drawn the way the PROV primer does:
// entities as yellow ellipses, activities as blue boxes, agents as orange houses; edges
// point from the later node to the earlier one, labelled with the PROV relation.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace prov_cli {

std::string to_dot(const nlohmann::json& native);

}  // namespace prov_cli
