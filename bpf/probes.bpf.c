// SPDX-License-Identifier: GPL-2.0
/* CO-RE probes for the lineage collector (events: include/bento_bpf/events.h).
 * Attached with tp_btf (BTF-typed raw tracepoints): no kprobes, no tracefs needed.
 *   sched_process_fork  -> BENTO_EV_FORK   (processes and threads)
 *   sched_process_exec  -> BENTO_EV_EXEC   (filename, argv, executable inode)
 *   sched_process_exit  -> BENTO_EV_EXIT   (exit code; group_dead for the last thread)
 * Kernel-side filter: tgids in `ignored` (the collector itself) send nothing.
 * Lost events (ring buffer full) are counted per CPU in `lost`. */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bento_bpf/events.h"

char LICENSE[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 << 20);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 2); /* 0: lost, 1: sent */
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u8);
} ignored SEC(".maps");

static __always_inline void count(__u32 which) {
  __u64 *v = bpf_map_lookup_elem(&counters, &which);
  if (v) *v += 1;
}

static __always_inline void *reserve(__u32 size) {
  void *e = bpf_ringbuf_reserve(&events, size, 0);
  count(e ? 1 : 0);
  return e;
}

static __always_inline int ignored_tgid(__u32 tgid) {
  return bpf_map_lookup_elem(&ignored, &tgid) != 0;
}

static __always_inline void fill_header(struct bento_event_header *h, __u32 type, __u32 size,
                                        struct task_struct *t) {
  h->type = type;
  h->size = size;
  h->ts_ns = bpf_ktime_get_ns();
  h->pid = BPF_CORE_READ(t, tgid);
  h->tid = BPF_CORE_READ(t, pid);
  h->start_ns = BPF_CORE_READ(t, group_leader, start_time);
  h->uid = BPF_CORE_READ(t, real_cred, uid.val);
  h->gid = BPF_CORE_READ(t, real_cred, gid.val);
  h->euid = BPF_CORE_READ(t, real_cred, euid.val);
  h->egid = BPF_CORE_READ(t, real_cred, egid.val);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child) {
  if (ignored_tgid(BPF_CORE_READ(parent, tgid))) return 0;
  struct bento_fork_event *e = reserve(sizeof(*e));
  if (!e) return 0;
  fill_header(&e->h, BENTO_EV_FORK, sizeof(*e), parent);
  e->child_pid = BPF_CORE_READ(child, tgid);
  e->child_tid = BPF_CORE_READ(child, pid);
  e->child_start_ns = BPF_CORE_READ(child, start_time);
  e->is_thread = e->child_pid == e->h.pid;
  e->shares_files = BPF_CORE_READ(child, files) == BPF_CORE_READ(parent, files);
  bpf_ringbuf_submit(e, 0);
  return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
  if (ignored_tgid(BPF_CORE_READ(p, tgid))) return 0;
  struct bento_exec_event *e = reserve(sizeof(*e));
  if (!e) return 0;
  fill_header(&e->h, BENTO_EV_EXEC, sizeof(*e), p);
  e->old_tid = old_pid;
  const char *fname = BPF_CORE_READ(bprm, filename);
  bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), fname);
  struct mm_struct *mm = BPF_CORE_READ(p, mm);
  unsigned long start = BPF_CORE_READ(mm, arg_start), end = BPF_CORE_READ(mm, arg_end);
  unsigned long len = end > start ? end - start : 0;
  e->args_truncated = len > BENTO_ARGS_MAX - 1;
  if (len > BENTO_ARGS_MAX - 1) len = BENTO_ARGS_MAX - 1;
  e->args_len = 0;
  e->argc = 0;
  if (len > 0 && bpf_probe_read_user(e->args, len & (BENTO_ARGS_MAX - 1), (void *)start) == 0) {
    e->args_len = len;
    for (int i = 0; i < BENTO_ARGS_MAX; i++) {
      if (i >= len) break;
      if (e->args[i] == '\0') e->argc++;
    }
  }
  struct file **fds = BPF_CORE_READ(p, files, fdt, fd);
  unsigned int max_fds = BPF_CORE_READ(p, files, fdt, max_fds);
  for (int i = 0; i < 3; i++) {
    struct file *f = 0;
    e->std_pipe_ino[i] = 0;
    if (i >= max_fds || bpf_probe_read_kernel(&f, sizeof(f), &fds[i]) != 0 || !f) continue;
    struct inode *ino = BPF_CORE_READ(f, f_inode);
    if ((BPF_CORE_READ(ino, i_mode) & 0170000) == 0010000) /* S_IFIFO: pipe or FIFO */
      e->std_pipe_ino[i] = BPF_CORE_READ(ino, i_ino);
  }
  struct file *exe = BPF_CORE_READ(mm, exe_file);
  e->exe_ino = BPF_CORE_READ(exe, f_inode, i_ino);
  e->exe_dev = BPF_CORE_READ(exe, f_inode, i_sb, s_dev);
  bpf_ringbuf_submit(e, 0);
  return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p) {
  if (ignored_tgid(BPF_CORE_READ(p, tgid))) return 0;
  struct bento_exit_event *e = reserve(sizeof(*e));
  if (!e) return 0;
  fill_header(&e->h, BENTO_EV_EXIT, sizeof(*e), p);
  e->exit_code = BPF_CORE_READ(p, exit_code);
  e->group_dead = BPF_CORE_READ(p, signal, live.counter) == 0;
  bpf_ringbuf_submit(e, 0);
  return 0;
}
