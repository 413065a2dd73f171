// The per-mount control socket: a Unix stream socket that only root may use.
//
// An accept thread hands each client to its own thread, which reads request lines
// (capped at kMaxControlLine), passes each to the handler and writes the reply line; a
// last request without its newline is answered when the client shuts its side down.
// At most kMaxClients connections are served at once: the next one waits up to
// kBusyWaitMs for a slot, then gets a "busy" error line. Clients are checked with
// SO_PEERCRED; a non-root peer gets one error line and is disconnected. Bad requests
// never stop the server.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace bento::host {

// True when the peer of connected Unix socket `fd` is root; its uid in *uid.
bool peer_is_root(int fd, uid_t* uid);

class ControlServer {
 public:
  using Handler = std::function<std::string(std::string_view line)>;
  static constexpr size_t kMaxClients = 8;
  static constexpr int kBusyWaitMs = 2000;

  ControlServer(std::string socket_path, Handler handler);
  ~ControlServer();  // stop()
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds (refusing when a live server already owns the path) and starts accepting.
  bool start(std::string* error);
  // Stops accepting, disconnects clients, joins every thread, removes the socket.
  void stop();
  const std::string& path() const { return path_; }

 private:
  struct Client {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  void accept_loop();
  void serve_client(Client* c);
  void reap(bool all);
  size_t active();         // connections being served (clients_mu_ held)
  void finish(Client* c);  // a connection is over: its slot is free
  // Sends one error line and closes without the reset that unread input would cause.
  static void refuse(int fd, const std::string& error_line, int drain_ms);

  const std::string path_;
  Handler handler_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::thread acceptor_;
  std::mutex clients_mu_;
  std::condition_variable slot_freed_;
  std::list<std::unique_ptr<Client>> clients_;
  bool running_ = false;
};

}  // namespace bento::host
