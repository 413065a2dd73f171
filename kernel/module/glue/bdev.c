// SPDX-License-Identifier: GPL-2.0
/*
 * The fs's BlockDevice (../block_device.h) over the mounted device's buffer_heads. The fs
 * block size is the device block size set at mount (sb_set_blocksize), so one fs block is
 * one buffer_head. Ordering is the fs's business: it syncs its commit blocks itself and
 * asks for a flush (REQ_PREFLUSH) as the barrier.
 */
#include <linux/blkdev.h>
#include <linux/buffer_head.h>

#include <linux/module.h>

#include "glue.h"

void *bento_kbd_bread(void *sbp, unsigned long long blockno, unsigned char **data, int *err)
{
	struct super_block *sb = sbp;
	struct buffer_head *bh = sb_bread(sb, blockno);

	if (!bh) {
		*err = EIO;
		return NULL;
	}
	*data = (unsigned char *)bh->b_data;
	return bh;
}
EXPORT_SYMBOL_GPL(bento_kbd_bread);

void *bento_kbd_getblk(void *sbp, unsigned long long blockno, unsigned char **data, int *err)
{
	struct super_block *sb = sbp;
	struct buffer_head *bh = sb_getblk(sb, blockno);

	if (!bh) {
		*err = ENOMEM;
		return NULL;
	}
	/* "Its contents are the cached ones if cached, else zeroes" (block_device.h). */
	lock_buffer(bh);
	if (!buffer_uptodate(bh)) {
		memset(bh->b_data, 0, bh->b_size);
		set_buffer_uptodate(bh);
	}
	unlock_buffer(bh);
	*data = (unsigned char *)bh->b_data;
	return bh;
}
EXPORT_SYMBOL_GPL(bento_kbd_getblk);

void bento_kbd_mark_dirty(void *bh)
{
	mark_buffer_dirty(bh);
}
EXPORT_SYMBOL_GPL(bento_kbd_mark_dirty);

int bento_kbd_sync(void *bhp)
{
	struct buffer_head *bh = bhp;

	if (!buffer_dirty(bh))
		return 0;
	return sync_dirty_buffer(bh);
}
EXPORT_SYMBOL_GPL(bento_kbd_sync);

void bento_kbd_release(void *bh)
{
	brelse(bh);
}
EXPORT_SYMBOL_GPL(bento_kbd_release);

int bento_kbd_sync_all(void *sbp)
{
	struct super_block *sb = sbp;
	int err = sync_blockdev(sb->s_bdev);

	if (err)
		return err;
	return blkdev_issue_flush(sb->s_bdev);
}
EXPORT_SYMBOL_GPL(bento_kbd_sync_all);

int bento_kbd_flush(void *sbp)
{
	struct super_block *sb = sbp;

	return blkdev_issue_flush(sb->s_bdev);
}
EXPORT_SYMBOL_GPL(bento_kbd_flush);
