// The kernel-services shim in userspace: malloc, pthreads, clock_gettime, BSD sockets.
// The kernel host provides the same symbols over kmalloc, rw_semaphore, kthreads, ...
#include <bento/services.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>

namespace {

static_assert(sizeof(pthread_rwlock_t) <= BENTO_KS_LOCK_STORAGE);
static_assert(sizeof(pthread_mutex_t) <= BENTO_KS_LOCK_STORAGE);
static_assert(sizeof(pthread_cond_t) <= BENTO_KS_CONDVAR_STORAGE);

pthread_rwlock_t* rw(void* s) {
  return static_cast<pthread_rwlock_t*>(s);
}
pthread_mutex_t* mx(void* s) {
  return static_cast<pthread_mutex_t*>(s);
}
pthread_cond_t* cv(void* s) {
  return static_cast<pthread_cond_t*>(s);
}

int64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct ThreadStart {
  bento_ks_thread_fn fn;
  void* arg;
  char name[16];
};

void* thread_main(void* p) {
  ThreadStart start = *static_cast<ThreadStart*>(p);
  delete static_cast<ThreadStart*>(p);
  pthread_setname_np(pthread_self(), start.name);
  start.fn(start.arg);
  return nullptr;
}

int g_log_level = [] {
  const char* v = getenv("BENTO_LOG_LEVEL");
  return v != nullptr ? atoi(v) : 2;
}();

}  // namespace

extern "C" {

void* bento_ks_alloc(size_t size, size_t align) {
  if (align < alignof(max_align_t)) align = alignof(max_align_t);
  void* p = nullptr;
  if (posix_memalign(&p, align, size == 0 ? 1 : size) != 0) return nullptr;
  return p;
}

void bento_ks_free(void* ptr) {
  free(ptr);
}

void bento_ks_log(int level, const char* msg, size_t len) {
  if (level > g_log_level) return;
  static const char* const kNames[] = {"error", "warning", "info", "debug"};
  const char* name = (level >= 0 && level <= 3) ? kNames[level] : "log";
  fprintf(stderr, "bento %s: %.*s\n", name, static_cast<int>(len), msg);
}

int64_t bento_ks_time_realtime_ns(void) {
  return clock_ns(CLOCK_REALTIME);
}
int64_t bento_ks_time_monotonic_ns(void) {
  return clock_ns(CLOCK_MONOTONIC);
}

void bento_ks_rwlock_init(void* s) {
  // Writer preference: a live upgrade's write lock must not starve behind a steady
  // stream of readers (every file operation holds the read lock).
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(rw(s), &attr);
  pthread_rwlockattr_destroy(&attr);
}
void bento_ks_rwlock_destroy(void* s) {
#ifndef NDEBUG
  // A lock destroyed while held is freed memory its holder will unlock (heap corruption
  // far from the cause); debug and sanitizer builds stop at the cause instead.
  if (pthread_rwlock_trywrlock(rw(s)) != 0) {
    std::fprintf(stderr, "bento: a read-write lock was destroyed while held\n");
    std::abort();
  }
  pthread_rwlock_unlock(rw(s));
#endif
  pthread_rwlock_destroy(rw(s));
}
void bento_ks_rwlock_read_lock(void* s) {
  pthread_rwlock_rdlock(rw(s));
}
void bento_ks_rwlock_read_unlock(void* s) {
  pthread_rwlock_unlock(rw(s));
}
void bento_ks_rwlock_write_lock(void* s) {
  pthread_rwlock_wrlock(rw(s));
}
void bento_ks_rwlock_write_unlock(void* s) {
  pthread_rwlock_unlock(rw(s));
}

void bento_ks_mutex_init(void* s) {
  pthread_mutex_init(mx(s), nullptr);
}
void bento_ks_mutex_destroy(void* s) {
  [[maybe_unused]] int err = pthread_mutex_destroy(mx(s));
#ifndef NDEBUG
  if (err == EBUSY) {  // as for read-write locks above
    std::fprintf(stderr, "bento: a mutex was destroyed while held\n");
    std::abort();
  }
#endif
}
void bento_ks_mutex_lock(void* s) {
  pthread_mutex_lock(mx(s));
}
int bento_ks_mutex_trylock(void* s) {
  return pthread_mutex_trylock(mx(s)) == 0 ? 1 : 0;
}
void bento_ks_mutex_unlock(void* s) {
  pthread_mutex_unlock(mx(s));
}

void bento_ks_condvar_init(void* s) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(cv(s), &attr);
  pthread_condattr_destroy(&attr);
}
void bento_ks_condvar_destroy(void* s) {
  pthread_cond_destroy(cv(s));
}
int bento_ks_condvar_wait(void* c, void* m, int64_t timeout_ns) {
  if (timeout_ns < 0) return pthread_cond_wait(cv(c), mx(m));
  int64_t deadline = clock_ns(CLOCK_MONOTONIC) + timeout_ns;
  timespec ts{static_cast<time_t>(deadline / 1000000000), static_cast<long>(deadline % 1000000000)};
  return pthread_cond_timedwait(cv(c), mx(m), &ts);
}
void bento_ks_condvar_notify_one(void* s) {
  pthread_cond_signal(cv(s));
}
void bento_ks_condvar_notify_all(void* s) {
  pthread_cond_broadcast(cv(s));
}

void* bento_ks_thread_spawn(bento_ks_thread_fn fn, void* arg, const char* name) {
  auto* start = new (std::nothrow) ThreadStart{fn, arg, {}};
  if (start == nullptr) return nullptr;
  snprintf(start->name, sizeof(start->name), "%s", name != nullptr ? name : "bento");
  auto* handle = new (std::nothrow) pthread_t;
  // File-system threads run in the normal scheduling class whatever their creator runs
  // at: the host runs a live upgrade's pause at real-time priority (connection.cc), and
  // the new instance's commit thread, spawned inside it, must not inherit that.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
  pthread_attr_setschedpolicy(&attr, SCHED_OTHER);
  sched_param sp{};
  pthread_attr_setschedparam(&attr, &sp);
  const int rc = handle == nullptr ? -1 : pthread_create(handle, &attr, thread_main, start);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    delete start;
    delete handle;
    return nullptr;
  }
  return handle;
}

void bento_ks_thread_join(void* h) {
  auto* handle = static_cast<pthread_t*>(h);
  pthread_join(*handle, nullptr);
  delete handle;
}

}  // extern "C"
