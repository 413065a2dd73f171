#include "session_loop.h"

#include <pthread.h>
#include <semaphore.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

namespace bento::host {
namespace {

struct Loop {
  fuse_session* se;
  Connection* conn;
  sem_t finished;
};

void* worker(void* arg) {
  auto* loop = static_cast<Loop*>(arg);
  // Cancellation (the way the main thread stops idle workers) only while waiting for a
  // request: never in the middle of serving one.
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, nullptr);
  fuse_buf buf{};
  while (!fuse_session_exited(loop->se)) {
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, nullptr);
    int res = fuse_session_receive_buf(loop->se, &buf);
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, nullptr);
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

}  // namespace

int run_session(fuse_session* se, Connection& conn, unsigned threads) {
  Loop loop{se, &conn, {}};
  if (sem_init(&loop.finished, 0, 0) != 0) return -errno;
  std::vector<pthread_t> ids;
  for (unsigned i = 0; i < (threads == 0 ? 1 : threads); i++) {
    pthread_t t;
    if (pthread_create(&t, nullptr, worker, &loop) != 0) break;
    ids.push_back(t);
  }
  if (ids.empty()) {
    sem_destroy(&loop.finished);
    return -EAGAIN;
  }
  // A signal (SIGTERM, SIGINT: libfuse's handlers call fuse_session_exit) interrupts the
  // wait; a worker that saw the unmount posts.
  while (!fuse_session_exited(se)) sem_wait(&loop.finished);
  for (pthread_t t : ids) pthread_cancel(t);
  for (pthread_t t : ids) pthread_join(t, nullptr);
  sem_destroy(&loop.finished);
  return 0;
}

}  // namespace bento::host
