// SPDX-License-Identifier: GPL-2.0
/*
 * Where a file's data is: lseek SEEK_DATA/SEEK_HOLE (the fs's lseek, from its block map)
 * and FIEMAP (the fs's fiemap). A file system without lseek (ENOSYS) is all data, as the
 * VFS's generic_file_llseek says. BENTO_IOC_FIEMAP, the FUSE host's stand-in for FIEMAP
 * (which cannot reach a FUSE fs), is answered too, so `bentoctl fiemap` works on both.
 */
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "glue.h"

static u64 fh_of(struct file *file)
{
	struct bento_file *bf = file->private_data;

	return bf ? bf->fh : 0;
}

loff_t bento_llseek(struct file *file, loff_t off, int whence)
{
	struct inode *inode = file_inode(file);
	unsigned long long at = 0;
	struct bento_req q;
	int err;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return generic_file_llseek(file, off, whence);
	if (off < 0)
		return -ENXIO;
	/* Pages dirtied through a shared mapping are data the fs has not seen yet. */
	err = filemap_write_and_wait(inode->i_mapping);
	if (err)
		return err;
	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_lseek(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, fh_of(file), off,
				     whence, &at);
		BENTO_NOFS_END;
	}
	if (err == -ENOSYS)
		return generic_file_llseek(file, off, whence);
	if (err)
		return err;
	return vfs_setpos(file, at, inode->i_sb->s_maxbytes);
}

int bento_fiemap(struct inode *inode, struct fiemap_extent_info *fi, u64 start, u64 len)
{
	struct bento_br_extent ext[BENTO_BR_FIEMAP_MAX];
	struct bento_req q;
	u64 end;
	long n, i;
	int err;

	err = fiemap_prep(inode, fi, start, &len, FIEMAP_FLAG_SYNC);
	if (err)
		return err;
	end = start + len < start ? U64_MAX : start + len;
	bento_make_req(&q);
	while (start < end) {
		{
			BENTO_NOFS_BEGIN;
			n = bento_g_fiemap(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, start,
					    end - start, ext, BENTO_BR_FIEMAP_MAX);
			BENTO_NOFS_END;
		}
		if (n <= 0)
			return n;
		for (i = 0; i < n; i++) {
			u32 flags = (ext[i].flags & BENTO_BR_EXTENT_LAST) ? FIEMAP_EXTENT_LAST : 0;

			err = fiemap_fill_next_extent(fi, ext[i].logical, ext[i].physical,
						      ext[i].length, flags);
			if (err)
				return err < 0 ? err : 0; /* 1: the caller's array is full */
			if (flags)
				return 0;
		}
		start = ext[n - 1].logical + ext[n - 1].length;
	}
	return 0;
}

/* BENTO_IOC_FIEMAP: the layout of struct bento::BentoFiemap (bento/fiemap_ioctl.h, C++
 * only), version 1 of that ioctl. */
struct bento_fiemap_extent {
	u64 logical, physical, length;
	u32 flags, reserved;
};
#define BENTO_FIEMAP_MAX 32
struct bento_fiemap {
	u64 start, length;
	u32 count, reserved;
	struct bento_fiemap_extent extents[BENTO_FIEMAP_MAX];
};
#define BENTO_IOC_FIEMAP _IOWR('B', 0x42, struct bento_fiemap)

static long bento_ioc_fiemap(struct file *file, void __user *arg)
{
	struct inode *inode = file_inode(file);
	struct bento_br_extent ext[BENTO_BR_FIEMAP_MAX];
	struct bento_fiemap *m;
	struct bento_req q;
	u64 start, end;
	long n = 0, i;
	int err;

	BUILD_BUG_ON(sizeof(struct bento_fiemap) != 24 + 32 * 32);
	m = kmalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	err = -EFAULT;
	if (copy_from_user(m, arg, sizeof(*m)))
		goto out;
	err = filemap_write_and_wait(inode->i_mapping);
	if (err)
		goto out;
	start = m->start;
	end = start + m->length < start ? U64_MAX : start + m->length;
	m->count = 0;
	bento_make_req(&q);
	while (m->count < BENTO_FIEMAP_MAX && start < end) {
		{
			BENTO_NOFS_BEGIN;
			n = bento_g_fiemap(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, start,
					    end - start, ext,
					    min_t(u32, BENTO_BR_FIEMAP_MAX, BENTO_FIEMAP_MAX - m->count));
			BENTO_NOFS_END;
		}
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			struct bento_fiemap_extent *x = &m->extents[m->count++];

			x->logical = ext[i].logical;
			x->physical = ext[i].physical;
			x->length = ext[i].length;
			x->flags = ext[i].flags & BENTO_BR_EXTENT_LAST;
			x->reserved = 0;
		}
		if (ext[n - 1].flags & BENTO_BR_EXTENT_LAST)
			break;
		start = ext[n - 1].logical + ext[n - 1].length;
	}
	err = n < 0 ? n : 0;
	if (!err && copy_to_user(arg, m, sizeof(*m)))
		err = -EFAULT;
out:
	kfree(m);
	return err;
}

long bento_file_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	if (cmd == BENTO_IOC_FIEMAP)
		return bento_ioc_fiemap(file, (void __user *)arg);
	return -ENOTTY;
}
