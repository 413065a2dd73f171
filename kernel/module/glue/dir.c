// SPDX-License-Identifier: GPL-2.0
/*
 * Directories: opendir/releasedir, readdir and fsyncdir. The fs's readdir offsets are
 * stable cookies (0, 1 after ".", 2 after "..", hash key + 3 after an entry), so the
 * file position is the fs's offset and a listing resumes where it stopped even across
 * creates and deletes.
 */
#include <linux/fs.h>

#include "glue.h"

struct bento_dir_ctx {
	struct dir_context *ctx;
};

static int bento_fill(void *p, const char *name, unsigned int len, unsigned long long ino,
		      unsigned int mode, unsigned long long next_offset)
{
	struct bento_dir_ctx *dc = p;

	if (!dir_emit(dc->ctx, name, len, ino, (mode & S_IFMT) >> 12))
		return 0;
	dc->ctx->pos = next_offset;
	return 1;
}

static int bento_dir_open(struct inode *inode, struct file *file)
{
	return bento_open_common(inode, file, true);
}

static int bento_dir_release(struct inode *inode, struct file *file)
{
	struct bento_file *bf = file->private_data;
	struct bento_req q;

	if (!bf)
		return 0;
	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		bento_g_release(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, bf->fh, bf->flags, 1);
		BENTO_NOFS_END;
	}
	kfree(bf);
	return 0;
}

static int bento_iterate(struct file *file, struct dir_context *ctx)
{
	struct inode *inode = file_inode(file);
	struct bento_file *bf = file->private_data;
	struct bento_dir_ctx dc = { .ctx = ctx };
	struct bento_req q;
	int err;

	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_readdir(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, bf ? bf->fh : 0,
				       ctx->pos, bento_fill, &dc);
		BENTO_NOFS_END;
	}
	return err;
}

static int bento_dir_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	struct inode *inode = file_inode(file);
	struct bento_file *bf = file->private_data;
	struct bento_req q;
	int err;

	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_fsync(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, bf ? bf->fh : 0,
				     datasync, 1);
		BENTO_NOFS_END;
	}
	return err;
}

const struct file_operations bento_dir_fops = {
	.llseek = generic_file_llseek,
	.read = generic_read_dir,
	.iterate_shared = bento_iterate,
	.open = bento_dir_open,
	.release = bento_dir_release,
	.fsync = bento_dir_fsync,
	.unlocked_ioctl = bento_ioctl,
};
