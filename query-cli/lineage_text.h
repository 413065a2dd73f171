// The readable tree of a `prov why` / `prov impact` answer (lineage_answer.h). Every line
// says when its transfer happened, so the order can be checked by eye; a process and the
// images it exec'd from are one entry; a node already shown is not repeated unless it is
// met again with a later deadline (backward) or an earlier arrival (forward).
#pragma once

#include <string>

#include "lineage_answer.h"
#include "lineage_graph.h"

namespace prov_cli {

std::string answer_text(LineageGraph& g, const Answer& a);

// How a read of that `how` (SCHEMA.md `used.how`) of an entity of that kind is told:
// "opened ", "listed directory ", "received over ", ... or "read ".
std::string read_verb(const std::string& how, const std::string& kind);

}  // namespace prov_cli
