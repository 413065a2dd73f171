// sem_open's file (/dev/shm/sem.NAME, and glibc's sem.XXXXXX before it is linked there): a
// count that processes wait on, not data. The collector does not make its holders readers
// of each other; `prov` folds a read of one as runtime. Shared by both, like script_rule.h.
#pragma once

#include <string_view>

namespace bento::collector {

inline bool posix_semaphore(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash < 4) return false;
  return path.substr(slash - 4, 5) == "/shm/" && path.substr(slash + 1, 4) == "sem.";
}

}  // namespace bento::collector
