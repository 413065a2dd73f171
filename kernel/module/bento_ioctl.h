/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel host's control interface: ioctls on the root directory of a `bento` or
 * `bento_prov` mount (open it O_RDONLY|O_DIRECTORY). Shared by the core module and
 * bentoctl; plain C, fixed-size fields, versioned by the ioctl number (a layout change
 * gets a new number).
 *
 * BENTO_IOC_UPGRADE (CAP_SYS_ADMIN): live-upgrade the mount to the fs module registered
 * as `target` (a file-system type: "bento" = bento_fs.ko, "bento_prov" = bento_prov.ko;
 * the module must be loaded). The ioctl returns 0 when the request was carried out,
 * whatever the fs said; `result` is 0 (upgraded) or the negative errno of the refusal
 * (update_prepare's or update_transfer's), `rolled_back` 1 when the old instance keeps
 * serving (it refused to hand over, or got its state back). -1 with
 * errno: EPERM (not root), ENOTTY (not the mount root), ENODEV (no such module loaded),
 * EFAULT.
 */
#ifndef BENTO_KERNEL_IOCTL_H
#define BENTO_KERNEL_IOCTL_H

#ifdef __KERNEL__
#include <linux/ioctl.h>
#include <linux/types.h>
#else
#include <linux/ioctl.h>
#include <linux/types.h>
#endif

#define BENTO_UPGRADE_NAME_MAX 32

/* flags: a test hook: the new instance is offered an empty state (of no known kind) and
 * refuses it; the rollback path runs for real. */
#define BENTO_UPGRADE_TEST_REFUSE 1u

struct bento_upgrade_req {
  char target[BENTO_UPGRADE_NAME_MAX]; /* in: fs type of the new module */
  __u32 flags;                         /* in: BENTO_UPGRADE_* */
  __s32 result;                        /* out: 0 or -errno (update_prepare/update_transfer) */
  __u32 rolled_back;                   /* out: 1 = the old instance serves on */
  __u32 reserved;
  __s64 wait_ns;                     /* out: waiting for the calls in flight */
  __s64 pause_ns;                    /* out: calls held (prepare, transfer, swap) */
  char from[BENTO_UPGRADE_NAME_MAX]; /* out: module names, e.g. "bento-fs 1.0.0" */
  char to[BENTO_UPGRADE_NAME_MAX];
};

#define BENTO_IOC_UPGRADE _IOWR('B', 0x17, struct bento_upgrade_req)

#endif
