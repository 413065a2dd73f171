#include "record_format.h"

#include <fcntl.h>

#include <ctime>

#include "json_text.h"

namespace prov_cli {

using bentofs::prov::Record;
using bentofs::prov::RecordType;

std::string open_flags_text(uint32_t f) {
  std::string s;
  switch (f & O_ACCMODE) {
    case O_RDONLY:
      s = "O_RDONLY";
      break;
    case O_WRONLY:
      s = "O_WRONLY";
      break;
    default:
      s = "O_RDWR";
      break;
  }
  const std::pair<uint32_t, const char*> bits[] = {
      {O_CREAT, "O_CREAT"},       {O_EXCL, "O_EXCL"},         {O_TRUNC, "O_TRUNC"},
      {O_APPEND, "O_APPEND"},     {O_NONBLOCK, "O_NONBLOCK"}, {O_DIRECTORY, "O_DIRECTORY"},
      {O_NOFOLLOW, "O_NOFOLLOW"}, {O_CLOEXEC, "O_CLOEXEC"},   {O_DIRECT, "O_DIRECT"},
      {O_SYNC, "O_SYNC"}};
  for (auto [bit, name] : bits) {
    if (bit == O_SYNC ? (f & O_SYNC) == O_SYNC : (f & bit) != 0) s += std::string("|") + name;
  }
  return s;
}

std::string wall_time_text(uint64_t ns) {
  time_t sec = static_cast<time_t>(ns / 1000000000ULL);
  struct tm tm {};
  gmtime_r(&sec, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%09lluZ",
           static_cast<unsigned long long>(ns % 1000000000ULL));
  return buf;
}

namespace {

std::string quoted(const char* p, size_t n) {
  return bento::to_json_text(nlohmann::json(std::string(p, n)));
}
std::string file_id(uint64_t ino, uint32_t gen) {
  return std::to_string(ino) + ":" + std::to_string(gen);
}
const char* rename_flags_text(uint32_t f) {
  if (f & 2) return "EXCHANGE";
  if (f & 1) return "NOREPLACE";
  return nullptr;
}

}  // namespace

std::string record_text(const Record& r) {
  std::string s = "seq=" + std::to_string(r.seq) + " " + wall_time_text(r.realtime_ns) + " " +
                  bentofs::prov::record_type_name(r.type) + " tid=" + std::to_string(r.tid);
  if (r.pid != 0) s += " pid=" + std::to_string(r.pid);
  s += " uid=" + std::to_string(r.uid) + " gid=" + std::to_string(r.gid);
  auto name = [&] { return quoted(r.name, r.name_len); };
  auto name2 = [&] { return quoted(r.name2, r.name2_len); };
  switch (r.type) {
    case RecordType::kCreate:
    case RecordType::kMknod:
    case RecordType::kMkdir:
      s += " ino=" + file_id(r.ino, r.gen) + " parent=" + std::to_string(r.parent) +
           " name=" + name();
      if (r.type == RecordType::kCreate)
        s += " flags=" + open_flags_text(r.flags) + " fh=" + std::to_string(r.fh);
      break;
    case RecordType::kSymlink:
      s += " ino=" + file_id(r.ino, r.gen) + " parent=" + std::to_string(r.parent) +
           " name=" + name() + " target=" + name2();
      break;
    case RecordType::kLink:
      s += " ino=" + file_id(r.ino, r.gen) + " parent=" + std::to_string(r.parent) +
           " name=" + name();
      break;
    case RecordType::kRename:
      s += " ino=" + file_id(r.ino, r.gen) + " from=" + std::to_string(r.parent) + "/" + name() +
           " to=" + std::to_string(r.parent2) + "/" + name2();
      if (const char* f = rename_flags_text(r.flags)) s += std::string(" flags=") + f;
      if (r.ino2 != 0) {
        s += " replaced=" + file_id(r.ino2, r.gen2);
        if (r.aux & bentofs::prov::kAuxDied) s += " (died)";
      }
      break;
    case RecordType::kUnlink:
    case RecordType::kRmdir:
      s += " ino=" + file_id(r.ino, r.gen) + " parent=" + std::to_string(r.parent) +
           " name=" + name() + ((r.aux & bentofs::prov::kAuxDied) ? " died" : "");
      break;
    case RecordType::kOpen:
    case RecordType::kHandleCarried:
      s += " ino=" + file_id(r.ino, r.gen) + " flags=" + open_flags_text(r.flags) +
           " fh=" + std::to_string(r.fh);
      break;
    case RecordType::kRelease:
      s += " ino=" + file_id(r.ino, r.gen) + " fh=" + std::to_string(r.fh) +
           " flags=" + open_flags_text(r.flags) +
           ((r.aux & bentofs::prov::kAuxWritten) ? " written" : "") +
           (r.parent2 != 0 ? " last_write_mono=" + std::to_string(r.parent2) : "");
      break;
    case RecordType::kWrite:
    case RecordType::kRead:
    case RecordType::kReaddir:
      s += " ino=" + file_id(r.ino, r.gen) + " fh=" + std::to_string(r.fh) +
           " offset=" + std::to_string(r.aux);
      break;
    case RecordType::kTruncate:
      s += " ino=" + file_id(r.ino, r.gen) + " size=" + std::to_string(r.aux);
      break;
    case RecordType::kChmod: {
      char m[16];
      snprintf(m, sizeof m, "%o", r.mode & 07777);
      s += " ino=" + file_id(r.ino, r.gen) + " mode=" + m;
      break;
    }
    case RecordType::kChown:
      s += " ino=" + file_id(r.ino, r.gen) + " owner=" + std::to_string(r.aux >> 32) + ":" +
           std::to_string(r.aux & 0xffffffffu);
      break;
    case RecordType::kTrackingStart:
      s += " carried_handles=" + std::to_string(r.aux);
      break;
    case RecordType::kGap:
      s += " not_written=" + std::to_string(r.aux) + " mutating=" + std::to_string(r.ino2) +
           " first_mono_ns=" + std::to_string(r.parent) +
           " last_mono_ns=" + std::to_string(r.parent2);
      break;
    case RecordType::kSetxattr:
    case RecordType::kGetxattr:
      s += " ino=" + file_id(r.ino, r.gen) + " name=" + name() +
           " value_len=" + std::to_string(r.aux) +
           ((r.flags & bentofs::prov::kXattrRemoved) ? " removed" : "");
      break;
    case RecordType::kTrackingStop:
    case RecordType::kPad:
      break;
  }
  return s;
}

nlohmann::json record_json(const Record& r, uint64_t offset) {
  nlohmann::json j = {{"offset", offset},
                      {"seq", r.seq},
                      {"type", bentofs::prov::record_type_name(r.type)},
                      {"time", wall_time_text(r.realtime_ns)},
                      {"realtime_ns", r.realtime_ns},
                      {"monotonic_ns", r.monotonic_ns},
                      {"pid", r.pid},
                      {"tid", r.tid},
                      {"uid", r.uid},
                      {"gid", r.gid},
                      {"ino", r.ino},
                      {"gen", r.gen},
                      {"flags", r.flags},
                      {"parent", r.parent},
                      {"ino2", r.ino2},
                      {"gen2", r.gen2},
                      {"mode", r.mode},
                      {"fh", r.fh},
                      {"aux", r.aux},
                      {"parent2", r.parent2},
                      {"name", std::string(r.name, r.name_len)},
                      {"name2", std::string(r.name2, r.name2_len)}};
  return j;
}

}  // namespace prov_cli
