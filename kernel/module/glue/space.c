// SPDX-License-Identifier: GPL-2.0
/*
 * Where a file's data is: lseek SEEK_DATA/SEEK_HOLE (the fs's lseek, from its block map)
 * and FIEMAP (the fs's fiemap). A file system without lseek (ENOSYS) is all data, as the
 * VFS's generic_file_llseek says.
 */
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/pagemap.h>

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
