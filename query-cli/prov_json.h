// W3C PROV-JSON (https://www.w3.org/Submission/prov-json/) from the native document of
// JSON.md: entities, activities and agents keyed by qualified names in the `bento` namespace,
// and the relations used, wasGeneratedBy, wasInformedBy, wasDerivedFrom, wasAssociatedWith,
// wasInvalidatedBy keyed by blank-node ids. Native attributes the PROV vocabulary has no
// term for are kept as `bento:` attributes.
#pragma once

#include <nlohmann/json.hpp>

namespace prov_cli {

nlohmann::json to_prov_json(const nlohmann::json& native);

}  // namespace prov_cli
