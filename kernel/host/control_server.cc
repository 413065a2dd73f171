#include "control_server.h"

#include <bento/log.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "control_protocol.h"

namespace bento::host {
namespace {

bool send_all(int fd, const std::string& s) {
  for (size_t off = 0; off < s.size();) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool fill_addr(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof addr->sun_path) return false;
  std::memcpy(addr->sun_path, path.c_str(), path.size() + 1);
  return true;
}

}  // namespace

bool peer_is_root(int fd, uid_t* uid) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    *uid = static_cast<uid_t>(-1);
    return false;
  }
  *uid = cred.uid;
  return cred.uid == 0;
}

ControlServer::ControlServer(std::string socket_path, Handler handler)
    : path_(std::move(socket_path)), handler_(std::move(handler)) {}

ControlServer::~ControlServer() {
  stop();
}

bool ControlServer::start(std::string* error) {
  sockaddr_un addr;
  if (!fill_addr(path_, &addr)) {
    *error = "control socket path too long: " + path_;
    return false;
  }
  // A socket file left by a dead daemon is removed; one a live server answers on is not.
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe >= 0) {
    bool live = ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(probe);
    if (live) {
      *error = "another bentofs already serves the control socket " + path_;
      return false;
    }
  }
  ::unlink(path_.c_str());
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::chmod(path_.c_str(), 0600) != 0 || ::listen(listen_fd_, 16) != 0 ||
      ::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    *error = "cannot serve the control socket " + path_ + ": " + std::strerror(errno);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(path_.c_str());
    return false;
  }
  running_ = true;
  acceptor_ = std::thread([this] { accept_loop(); });
  return true;
}

void ControlServer::stop() {
  if (!running_) return;
  {
    std::lock_guard<std::mutex> g(clients_mu_);
    running_ = false;
  }
  slot_freed_.notify_all();
  char b = 1;
  while (::write(stop_pipe_[1], &b, 1) < 0 && errno == EINTR) {
  }
  if (acceptor_.joinable()) acceptor_.join();
  reap(/*all=*/true);
  ::close(listen_fd_);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
  listen_fd_ = stop_pipe_[0] = stop_pipe_[1] = -1;
  ::unlink(path_.c_str());
}

void ControlServer::reap(bool all) {
  // Joined outside the lock: a finishing client takes it to free its slot.
  std::list<std::unique_ptr<Client>> gone;
  {
    std::lock_guard<std::mutex> g(clients_mu_);
    for (auto it = clients_.begin(); it != clients_.end();) {
      auto next = std::next(it);
      if (all || (*it)->done.load()) gone.splice(gone.end(), clients_, it);
      it = next;
    }
  }
  for (auto& c : gone)
    if (c->thread.joinable()) c->thread.join();
}

size_t ControlServer::active() {
  size_t n = 0;
  for (const auto& c : clients_) n += c->done.load() ? 0 : 1;
  return n;
}

void ControlServer::refuse(int fd, const std::string& error_line, int drain_ms) {
  send_all(fd, error_line + "\n");
  // Closing with the request unread would make the kernel reset the connection, and the
  // client could lose the reply: signal end of reply, then drain briefly before closing.
  ::shutdown(fd, SHUT_WR);
  char sink[4096];
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, drain_ms) > 0 && ::recv(fd, sink, sizeof sink, 0) > 0) {
  }
  ::close(fd);
}

void ControlServer::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    int pr = ::poll(fds, 2, -1);
    if (pr < 0) {
      if (errno == EINTR) continue;
      log(LogLevel::kError, std::string("bentofs: control server poll: ") + std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    reap(/*all=*/false);
    bool busy;
    {
      // A bounded number of threads: wait a little for a slot, else say so.
      std::unique_lock<std::mutex> g(clients_mu_);
      busy = !slot_freed_.wait_for(g, std::chrono::milliseconds(kBusyWaitMs),
                                   [this] { return active() < kMaxClients || !running_; });
    }
    if (busy) {
      refuse(fd,
             control_error("busy: " + std::to_string(kMaxClients) +
                           " control connections are being served; try again"),
             50);
      continue;
    }
    try {
      auto c = std::make_unique<Client>();
      c->fd = fd;
      Client* raw = c.get();
      std::lock_guard<std::mutex> g(clients_mu_);
      clients_.push_back(std::move(c));
      raw->thread = std::thread([this, raw] { serve_client(raw); });
    } catch (const std::exception& e) {
      log(LogLevel::kError, std::string("bentofs: control server: ") + e.what());
      ::close(fd);
    }
  }
}

void ControlServer::serve_client(Client* c) {
  const int fd = c->fd;
  uid_t uid = 0;
  if (!peer_is_root(fd, &uid)) {
    refuse(fd,
           control_error("permission denied: the control socket is root-only (peer uid " +
                         std::to_string(static_cast<long>(static_cast<int>(uid))) + ")"),
           200);
    finish(c);
    return;
  } else {
    std::string in;
    char buf[8192];
    bool open = true;
    while (open) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      int pr = ::poll(fds, 2, -1);
      if (pr < 0 && errno == EINTR) continue;
      if (pr < 0 || fds[1].revents != 0) break;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 && !in.empty() && in.size() <= kMaxControlLine) {
        // The client shut its side down after a request without a newline: answer it.
        in.push_back('\n');
        open = false;
      } else if (n <= 0) {
        break;
      } else {
        in.append(buf, static_cast<size_t>(n));
      }
      size_t nl;
      while ((nl = in.find('\n')) != std::string::npos) {
        std::string reply;
        try {
          reply = handler_(std::string_view(in).substr(0, nl));
        } catch (...) {
          reply = control_error("internal error");
        }
        in.erase(0, nl + 1);
        if (!send_all(fd, reply + "\n")) {
          open = false;
          break;
        }
      }
      if (open && in.size() > kMaxControlLine) {
        // No way to find the next request boundary cheaply: answer and hang up.
        send_all(fd, control_error("request line longer than " + std::to_string(kMaxControlLine) +
                                   " bytes") +
                         "\n");
        open = false;
      }
    }
  }
  ::close(fd);
  finish(c);
}

void ControlServer::finish(Client* c) {
  {
    std::lock_guard<std::mutex> g(clients_mu_);
    c->done.store(true);
  }
  slot_freed_.notify_all();
}

}  // namespace bento::host
