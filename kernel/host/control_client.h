// The client side of the control protocol: one JSON request line out, one reply line in.
#pragma once

#include <string>

namespace bento::host {

enum class ControlCallError { kNone, kNoSocket, kNotRunning, kIo };

struct ControlCallResult {
  ControlCallError error = ControlCallError::kNone;
  std::string reply;    // the reply line without its newline
  std::string message;  // what went wrong, when error != kNone
};

// Connects to `socket_path`, sends `request` (a newline is appended) and waits for the
// reply line; timeout_ms < 0 waits forever (an upgrade waits for in-flight calls).
ControlCallResult control_call(const std::string& socket_path, const std::string& request,
                               int timeout_ms = -1);

}  // namespace bento::host
