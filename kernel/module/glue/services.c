// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel-services shim (kernel/include/bento/services.h) in the kernel: kvmalloc,
 * printk, ktime, rw_semaphore, mutex, wait queues and kthreads. services.h is C++-only
 * (extern "C" block), so the prototypes are repeated here with kernel types of the same
 * ABI (size_t, s64, u16).
 */
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/wait.h>

#include <linux/module.h>

#include "glue.h"

#define BENTO_KS_LOCK_STORAGE 64
#define BENTO_KS_CONDVAR_STORAGE 64

/* Live allocations: module unload reports any left (the leak check of tests/kernel). */
atomic_long_t bento_live_allocs = ATOMIC_LONG_INIT(0);

void *bento_ks_alloc(size_t size, size_t align);
void bento_ks_free(void *ptr);
void bento_ks_log(int level, const char *msg, size_t len);
s64 bento_ks_time_realtime_ns(void);
s64 bento_ks_time_monotonic_ns(void);
void bento_ks_rwlock_init(void *storage);
void bento_ks_rwlock_destroy(void *storage);
void bento_ks_rwlock_read_lock(void *storage);
void bento_ks_rwlock_read_unlock(void *storage);
void bento_ks_rwlock_write_lock(void *storage);
void bento_ks_rwlock_write_unlock(void *storage);
void bento_ks_mutex_init(void *storage);
void bento_ks_mutex_destroy(void *storage);
void bento_ks_mutex_lock(void *storage);
int bento_ks_mutex_trylock(void *storage);
void bento_ks_mutex_unlock(void *storage);
void bento_ks_condvar_init(void *storage);
void bento_ks_condvar_destroy(void *storage);
int bento_ks_condvar_wait(void *condvar, void *mutex, s64 timeout_ns);
void bento_ks_condvar_notify_one(void *storage);
void bento_ks_condvar_notify_all(void *storage);
typedef void (*bento_ks_thread_fn)(void *arg);
void *bento_ks_thread_spawn(bento_ks_thread_fn fn, void *arg, const char *name);
void bento_ks_thread_join(void *handle);

/*
 * Memory. kvmalloc: small blocks from the slab, big ones (journal buffers, hash tables)
 * from vmalloc. Alignment above 16 bytes: power-of-two kmalloc sizes are naturally
 * aligned and vmalloc is page aligned, so round the size up to a power of two.
 */
void *bento_ks_alloc(size_t size, size_t align)
{
	void *p;

	if (size == 0)
		size = 1;
	if (align > 16) {
		if (align > PAGE_SIZE)
			return NULL;
		if (size < align)
			size = align;
		size = roundup_pow_of_two(size);
	}
	p = kvmalloc(size, GFP_KERNEL);
	if (p)
		atomic_long_inc(&bento_live_allocs);
	return p;
}
EXPORT_SYMBOL_GPL(bento_ks_alloc);

void bento_ks_free(void *ptr)
{
	if (!ptr)
		return;
	atomic_long_dec(&bento_live_allocs);
	kvfree(ptr);
}
EXPORT_SYMBOL_GPL(bento_ks_free);

void bento_ks_log(int level, const char *msg, size_t len)
{
	int n = len > 1024 ? 1024 : (int)len;

	switch (level) {
	case 0:
		pr_err("bento: %.*s\n", n, msg);
		break;
	case 1:
		pr_warn("bento: %.*s\n", n, msg);
		break;
	case 2:
		pr_info("bento: %.*s\n", n, msg);
		break;
	default:
		pr_debug("bento: %.*s\n", n, msg);
	}
}
EXPORT_SYMBOL_GPL(bento_ks_log);

s64 bento_ks_time_realtime_ns(void)
{
	return ktime_get_real_ns();
}
EXPORT_SYMBOL_GPL(bento_ks_time_realtime_ns);

s64 bento_ks_time_monotonic_ns(void)
{
	return ktime_get_ns();
}
EXPORT_SYMBOL_GPL(bento_ks_time_monotonic_ns);

/* Locks: the kernel objects live inside the fs's storage bytes. */
static_assert(sizeof(struct rw_semaphore) <= BENTO_KS_LOCK_STORAGE, "rwsem fits");
static_assert(sizeof(struct mutex) <= BENTO_KS_LOCK_STORAGE, "mutex fits");

/* Each lock gets its own lockdep class key per call site would be ideal; one static key
 * per kind is what a single init site gives. */
void bento_ks_rwlock_init(void *storage)
{
	init_rwsem((struct rw_semaphore *)storage);
}
EXPORT_SYMBOL_GPL(bento_ks_rwlock_init);

void bento_ks_rwlock_destroy(void *storage)
{
}
EXPORT_SYMBOL_GPL(bento_ks_rwlock_destroy);

void bento_ks_rwlock_read_lock(void *storage)
{
	down_read((struct rw_semaphore *)storage);
}
EXPORT_SYMBOL_GPL(bento_ks_rwlock_read_lock);

void bento_ks_rwlock_read_unlock(void *storage)
{
	up_read((struct rw_semaphore *)storage);
}
EXPORT_SYMBOL_GPL(bento_ks_rwlock_read_unlock);

void bento_ks_rwlock_write_lock(void *storage)
{
	down_write((struct rw_semaphore *)storage);
}
EXPORT_SYMBOL_GPL(bento_ks_rwlock_write_lock);

void bento_ks_rwlock_write_unlock(void *storage)
{
	up_write((struct rw_semaphore *)storage);
}
EXPORT_SYMBOL_GPL(bento_ks_rwlock_write_unlock);

void bento_ks_mutex_init(void *storage)
{
	mutex_init((struct mutex *)storage);
}
EXPORT_SYMBOL_GPL(bento_ks_mutex_init);

void bento_ks_mutex_destroy(void *storage)
{
	mutex_destroy((struct mutex *)storage);
}
EXPORT_SYMBOL_GPL(bento_ks_mutex_destroy);

void bento_ks_mutex_lock(void *storage)
{
	mutex_lock((struct mutex *)storage);
}
EXPORT_SYMBOL_GPL(bento_ks_mutex_lock);

int bento_ks_mutex_trylock(void *storage)
{
	return mutex_trylock((struct mutex *)storage) ? 1 : 0;
}
EXPORT_SYMBOL_GPL(bento_ks_mutex_trylock);

void bento_ks_mutex_unlock(void *storage)
{
	mutex_unlock((struct mutex *)storage);
}
EXPORT_SYMBOL_GPL(bento_ks_mutex_unlock);

/*
 * Condition variables: a wait queue and a sequence number. A waiter samples the sequence
 * under the mutex, so a notify after that sample (which needs the mutex to have been
 * released by the waiter, or came from a thread not holding it) is never missed. Waits are
 * TASK_IDLE: an idle commit thread must not trip the hung-task detector.
 */
struct bento_kcv {
	wait_queue_head_t wq;
	atomic_t seq;
};
static_assert(sizeof(struct bento_kcv) <= BENTO_KS_CONDVAR_STORAGE, "condvar fits");

void bento_ks_condvar_init(void *storage)
{
	struct bento_kcv *cv = storage;

	init_waitqueue_head(&cv->wq);
	atomic_set(&cv->seq, 0);
}
EXPORT_SYMBOL_GPL(bento_ks_condvar_init);

void bento_ks_condvar_destroy(void *storage)
{
}
EXPORT_SYMBOL_GPL(bento_ks_condvar_destroy);

int bento_ks_condvar_wait(void *condvar, void *mutex, s64 timeout_ns)
{
	struct bento_kcv *cv = condvar;
	int seq = atomic_read(&cv->seq);
	long left = 1;

	mutex_unlock((struct mutex *)mutex);
	if (timeout_ns < 0) {
		wait_event_idle(cv->wq, atomic_read(&cv->seq) != seq);
	} else {
		unsigned long j = nsecs_to_jiffies(timeout_ns);

		left = wait_event_idle_timeout(cv->wq, atomic_read(&cv->seq) != seq,
					       j ? j : 1);
	}
	mutex_lock((struct mutex *)mutex);
	return left == 0 ? ETIMEDOUT : 0;
}
EXPORT_SYMBOL_GPL(bento_ks_condvar_wait);

void bento_ks_condvar_notify_one(void *storage)
{
	struct bento_kcv *cv = storage;

	atomic_inc(&cv->seq);
	wake_up(&cv->wq);
}
EXPORT_SYMBOL_GPL(bento_ks_condvar_notify_one);

void bento_ks_condvar_notify_all(void *storage)
{
	struct bento_kcv *cv = storage;

	atomic_inc(&cv->seq);
	wake_up_all(&cv->wq);
}
EXPORT_SYMBOL_GPL(bento_ks_condvar_notify_all);

/*
 * Threads. kthread_stop() on a thread that has not run yet skips its function entirely,
 * so join waits for a completion the thread signals after fn returns, then reaps it.
 */
struct bento_kthread {
	struct task_struct *task;
	bento_ks_thread_fn fn;
	void *arg;
	struct completion done;
};

static int bento_kthread_main(void *data)
{
	struct bento_kthread *t = data;
	unsigned int nofs = memalloc_nofs_save();

	t->fn(t->arg);
	memalloc_nofs_restore(nofs);
	complete(&t->done);
	/* Stay until join's kthread_stop(): the task must not be reaped under it. */
	while (!kthread_should_stop()) {
		set_current_state(TASK_IDLE);
		if (kthread_should_stop()) {
			__set_current_state(TASK_RUNNING);
			break;
		}
		schedule();
	}
	return 0;
}

void *bento_ks_thread_spawn(bento_ks_thread_fn fn, void *arg, const char *name)
{
	struct bento_kthread *t = kzalloc(sizeof(*t), GFP_KERNEL);

	if (!t)
		return NULL;
	t->fn = fn;
	t->arg = arg;
	init_completion(&t->done);
	t->task = kthread_create(bento_kthread_main, t, "bento-%s", name ? name : "fs");
	if (IS_ERR(t->task)) {
		kfree(t);
		return NULL;
	}
	get_task_struct(t->task);
	wake_up_process(t->task);
	return t;
}
EXPORT_SYMBOL_GPL(bento_ks_thread_spawn);

void bento_ks_thread_join(void *handle)
{
	struct bento_kthread *t = handle;

	wait_for_completion(&t->done);
	kthread_stop(t->task);
	put_task_struct(t->task);
	kfree(t);
}
EXPORT_SYMBOL_GPL(bento_ks_thread_join);
