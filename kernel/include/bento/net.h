// TCP streams for file systems that talk to the network (as the paper's distributed
// examples do), over kernel sockets or BSD sockets depending on the host.
#pragma once

#include <bento/result.h>
#include <bento/services.h>

#include <cstdint>
#include <span>

namespace bento {

class TcpStream {
 public:
  TcpStream() = default;
  explicit TcpStream(void* h) : h_(h) {}
  TcpStream(TcpStream&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
  TcpStream& operator=(TcpStream&& o) noexcept {
    if (this != &o) {
      close();
      h_ = o.h_;
      o.h_ = nullptr;
    }
    return *this;
  }
  ~TcpStream() { close(); }

  // host: a numeric IPv4/IPv6 address.
  static Result<TcpStream> connect(const char* host, uint16_t port) {
    int err = 0;
    void* h = bento_ks_tcp_connect(host, port, &err);
    if (h == nullptr) return Err(err != 0 ? err : ECONNREFUSED);
    return TcpStream(h);
  }
  // Reads at most buf.size() bytes; 0 at end of stream.
  Result<size_t> read(std::span<uint8_t> buf) {
    int64_t n = bento_ks_tcp_read(h_, buf.data(), buf.size());
    if (n < 0) return Err(static_cast<int>(-n));
    return static_cast<size_t>(n);
  }
  // Writes all of data.
  Status write_all(std::span<const uint8_t> data) {
    while (!data.empty()) {
      int64_t n = bento_ks_tcp_write(h_, data.data(), data.size());
      if (n < 0) return Err(static_cast<int>(-n));
      data = data.subspan(static_cast<size_t>(n));
    }
    return Status::Ok();
  }
  void close() {
    if (h_ != nullptr) bento_ks_tcp_close(h_);
    h_ = nullptr;
  }

 private:
  void* h_ = nullptr;
};

class TcpListener {
 public:
  TcpListener() = default;
  TcpListener(TcpListener&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
  TcpListener& operator=(TcpListener&& o) noexcept {
    if (this != &o) {
      close();
      h_ = o.h_;
      o.h_ = nullptr;
    }
    return *this;
  }
  ~TcpListener() { close(); }

  // port 0 picks a free port (see local_port()).
  static Result<TcpListener> bind(const char* host, uint16_t port) {
    int err = 0;
    void* h = bento_ks_tcp_listen(host, port, &err);
    if (h == nullptr) return Err(err != 0 ? err : EADDRINUSE);
    TcpListener l;
    l.h_ = h;
    return l;
  }
  uint16_t local_port() const { return bento_ks_tcp_local_port(h_); }
  Result<TcpStream> accept() {
    int err = 0;
    void* h = bento_ks_tcp_accept(h_, &err);
    if (h == nullptr) return Err(err != 0 ? err : EIO);
    return TcpStream(h);
  }
  void close() {
    if (h_ != nullptr) bento_ks_tcp_close(h_);
    h_ = nullptr;
  }

 private:
  void* h_ = nullptr;
};

}  // namespace bento
