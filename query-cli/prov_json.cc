#include "prov_json.h"

#include <string>

#include "json_text.h"

namespace prov_cli {

using nlohmann::json;

namespace {

json date_time(const json& t) {
  return json{{"$", t.value("wall", "")}, {"type", "xsd:dateTime"}};
}

void put_time(json& rel, const char* key, const json& t) {
  if (t.is_object() && t.contains("wall") && t["wall"].is_string()) rel[key] = t["wall"];
}

}  // namespace

std::string prov_qname(const json& id) {
  std::string s = id.get<std::string>();
  std::string local;
  for (char c : s) {
    if (c == ':') continue;
    local += c == '-' ? '_' : c;
  }
  return "bento:" + local;
}

json prov_prefixes() {
  return {{"bento", "https://bento-fs.dev/prov#"},
          {"xsd", "http://www.w3.org/2001/XMLSchema#"},
          {"prov", "http://www.w3.org/ns/prov#"}};
}

json prov_entity(const json& e) {
  json a = {{"prov:label", e.value("path", "")},
            {"bento:kind", e.value("kind", "")},
            {"bento:path", e.value("path", "")},
            {"bento:version", e.value("version", 0)}};
  if (e.contains("file")) {
    a["bento:ino"] = e["file"].value("ino", 0LL);
    a["bento:gen"] = e["file"].value("gen", 0LL);
    if (e["file"].contains("source") && e["file"]["source"].is_string())
      a["bento:source"] = e["file"]["source"];
  }
  if (e.contains("address")) a["bento:address"] = e["address"];
  if (e.contains("paths") && e["paths"].size() > 1) a["bento:paths"] = e["paths"];
  if (e.contains("created") && e["created"].is_object())
    a["bento:created"] = date_time(e["created"]);
  if (e.contains("status")) a["bento:status"] = e["status"].value("state", "");
  return a;
}

json prov_activity(const json& x) {
  std::string cmd;
  for (const auto& s : x["argv"])
    if (s.is_string()) cmd += (cmd.empty() ? "" : " ") + s.get<std::string>();
  json a = {{"prov:label", cmd.empty() ? x.value("exe", "") : cmd},
            {"bento:exe", x.value("exe", "")},
            {"bento:argv", bento::to_json_text(x["argv"])},
            {"bento:pid", x.value("pid", 0LL)},
            {"bento:processStartNs", x.value("process_start_ns", 0LL)},
            {"bento:uid", x.value("uid", 0LL)},
            {"bento:origin", x.value("origin", "")}};
  put_time(a, "prov:startTime", x["start"]);
  put_time(a, "prov:endTime", x["end"]);
  if (x["exit_code"].is_number()) a["bento:exitCode"] = x["exit_code"];
  if (x.contains("runtime_reads")) a["bento:runtimeReads"] = x["runtime_reads"].value("count", 0);
  return a;
}

json prov_agent(const json& u) {
  return {{"prov:type", {{"$", "prov:Person"}, {"type", "prov:QUALIFIED_NAME"}}},
          {"prov:label", u.value("name", "")},
          {"bento:uid", u.value("uid", 0LL)}};
}

ProvRelation prov_relation(const json& e) {
  const std::string type = e.value("type", "");
  ProvRelation out;
  json& r = out.record;
  if (type == "used") {
    r = {{"prov:activity", prov_qname(e["activity"])}, {"prov:entity", prov_qname(e["entity"])}};
    put_time(r, "prov:time", e["time"]);
  } else if (type == "wasGeneratedBy") {
    r = {{"prov:entity", prov_qname(e["entity"])}, {"prov:activity", prov_qname(e["activity"])}};
    put_time(r, "prov:time", e["time"]);
  } else if (type == "wasInformedBy") {
    r = {{"prov:informed", prov_qname(e["informed"])},
         {"prov:informant", prov_qname(e["informant"])}};
  } else if (type == "wasDerivedFrom") {
    r = {{"prov:generatedEntity", prov_qname(e["generated"])},
         {"prov:usedEntity", prov_qname(e["used"])}};
    if (e["activity"].is_string()) r["prov:activity"] = prov_qname(e["activity"]);
  } else if (type == "wasAssociatedWith") {
    r = {{"prov:activity", prov_qname(e["activity"])}, {"prov:agent", prov_qname(e["agent"])}};
  } else if (type == "wasInvalidatedBy") {
    r = {{"prov:entity", prov_qname(e["entity"])}};
    if (e["activity"].is_string()) r["prov:activity"] = prov_qname(e["activity"]);
    put_time(r, "prov:time", e["time"]);
  } else if (type == "wasEndedBy") {
    r = {{"prov:activity", prov_qname(e["activity"])}};
    put_time(r, "prov:time", e["time"]);
  } else if (type == "action") {
    // A mark: visible through the core relations too.
    if (e.contains("entity")) {
      out.section = "used";
      r = {{"prov:activity", prov_qname(e["activity"])}, {"prov:entity", prov_qname(e["entity"])}};
    } else if (e.contains("other")) {
      out.section = "wasInformedBy";
      r = {{"prov:informed", prov_qname(e["other"])},
           {"prov:informant", prov_qname(e["activity"])}};
    } else {
      return out;
    }
    put_time(r, "prov:time", e["time"]);
    r["bento:how"] = e.value("what", "");
    r["bento:mark"] = true;
    if (e.contains("detail")) r["bento:detail"] = bento::to_json_text(e["detail"]);
    out.key = "_:" + e.value("id", std::string("?"));
    return out;
  } else {
    return out;
  }
  if (e.contains("how")) r["bento:how"] = e["how"];
  if (e.contains("last") && e["last"].is_object() && e["last"].contains("wall"))
    r["bento:lastTime"] = e["last"]["wall"];
  out.section = type;
  out.key = "_:" + e.value("id", std::string("?"));
  return out;
}

json to_prov_json(const json& native) {
  json doc = {{"prefix", prov_prefixes()}};
  json& entities = doc["entity"] = json::object();
  json& activities = doc["activity"] = json::object();
  json& agents = doc["agent"] = json::object();
  for (const json& e : native.value("entities", json::array()))
    entities[prov_qname(e["id"])] = prov_entity(e);
  for (const json& x : native.value("activities", json::array()))
    activities[prov_qname(x["id"])] = prov_activity(x);
  for (const json& u : native.value("agents", json::array()))
    agents[prov_qname(u["id"])] = prov_agent(u);
  for (const json& e : native.value("edges", json::array())) {
    ProvRelation r = prov_relation(e);
    if (!r.section.empty()) doc[r.section][r.key] = r.record;
  }
  return doc;
}

}  // namespace prov_cli
