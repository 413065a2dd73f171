#include "control_protocol.h"

#include <unistd.h>

#include <ctime>

namespace bento::host {
namespace {

using nlohmann::json;

std::string iso_time(int64_t realtime_ns) {
  time_t secs = static_cast<time_t>(realtime_ns / 1000000000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json module_json(const ModuleIdentity& m) {
  return {{"name", m.name}, {"version", m.version}, {"path", m.path}};
}

json handle(Connection& conn, std::string_view line) {
  json req = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded()) return {{"ok", false}, {"error", "malformed JSON request"}};
  if (!req.is_object()) return {{"ok", false}, {"error", "the request must be a JSON object"}};
  auto cmd = req.find("cmd");
  if (cmd == req.end()) {
    return {{"ok", false}, {"error", "missing field \"cmd\" (a string: status or upgrade)"}};
  }
  if (!cmd->is_string()) return {{"ok", false}, {"error", "field \"cmd\" must be a string"}};
  const std::string& name = cmd->get_ref<const std::string&>();
  if (name == "status") return status_to_json(conn.status());
  if (name == "upgrade") {
    auto mod = req.find("module");
    if (mod == req.end()) {
      return {{"ok", false},
              {"error", "upgrade: missing field \"module\" (absolute path of a .so)"}};
    }
    if (!mod->is_string()) {
      return {{"ok", false}, {"error", "upgrade: field \"module\" must be a string"}};
    }
    const std::string& path = mod->get_ref<const std::string&>();
    if (path.empty() || path[0] != '/') {
      return {{"ok", false},
              {"error", "upgrade: \"module\" must be an absolute path (the daemon runs in /)"}};
    }
    return upgrade_to_json(conn.upgrade(path));
  }
  return {{"ok", false}, {"error", "unknown command \"" + name + "\" (known: status, upgrade)"}};
}

}  // namespace

std::string control_error(std::string_view message) {
  return json{{"ok", false}, {"error", std::string(message)}}.dump(-1, ' ', false,
                                                                   json::error_handler_t::replace);
}

json upgrade_to_json(const UpgradeRecord& rec) {
  json j = {{"ok", rec.ok},
            {"time", iso_time(rec.time_realtime_ns)},
            {"from", module_json(rec.from)},
            {"to", module_json(rec.to)},
            {"pause_us", rec.pause_ns / 1000.0},
            {"wait_us", rec.wait_ns / 1000.0}};
  if (!rec.ok) {
    j["error"] = rec.error;
    j["rolled_back"] = rec.rolled_back;
    j["state_lost"] = rec.state_lost;
  }
  return j;
}

json status_to_json(const ConnectionStatus& st) {
  json j = {{"ok", true},
            {"pid", static_cast<long>(::getpid())},
            {"mounted", st.mounted},
            {"module", module_json(st.module)},
            {"description", st.description},
            {"image", st.image},
            {"mountpoint", st.mountpoint},
            {"mounted_since", iso_time(st.mounted_since_ns)},
            {"mounted_since_ns", st.mounted_since_ns},
            {"ops", st.ops},
            {"transport", st.transport},
            {"capabilities",
             {{"posix_locks", st.capabilities.posix_locks},
              {"writeback_cache", st.capabilities.writeback_cache},
              {"needs_open", st.capabilities.needs_open}}}};
  if (st.cache) {
    j["cache"] = {{"hits", st.cache->hits},
                  {"misses", st.cache->misses},
                  {"writebacks", st.cache->writebacks},
                  {"evictions", st.cache->evictions},
                  {"cached", st.cache->cached},
                  {"dirty", st.cache->dirty}};
  } else {
    j["cache"] = nullptr;
  }
  json hist = json::array();
  for (const auto& rec : st.history) hist.push_back(upgrade_to_json(rec));
  j["upgrades"] = std::move(hist);
  return j;
}

std::string handle_control_line(Connection& conn, std::string_view line) {
  try {
    if (line.size() > kMaxControlLine) {
      return control_error("request line longer than " + std::to_string(kMaxControlLine) +
                           " bytes");
    }
    return handle(conn, line).dump(-1, ' ', false, json::error_handler_t::replace);
  } catch (const std::exception& e) {
    return control_error(std::string("internal error: ") + e.what());
  }
}

}  // namespace bento::host
