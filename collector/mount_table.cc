#include "mount_table.h"

#include <sys/sysmacros.h>

#include <cstdlib>

namespace bento::collector {

namespace {

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3') {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Whether `path` is `dir` or below it.
bool under(std::string_view path, std::string_view dir) {
  if (dir == "/") return !path.empty() && path[0] == '/';
  return path.substr(0, dir.size()) == dir &&
         (path.size() == dir.size() || path[dir.size()] == '/');
}

}  // namespace

MountTable MountTable::parse(std::string_view text) {
  MountTable t;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    std::string_view field[5];
    int n = 0;
    while (n < 5 && !line.empty()) {
      const size_t sp = line.find(' ');
      field[n++] = line.substr(0, sp);
      line = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    }
    if (n < 5) continue;
    const std::string majmin(field[2]);
    char* end = nullptr;
    const unsigned long major = std::strtoul(majmin.c_str(), &end, 10);
    if (end == nullptr || *end != ':') continue;
    const unsigned long minor = std::strtoul(end + 1, nullptr, 10);
    t.mounts_.push_back(
        {static_cast<uint64_t>(makedev(major, minor)), unescape(field[3]), unescape(field[4])});
  }
  return t;
}

std::string MountTable::host_path(uint64_t dev, std::string_view fs_path) const {
  const Mount* best = nullptr;
  for (const Mount& m : mounts_)
    if (m.dev == dev && under(fs_path, m.root) &&
        (best == nullptr || m.root.size() > best->root.size()))
      best = &m;  // the first of equals: the earliest mount, not a later bind of it
  if (best == nullptr) return "";
  std::string_view rest = best->root == "/" ? fs_path : fs_path.substr(best->root.size());
  if (best->mountpoint == "/") return rest.empty() ? "/" : std::string(rest);
  return best->mountpoint + std::string(rest);
}

}  // namespace bento::collector
