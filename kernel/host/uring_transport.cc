#include "uring_transport.h"

#include <bento/log.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "reply_sink.h"
#include "session_loop.h"

namespace bento::host {
namespace {

constexpr char kSwitch[] = "/sys/module/fuse/parameters/enable_uring";
// The kernel sizes entries for max(8 KiB, max_write, max_pages pages): 1 MiB for bentofs
// (fuse_bridge's max_write, and libfuse's max_pages derived from it). A queue whose
// buffer is too small is refused at REGISTER, and we fall back.
constexpr size_t kPayloadCap = (1u << 20) + (64u << 10);
// Room in front of the payload for the rebuilt fuse_in_header + per-op struct.
constexpr size_t kSlack = 4096;
// How long a worker waits for an immediate refusal of its REGISTER.
constexpr long kRegisterCheckNs = 100 * 1000 * 1000;

// num_possible_cpus(): the kernel's number of queues. /sys/.../possible is "0-3,8-11".
unsigned possible_cpus() {
  std::ifstream f("/sys/devices/system/cpu/possible");
  std::string s;
  if (!std::getline(f, s)) return static_cast<unsigned>(sysconf(_SC_NPROCESSORS_CONF));
  unsigned n = 0;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ',')) {
    unsigned a = 0, b = 0;
    if (std::sscanf(part.c_str(), "%u-%u", &a, &b) == 2) {
      n += b - a + 1;
    } else if (std::sscanf(part.c_str(), "%u", &a) == 1) {
      n += 1;
    }
  }
  return n == 0 ? 1 : n;
}

}  // namespace

struct UringTransport::State {
  struct Worker {
    State* st = nullptr;
    uint16_t qid = 0;
    pthread_t tid{};
    bool running = false;
    io_uring ring{};
    uint8_t* mem = nullptr;  // kSlack + kPayloadCap, mmap'd
    uint8_t* payload = nullptr;
    std::unique_ptr<uring_abi::ReqHeader> header = std::make_unique<uring_abi::ReqHeader>();
    iovec iov[2]{};  // read by the kernel when REGISTER is issued, maybe asynchronously
  };

  fuse_session* se = nullptr;
  Connection* conn = nullptr;
  int fd = -1;
  unsigned queues = 0;
  unsigned per_queue = 0;
  std::vector<std::unique_ptr<Worker>> workers;
  std::atomic<bool> stopping{false};

  std::mutex mu;
  std::condition_variable cv;
  unsigned reported = 0;
  int first_error = 0;

  void report(int err) {
    std::lock_guard<std::mutex> g(mu);
    reported++;
    if (err != 0 && first_error == 0) first_error = err;
    cv.notify_all();
  }
};

namespace {

using State = UringTransport::State;
using Worker = State::Worker;

io_uring_sqe* prep_cmd(Worker& w, uint32_t cmd, uint64_t commit_id) {
  io_uring_sqe* sqe = io_uring_get_sqe(&w.ring);
  if (sqe == nullptr) return nullptr;    // one entry per ring: never full
  std::memset(sqe, 0, 2 * sizeof *sqe);  // SQE128: the command area is the second half
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = w.st->fd;
  sqe->cmd_op = cmd;
  uring_abi::CmdReq req{};
  req.qid = w.qid;
  req.commit_id = commit_id;
  std::memcpy(sqe->cmd, &req, sizeof req);
  return sqe;
}

// Rebuilds the request as a /dev/fuse message in front of the payload, serves it, and
// queues the commit of its reply (which also fetches the next request).
void serve(Worker& w) {
  State& st = *w.st;
  uring_abi::ReqHeader& h = *w.header;
  fuse_in_header in{};
  std::memcpy(&in, h.in_out, sizeof in);
  const uint64_t commit_id = h.ring_ent_in_out.commit_id;
  const size_t payload = h.ring_ent_in_out.payload_sz;
  RingReply reply;
  reply.unique = in.unique;
  reply.header = &h;
  reply.payload = w.payload;
  reply.payload_cap = kPayloadCap;
  // in.len counts header + first argument + the rest: the first argument's size follows.
  if (in.len >= sizeof in + payload && in.len - sizeof in - payload <= uring_abi::kOpInSize &&
      payload <= kPayloadCap) {
    const size_t op_in = in.len - sizeof in - payload;
    uint8_t* msg = w.payload - op_in - sizeof in;
    std::memcpy(msg, &in, sizeof in);
    std::memcpy(msg + sizeof in, h.op_in, op_in);
    ScopedRingReply scope(reply);
    if (!serve_extra_op(st.se, *st.conn, msg, in.len)) {
      fuse_buf buf{};
      buf.size = in.len;
      buf.mem = msg;
      fuse_session_process_buf(st.se, &buf);
    }
  }
  if (!reply.sent) {  // malformed, or nothing answered: the kernel must still get a reply
    fuse_out_header out{};
    out.len = sizeof out;
    out.error = -EIO;
    out.unique = in.unique;
    std::memcpy(h.in_out, &out, sizeof out);
    h.ring_ent_in_out.payload_sz = 0;
  }
  prep_cmd(w, uring_abi::kCmdCommitAndFetch, commit_id);
}

void* run_worker(void* arg) {
  Worker& w = *static_cast<Worker*>(arg);
  State& st = *w.st;
  io_uring_params p{};
  p.flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  int rc = io_uring_queue_init_params(4, &w.ring, &p);
  if (rc == -EINVAL) {  // a kernel without DEFER_TASKRUN
    p = {};
    p.flags = IORING_SETUP_SQE128;
    rc = io_uring_queue_init_params(4, &w.ring, &p);
  }
  if (rc < 0) {
    st.report(rc);
    return nullptr;
  }
  io_uring_sqe* sqe = prep_cmd(w, uring_abi::kCmdRegister, 0);
  sqe->addr = reinterpret_cast<uint64_t>(w.iov);
  sqe->len = 2;
  bool reported = false;
  while (!st.stopping.load(std::memory_order_acquire) && !fuse_session_exited(st.se)) {
    io_uring_cqe* cqe = nullptr;
    if (!reported) {
      // A refused REGISTER completes at once; an accepted one completes with a request.
      __kernel_timespec ts{};
      ts.tv_nsec = kRegisterCheckNs;
      rc = io_uring_submit_and_wait_timeout(&w.ring, &cqe, 1, &ts, nullptr);
      if (rc == -ETIME) {
        st.report(0);
        reported = true;
        continue;
      }
    } else {
      rc = io_uring_submit_and_wait(&w.ring, 1);
      if (rc >= 0) rc = io_uring_peek_cqe(&w.ring, &cqe);
    }
    if (rc == -EINTR || rc == -EAGAIN || rc == -ETIME || (rc >= 0 && cqe == nullptr)) continue;
    if (rc < 0) break;
    const int res = cqe->res;
    io_uring_cqe_seen(&w.ring, cqe);
    if (res < 0) {  // refused, or -ENOTCONN: the connection is going away
      if (!reported) st.report(res);
      reported = true;
      break;
    }
    if (!reported) st.report(0);
    reported = true;
    serve(w);
  }
  if (!reported) st.report(-EINTR);
  io_uring_submit(&w.ring);      // a served request's commit, if the loop ended after it
  io_uring_queue_exit(&w.ring);  // cancels the pending command
  return nullptr;
}

}  // namespace

UringTransport::UringTransport(std::unique_ptr<State> s) : s_(std::move(s)) {}

UringTransport::~UringTransport() {
  stop(SIGUSR2);
}

std::unique_ptr<UringTransport> UringTransport::start(fuse_session* se, Connection& conn,
                                                      unsigned threads, std::string* why) {
  auto st = std::make_unique<State>();
  st->se = se;
  st->conn = &conn;
  st->fd = fuse_session_fd(se);
  st->queues = possible_cpus();
  st->per_queue = std::max(1u, (threads + st->queues - 1) / st->queues);
  for (unsigned q = 0; q < st->queues; q++) {
    for (unsigned i = 0; i < st->per_queue; i++) {
      auto w = std::make_unique<Worker>();
      w->st = st.get();
      w->qid = static_cast<uint16_t>(q);
      void* m = ::mmap(nullptr, kSlack + kPayloadCap, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) {
        *why = std::string("mmap: ") + std::strerror(errno);
        UringTransport(std::move(st)).stop(SIGUSR2);
        return nullptr;
      }
      w->mem = static_cast<uint8_t*>(m);
      w->payload = w->mem + kSlack;
      w->iov[0] = {w->header.get(), sizeof(uring_abi::ReqHeader)};
      w->iov[1] = {w->payload, kPayloadCap};
      st->workers.push_back(std::move(w));
    }
  }
  unsigned started = 0;
  for (auto& w : st->workers) {
    if (pthread_create(&w->tid, nullptr, run_worker, w.get()) != 0) {
      st->report(-EAGAIN);
      continue;
    }
    w->running = true;
    started++;
  }
  {
    std::unique_lock<std::mutex> g(st->mu);
    st->cv.wait(g, [&] { return st->reported >= st->workers.size(); });
  }
  if (st->first_error != 0) {
    *why = std::string("REGISTER refused: ") + std::strerror(-st->first_error);
    UringTransport(std::move(st)).stop(SIGUSR2);
    return nullptr;
  }
  return std::unique_ptr<UringTransport>(new UringTransport(std::move(st)));
}

void UringTransport::stop(int wake_signal) {
  if (!s_) return;
  s_->stopping.store(true, std::memory_order_release);
  for (auto& w : s_->workers) {
    if (w->running) join_waking(w->tid, wake_signal);
    w->running = false;
    if (w->mem != nullptr) ::munmap(w->mem, kSlack + kPayloadCap);
    w->mem = nullptr;
  }
  s_.reset();
}

std::string UringTransport::describe() const {
  if (!s_) return "io_uring (stopped)";
  return "io_uring (" + std::to_string(s_->queues) + " queues x " + std::to_string(s_->per_queue) +
         " workers)";
}

bool ensure_kernel_uring_enabled(std::string* why) {
  auto read_switch = [](char* c) {
    std::ifstream f(kSwitch);
    return static_cast<bool>(f >> *c);
  };
  char c = 0;
  if (!read_switch(&c)) {
    *why = "this kernel's fuse module has no io_uring support (no " + std::string(kSwitch) + ")";
    return false;
  }
  if (c == 'Y' || c == '1') return true;
  int fd = ::open(kSwitch, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::write(fd, "Y", 1) != 1) {
    *why = std::string(kSwitch) + " is N and cannot be set: " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return false;
  }
  ::close(fd);
  log(LogLevel::kInfo, std::string("bentofs: set ") + kSwitch + " to Y");
  return read_switch(&c) && (c == 'Y' || c == '1');
}

}  // namespace bento::host
