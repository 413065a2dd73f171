#include "session_loop.h"

#include <bento/log.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "connection.h"
#include "init_reply_fix.h"
#include "reply_sink.h"
#include "uring_transport.h"

namespace bento::host {
namespace {

// Interrupts a worker's read() of /dev/fuse (no SA_RESTART) so that it sees the session
// has exited. Workers are woken this way rather than cancelled: a cancelled thread's
// forced unwind confuses AddressSanitizer, and a request is never cut in half.
constexpr int kWakeSignal = SIGUSR2;
void wake(int) {}

struct Loop {
  fuse_session* se;
  Connection* conn;
  SessionOptions options;
  sem_t finished;
  std::mutex rings_mu;
  std::unique_ptr<UringTransport> rings;
};

// Whether the request at msg is an INIT that offers FUSE_OVER_IO_URING.
bool is_init(const void* msg, size_t len) {
  fuse_in_header h;
  if (len < sizeof h) return false;
  std::memcpy(&h, msg, sizeof h);
  return h.opcode == FUSE_INIT;
}

bool init_offers_uring(const void* msg, size_t len) {
  fuse_init_in in{};
  if (len < sizeof(fuse_in_header) + offsetof(fuse_init_in, flags2) + sizeof in.flags2)
    return false;
  std::memcpy(&in, static_cast<const char*>(msg) + sizeof(fuse_in_header),
              std::min(sizeof in, len - sizeof(fuse_in_header)));
  return (in.flags & uring_abi::kInitExt) && (in.flags2 & uring_abi::kFlags2OverIoUring);
}

// After the INIT reply that asked for io_uring: the kernel has taken it (the reply was a
// synchronous write), so the queues can be registered now.
void start_rings(Loop& loop) {
  std::string why;
  std::unique_ptr<UringTransport> t =
      UringTransport::start(loop.se, *loop.conn, loop.options.threads, &why);
  if (!t) {
    log(LogLevel::kWarning,
        "bentofs: FUSE over io_uring unavailable (" + why + "); serving over /dev/fuse");
    return;
  }
  log(LogLevel::kInfo, "bentofs: serving over " + t->describe());
  loop.conn->set_transport(t->describe());
  std::lock_guard<std::mutex> g(loop.rings_mu);
  loop.rings = std::move(t);
}

void* worker(void* arg) {
  auto* loop = static_cast<Loop*>(arg);
  fuse_buf buf{};
  while (!fuse_session_exited(loop->se)) {
    int res = fuse_session_receive_buf(loop->se, &buf);
    if (res == -EINTR || res == -EAGAIN) continue;
    if (res <= 0) {
      fuse_session_exit(loop->se);  // unmounted (ENODEV) or a fatal read error
      break;
    }
    const bool in_mem = !(buf.flags & FUSE_BUF_IS_FD);
    bool rings = false;
    if (in_mem && loop->options.uring && is_init(buf.mem, static_cast<size_t>(res))) {
      rings = init_offers_uring(buf.mem, static_cast<size_t>(res));
      if (rings) {
        add_flags2_to_init_reply(uring_abi::kFlags2OverIoUring);
      } else {
        log(LogLevel::kWarning,
            "bentofs: the kernel does not offer FUSE over io_uring (needs Linux 6.14+ with "
            "CONFIG_FUSE_IO_URING and /sys/module/fuse/parameters/enable_uring=Y); serving "
            "over /dev/fuse");
      }
    }
    if (!in_mem || !serve_extra_op(loop->se, *loop->conn, buf.mem, static_cast<size_t>(res)))
      fuse_session_process_buf(loop->se, &buf);
    if (rings) start_rings(*loop);
  }
  std::free(buf.mem);
  sem_post(&loop->finished);
  return nullptr;
}

}  // namespace

void join_waking(pthread_t t, int sig) {
  for (;;) {
    timespec deadline{};
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += 20 * 1000 * 1000;
    if (deadline.tv_nsec >= 1000000000) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000;
    }
    if (pthread_timedjoin_np(t, nullptr, &deadline) == 0) return;
    pthread_kill(t, sig);
  }
}

int run_session(fuse_session* se, Connection& conn, const SessionOptions& options) {
  struct sigaction sa {
  }, old{};
  sa.sa_handler = wake;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: read() returns EINTR
  if (sigaction(kWakeSignal, &sa, &old) != 0) return -errno;
  conn.set_transport("/dev/fuse");
  if (options.uring && install_reply_path(se) != 0) return -EIO;
  Loop loop{se, &conn, options, {}, {}, {}};
  if (sem_init(&loop.finished, 0, 0) != 0) return -errno;
  const unsigned threads = options.threads;
  std::vector<pthread_t> ids;
  for (unsigned i = 0; i < (threads == 0 ? 1 : threads); i++) {
    pthread_t t;
    if (pthread_create(&t, nullptr, worker, &loop) != 0) break;
    ids.push_back(t);
  }
  int rc = ids.empty() ? -EAGAIN : 0;
  // A signal (SIGTERM, SIGINT: libfuse's handlers call fuse_session_exit) interrupts the
  // wait; a worker that saw the unmount posts.
  while (!ids.empty() && !fuse_session_exited(se)) sem_wait(&loop.finished);
  for (pthread_t t : ids) join_waking(t, kWakeSignal);
  {
    std::lock_guard<std::mutex> g(loop.rings_mu);
    if (loop.rings) loop.rings->stop(kWakeSignal);
    loop.rings.reset();
  }
  sem_destroy(&loop.finished);
  sigaction(kWakeSignal, &old, nullptr);
  return rc;
}

}  // namespace bento::host
