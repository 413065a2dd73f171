// W3C PROV-JSON (https://www.w3.org/Submission/prov-json/) from the native document of
// JSON.md: entities, activities and agents keyed by qualified names in the `bento` namespace,
// and the relations used, wasGeneratedBy, wasInformedBy, wasDerivedFrom, wasAssociatedWith,
// wasInvalidatedBy, wasEndedBy keyed by their stable native ids as blank nodes ("_:u17").
// Native attributes the PROV vocabulary has no term for are kept as `bento:` attributes.
// Marks of calls that move no data (native "action" edges) become `used` (a call on a
// file) or `wasInformedBy` (a signal) with `bento:mark` true, so that tools reading only
// PROV's core relations still see them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace prov_cli {

nlohmann::json to_prov_json(const nlohmann::json& native);

// One item at a time, for streamed exports.
nlohmann::json prov_prefixes();
std::string prov_qname(const nlohmann::json& native_id);  // "e:12" -> "bento:e12"
nlohmann::json prov_entity(const nlohmann::json& e);
nlohmann::json prov_activity(const nlohmann::json& a);
nlohmann::json prov_agent(const nlohmann::json& u);
// The section ("used", "wasGeneratedBy"...) and key of a native edge, and its record;
// an empty section when PROV has no relation for it.
struct ProvRelation {
  std::string section, key;
  nlohmann::json record;
};
ProvRelation prov_relation(const nlohmann::json& edge);

}  // namespace prov_cli
