// The kernel-services shim: the only symbols a Bento file system may link against.
//
// A file system compiled for the kernel host gets these from the kernel host module
// (kmalloc, rw_semaphore, kthread, ...); in userspace, libbento_services provides them
// (malloc, pthreads, sockets). The freestanding check (kernel/freestanding/) fails the
// build if fs code references any symbol outside this list, the compiler's memory
// builtins and operator delete.
//
// Everything here is C ABI so that the same declarations serve both hosts. File systems
// do not call these directly: they use the C++ wrappers in the other bento/ headers.
#pragma once

#include <stddef.h>
#include <stdint.h>

extern "C" {

// Memory. Returns nullptr on exhaustion: callers must handle it (no exceptions).
void* bento_ks_alloc(size_t size, size_t align);
void bento_ks_free(void* ptr);

// Logging (level: 0 error, 1 warning, 2 info, 3 debug). msg need not be NUL-terminated.
void bento_ks_log(int level, const char* msg, size_t len);

// Clocks, in nanoseconds. realtime: since the Unix epoch; monotonic: arbitrary origin.
int64_t bento_ks_time_realtime_ns(void);
int64_t bento_ks_time_monotonic_ns(void);

// Locks and waiting. Storage is inline in the caller's object (see sync.h for the sizes);
// the shim initialises it in place. Objects must not move while initialised.
#define BENTO_KS_LOCK_STORAGE 64
#define BENTO_KS_CONDVAR_STORAGE 64
void bento_ks_rwlock_init(void* storage);
void bento_ks_rwlock_destroy(void* storage);
void bento_ks_rwlock_read_lock(void* storage);
void bento_ks_rwlock_read_unlock(void* storage);
void bento_ks_rwlock_write_lock(void* storage);
void bento_ks_rwlock_write_unlock(void* storage);
void bento_ks_mutex_init(void* storage);
void bento_ks_mutex_destroy(void* storage);
void bento_ks_mutex_lock(void* storage);
int bento_ks_mutex_trylock(void* storage);  // 1 when acquired
void bento_ks_mutex_unlock(void* storage);
void bento_ks_condvar_init(void* storage);
void bento_ks_condvar_destroy(void* storage);
// Waits with the mutex held; returns 0 when woken, ETIMEDOUT after timeout_ns (<0: forever).
int bento_ks_condvar_wait(void* condvar, void* mutex, int64_t timeout_ns);
void bento_ks_condvar_notify_one(void* storage);
void bento_ks_condvar_notify_all(void* storage);

// Threads (kthreads in the kernel). Returns a handle or nullptr.
typedef void (*bento_ks_thread_fn)(void* arg);
void* bento_ks_thread_spawn(bento_ks_thread_fn fn, void* arg, const char* name);
void bento_ks_thread_join(void* handle);

// TCP (kernel sockets in the kernel). Handles are opaque; negative results are -errno.
void* bento_ks_tcp_connect(const char* host, uint16_t port, int* err);
void* bento_ks_tcp_listen(const char* host, uint16_t port, int* err);
uint16_t bento_ks_tcp_local_port(void* handle);
void* bento_ks_tcp_accept(void* listener, int* err);
int64_t bento_ks_tcp_read(void* stream, void* buf, size_t len);
int64_t bento_ks_tcp_write(void* stream, const void* buf, size_t len);
void bento_ks_tcp_close(void* handle);

}  // extern "C"
