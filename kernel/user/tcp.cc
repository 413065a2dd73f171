// The TCP part of the kernel-services shim in userspace, over BSD sockets.
// Hosts are numeric (no DNS: the kernel host cannot resolve names either).
#include <bento/services.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <new>

namespace {

// A listener or a stream: the opaque handle of services.h.
struct TcpHandle {
  int fd;
};

int gai_to_errno(int rc) {
  switch (rc) {
    case EAI_SYSTEM:
      return errno != 0 ? errno : EIO;
    case EAI_MEMORY:
      return ENOMEM;
    case EAI_FAMILY:
      return EAFNOSUPPORT;
    default:  // EAI_NONAME (not a numeric address) and friends
      return EINVAL;
  }
}

// Resolves a numeric host; passive (host may be null: any address) for listeners.
int resolve(const char* host, uint16_t port, bool passive, addrinfo** out) {
  if (host == nullptr && !passive) return EINVAL;
  char service[8];
  snprintf(service, sizeof(service), "%u", static_cast<unsigned>(port));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  errno = 0;
  int rc = getaddrinfo(host, service, &hints, out);
  return rc == 0 ? 0 : gai_to_errno(rc);
}

void close_fd(int fd) {
  // Retrying close() after EINTR is wrong on Linux: the fd is already gone.
  (void)close(fd);
}

// Small request/response traffic is the norm for a networked fs: don't let Nagle delay it.
void set_nodelay(int fd) {
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// connect() interrupted by a signal keeps connecting in the background: wait for it.
int connect_fd(int fd, const sockaddr* addr, socklen_t len) {
  if (connect(fd, addr, len) == 0) return 0;
  if (errno != EINTR) return errno;
  pollfd p{fd, POLLOUT, 0};
  int rc;
  do {
    rc = poll(&p, 1, -1);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return errno;
  int err = 0;
  socklen_t elen = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0) return errno;
  return err;
}

void* new_handle(int fd, int* err) {
  auto* h = new (std::nothrow) TcpHandle{fd};
  if (h == nullptr) {
    close_fd(fd);
    *err = ENOMEM;
  }
  return h;
}

}  // namespace

extern "C" {

void* bento_ks_tcp_connect(const char* host, uint16_t port, int* err) {
  int dummy = 0;
  if (err == nullptr) err = &dummy;
  addrinfo* list = nullptr;
  *err = resolve(host, port, false, &list);
  if (*err != 0) return nullptr;
  int fd = -1;
  int last = ECONNREFUSED;
  for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last = errno;
      continue;
    }
    int rc = connect_fd(fd, a->ai_addr, a->ai_addrlen);
    if (rc == 0) break;
    last = rc;
    close_fd(fd);
    fd = -1;
  }
  freeaddrinfo(list);
  if (fd < 0) {
    *err = last;
    return nullptr;
  }
  set_nodelay(fd);
  *err = 0;
  return new_handle(fd, err);
}

void* bento_ks_tcp_listen(const char* host, uint16_t port, int* err) {
  int dummy = 0;
  if (err == nullptr) err = &dummy;
  addrinfo* list = nullptr;
  *err = resolve(host, port, true, &list);
  if (*err != 0) return nullptr;
  int fd = -1;
  int last = EADDRNOTAVAIL;
  for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last = errno;
      continue;
    }
    // A restarted server must be able to rebind while old connections sit in TIME_WAIT.
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) break;
    last = errno;
    close_fd(fd);
    fd = -1;
  }
  freeaddrinfo(list);
  if (fd < 0) {
    *err = last;
    return nullptr;
  }
  *err = 0;
  return new_handle(fd, err);
}

uint16_t bento_ks_tcp_local_port(void* handle) {
  if (handle == nullptr) return 0;
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(static_cast<TcpHandle*>(handle)->fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

void* bento_ks_tcp_accept(void* listener, int* err) {
  int dummy = 0;
  if (err == nullptr) err = &dummy;
  if (listener == nullptr) {
    *err = EINVAL;
    return nullptr;
  }
  int lfd = static_cast<TcpHandle*>(listener)->fd;
  int fd;
  for (;;) {
    fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) break;
    // A connection reset before we accepted it is the peer's problem, not the listener's.
    if (errno == EINTR || errno == ECONNABORTED) continue;
    *err = errno;
    return nullptr;
  }
  set_nodelay(fd);
  *err = 0;
  return new_handle(fd, err);
}

int64_t bento_ks_tcp_read(void* stream, void* buf, size_t len) {
  if (stream == nullptr) return -EBADF;
  int fd = static_cast<TcpHandle*>(stream)->fd;
  for (;;) {
    ssize_t n = recv(fd, buf, len, 0);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

int64_t bento_ks_tcp_write(void* stream, const void* buf, size_t len) {
  if (stream == nullptr) return -EBADF;
  int fd = static_cast<TcpHandle*>(stream)->fd;
  for (;;) {
    // MSG_NOSIGNAL: a vanished peer must give EPIPE, not kill the whole host with SIGPIPE.
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

void bento_ks_tcp_close(void* handle) {
  if (handle == nullptr) return;
  auto* h = static_cast<TcpHandle*>(handle);
  close_fd(h->fd);
  delete h;
}

}  // extern "C"
