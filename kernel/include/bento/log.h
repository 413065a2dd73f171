// Logging through the kernel-services shim (printk in the kernel, stderr/syslog in
// userspace). Messages are plain strings; format them before logging.
#pragma once

#include <bento/services.h>

#include <string_view>

namespace bento {

enum class LogLevel : int { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };

inline void log(LogLevel level, std::string_view msg) {
  bento_ks_log(static_cast<int>(level), msg.data(), msg.size());
}

}  // namespace bento
