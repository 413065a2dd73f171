#include "control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bento::host {

ControlCallResult control_call(const std::string& socket_path, const std::string& request,
                               int timeout_ms) {
  ControlCallResult r;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    r.error = ControlCallError::kIo;
    r.message = "socket path too long: " + socket_path;
    return r;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    r.error = ControlCallError::kIo;
    r.message = std::string("socket: ") + std::strerror(errno);
    return r;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd);
    r.error = (e == ENOENT)         ? ControlCallError::kNoSocket
              : (e == ECONNREFUSED) ? ControlCallError::kNotRunning
                                    : ControlCallError::kIo;
    r.message = "cannot connect to " + socket_path + ": " + std::strerror(e);
    return r;
  }
  std::string line = request + "\n";
  for (size_t off = 0; off < line.size();) {
    ssize_t n = ::send(fd, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    // A server that refuses the peer (not root) replies and closes without reading the
    // request: our send then fails, but its reply is waiting to be read.
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) break;
    if (n < 0) {
      r.error = ControlCallError::kIo;
      r.message = std::string("send: ") + std::strerror(errno);
      ::close(fd);
      return r;
    }
    off += static_cast<size_t>(n);
  }
  std::string in;
  char buf[4096];
  for (;;) {
    size_t nl = in.find('\n');
    if (nl != std::string::npos) {
      r.reply = in.substr(0, nl);
      break;
    }
    pollfd p{fd, POLLIN, 0};
    int pr = ::poll(&p, 1, timeout_ms);
    if (pr < 0 && errno == EINTR) continue;
    if (pr == 0) {
      r.error = ControlCallError::kIo;
      r.message = "timed out waiting for a reply from " + socket_path;
      break;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      r.error = ControlCallError::kIo;
      r.message = n == 0 ? "the server closed the connection without replying"
                         : std::string("recv: ") + std::strerror(errno);
      break;
    }
    in.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return r;
}

}  // namespace bento::host
