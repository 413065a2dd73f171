#include "prov_json.h"

#include <string>

#include "json_text.h"

namespace prov_cli {

using nlohmann::json;

namespace {

// "e:12" -> "bento:e12": a QName whose local part is a valid PROV-N local name.
std::string qname(const json& id) {
  std::string s = id.get<std::string>();
  std::string local;
  for (char c : s)
    if (c != ':') local += c;
  return "bento:" + local;
}

json date_time(const json& t) {
  return json{{"$", t.value("wall", "")}, {"type", "xsd:dateTime"}};
}

void put_time(json& rel, const char* key, const json& t) {
  if (t.is_object() && t.contains("wall") && t["wall"].is_string()) rel[key] = t["wall"];
}

}  // namespace

json to_prov_json(const json& native) {
  json doc = {{"prefix",
               {{"bento", "https://bento-fs.dev/prov#"},
                {"xsd", "http://www.w3.org/2001/XMLSchema#"},
                {"prov", "http://www.w3.org/ns/prov#"}}}};
  json& entities = doc["entity"] = json::object();
  json& activities = doc["activity"] = json::object();
  json& agents = doc["agent"] = json::object();
  for (const json& e : native.value("entities", json::array())) {
    json a = {{"prov:label", e.value("path", "")},
              {"bento:kind", e.value("kind", "")},
              {"bento:path", e.value("path", "")},
              {"bento:version", e.value("version", 0)}};
    if (e.contains("file")) {
      a["bento:ino"] = e["file"].value("ino", 0LL);
      a["bento:gen"] = e["file"].value("gen", 0LL);
      if (e["file"]["source"].is_string()) a["bento:source"] = e["file"]["source"];
    }
    if (e.contains("paths") && e["paths"].size() > 1) a["bento:paths"] = e["paths"];
    if (e.contains("created") && e["created"].is_object())
      a["bento:created"] = date_time(e["created"]);
    entities[qname(e["id"])] = a;
  }
  for (const json& x : native.value("activities", json::array())) {
    std::string cmd;
    for (const auto& s : x["argv"]) cmd += (cmd.empty() ? "" : " ") + s.get<std::string>();
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
    activities[qname(x["id"])] = a;
  }
  for (const json& u : native.value("agents", json::array())) {
    agents[qname(u["id"])] = {
        {"prov:type", {{"$", "prov:Person"}, {"type", "prov:QUALIFIED_NAME"}}},
        {"prov:label", u.value("name", "")},
        {"bento:uid", u.value("uid", 0LL)}};
  }
  size_t n = 0;
  for (const json& e : native.value("edges", json::array())) {
    const std::string type = e.value("type", "");
    json r;
    if (type == "used") {
      r = {{"prov:activity", qname(e["activity"])}, {"prov:entity", qname(e["entity"])}};
      put_time(r, "prov:time", e["time"]);
    } else if (type == "wasGeneratedBy") {
      r = {{"prov:entity", qname(e["entity"])}, {"prov:activity", qname(e["activity"])}};
      put_time(r, "prov:time", e["time"]);
    } else if (type == "wasInformedBy") {
      r = {{"prov:informed", qname(e["informed"])}, {"prov:informant", qname(e["informant"])}};
    } else if (type == "wasDerivedFrom") {
      r = {{"prov:generatedEntity", qname(e["generated"])}, {"prov:usedEntity", qname(e["used"])}};
      if (e["activity"].is_string()) r["prov:activity"] = qname(e["activity"]);
    } else if (type == "wasAssociatedWith") {
      r = {{"prov:activity", qname(e["activity"])}, {"prov:agent", qname(e["agent"])}};
    } else if (type == "wasInvalidatedBy") {
      r = {{"prov:entity", qname(e["entity"])}};
      if (e["activity"].is_string()) r["prov:activity"] = qname(e["activity"]);
      put_time(r, "prov:time", e["time"]);
    } else {
      continue;
    }
    if (e.contains("how")) r["bento:how"] = e["how"];
    doc[type]["_:r" + std::to_string(++n)] = r;
  }
  return doc;
}

}  // namespace prov_cli
