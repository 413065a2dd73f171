// SPDX-License-Identifier: GPL-2.0
/*
 * Live upgrade of one mount (BENTO_IOC_UPGRADE, ../bento_ioctl.h): quiesce (the mount's
 * rw_semaphore exclusively: calls in flight finish, new ones wait), the old instance's
 * update_prepare, the new module's instance update_transfer (the same TransferState as the
 * userspace host), swap the mount's module and instance, release. A refusal hands the state
 * back to the old instance, which serves on. Module references: the mount holds one on the
 * module serving it, so the old module can be unloaded once no mount uses it.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "../bento_ioctl.h"
#include "glue.h"

static DEFINE_MUTEX(bento_upgrade_lock); /* one upgrade at a time */

static int bento_upgrade(struct super_block *sb, struct bento_upgrade_req *req)
{
	struct bento_sb_info *sbi = BENTO_FS(sb);
	const struct bento_br_ops *next, *old;
	struct bento_br_state *st = NULL;
	struct bento_br_fs *nfs = NULL, *ofs;
	u64 t0, t1;
	int err, rb;

	req->target[BENTO_UPGRADE_NAME_MAX - 1] = '\0';
	next = bento_find_fs(req->target);
	if (!next)
		return -ENODEV;
	mutex_lock(&bento_upgrade_lock);
	old = sbi->ops;
	strscpy(req->from, old->fs_name(), sizeof(req->from));
	strscpy(req->to, next->fs_name(), sizeof(req->to));
	t0 = ktime_get_ns();
	down_write(&sbi->rw);
	t1 = ktime_get_ns();
	req->wait_ns = t1 - t0;
	{
		BENTO_NOFS_BEGIN;
		err = old->prepare(sbi->fs, &st);
		if (err)
			req->rolled_back = 1; /* nothing was handed on: the old instance serves on */
		if (!err) {
			err = next->start_from(sb, sbi->block_count, BENTO_BLOCK_SIZE, sbi->dev_mem, st,
					       !!(req->flags & BENTO_UPGRADE_TEST_REFUSE), &nfs);
			if (err) {
				rb = old->resume(sbi->fs, sb, sbi->block_count, BENTO_BLOCK_SIZE,
						 sbi->dev_mem, st);
				req->rolled_back = rb == 0;
				if (rb)
					pr_err("bento: %s: ROLLBACK FAILED (error %d): unmount and check the file system\n",
					       sb->s_id, rb);
			}
		}
		BENTO_NOFS_END;
	}
	ofs = sbi->fs;
	if (!err) {
		sbi->ops = next;
		sbi->fs = nfs;
		sbi->upgrades++;
	}
	req->pause_ns = ktime_get_ns() - t1;
	up_write(&sbi->rw);
	req->result = err;
	/* Outside the pause, in this order: the state holder and the retired instance (code
	 * of the old module: joins its retired commit thread), then the old module's
	 * reference (the mount's, moved to the new module). */
	if (st)
		old->state_free(st);
	if (!err) {
		BENTO_NOFS_BEGIN;
		old->retire(ofs);
		BENTO_NOFS_END;
		module_put(old->owner);
		pr_info("bento: %s: upgraded %s -> %s, pause %llu ns\n", sb->s_id, req->from,
			req->to, (unsigned long long)req->pause_ns);
	} else {
		module_put(next->owner);
		pr_info("bento: %s: upgrade to %s refused (error %d)%s\n", sb->s_id, req->to, err,
			req->rolled_back ? ", rolled back" : "");
	}
	mutex_unlock(&bento_upgrade_lock);
	return 0;
}

long bento_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct inode *inode = file_inode(file);
	struct bento_upgrade_req req;
	int err;

	if (cmd != BENTO_IOC_UPGRADE)
		return -ENOTTY;
	if (inode != d_inode(inode->i_sb->s_root))
		return -ENOTTY;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
		return -EFAULT;
	req.result = 0;
	req.rolled_back = 0;
	req.wait_ns = req.pause_ns = 0;
	memset(req.from, 0, sizeof(req.from));
	memset(req.to, 0, sizeof(req.to));
	err = bento_upgrade(inode->i_sb, &req);
	if (err)
		return err;
	if (copy_to_user((void __user *)arg, &req, sizeof(req)))
		return -EFAULT;
	return 0;
}
