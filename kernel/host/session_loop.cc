#include "session_loop.h"

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <time.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

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
  sem_t finished;
};

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
    if ((buf.flags & FUSE_BUF_IS_FD) ||
        !serve_extra_op(loop->se, *loop->conn, buf.mem, static_cast<size_t>(res)))
      fuse_session_process_buf(loop->se, &buf);
  }
  std::free(buf.mem);
  sem_post(&loop->finished);
  return nullptr;
}

// Joins t, waking it until it leaves (it may be blocked in read(), or about to enter it).
void join_waking(pthread_t t) {
  for (;;) {
    timespec deadline{};
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += 20 * 1000 * 1000;
    if (deadline.tv_nsec >= 1000000000) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000;
    }
    if (pthread_timedjoin_np(t, nullptr, &deadline) == 0) return;
    pthread_kill(t, kWakeSignal);
  }
}

}  // namespace

int run_session(fuse_session* se, Connection& conn, unsigned threads) {
  struct sigaction sa {
  }, old{};
  sa.sa_handler = wake;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: read() returns EINTR
  if (sigaction(kWakeSignal, &sa, &old) != 0) return -errno;
  Loop loop{se, &conn, {}};
  if (sem_init(&loop.finished, 0, 0) != 0) return -errno;
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
  for (pthread_t t : ids) join_waking(t);
  sem_destroy(&loop.finished);
  sigaction(kWakeSignal, &old, nullptr);
  return rc;
}

}  // namespace bento::host
