// SPDX-License-Identifier: GPL-2.0
/*
 * chattr flags (FS_IOC_GETFLAGS/SETFLAGS, FS_IOC_FSGETXATTR/FSSETXATTR): the VFS's
 * fileattr_get/set, answered by the fs's getflags/setflags. The fs enforces the flags in
 * its own operations; the glue also mirrors them into the VFS inode (S_APPEND,
 * S_IMMUTABLE, S_NOATIME) so the VFS refuses early as on ext4: opening an append-only
 * file for writing without O_APPEND, mmap writes and truncation of an immutable file.
 * Only setflags changes them, so they are read once per VFS inode and after each set.
 */
/* fs.h first: fileattr.h does not include what it uses. */
#include <linux/fs.h>
#include <linux/fileattr.h>

#include "glue.h"

static void set_vfs_flags(struct inode *inode, unsigned int flags)
{
	unsigned int f = 0;

	if (flags & FS_APPEND_FL)
		f |= S_APPEND;
	if (flags & FS_IMMUTABLE_FL)
		f |= S_IMMUTABLE;
	if (flags & FS_NOATIME_FL)
		f |= S_NOATIME;
	inode_set_flags(inode, f, S_APPEND | S_IMMUTABLE | S_NOATIME);
}

/* A new VFS inode: its flags from the fs (none when the fs has no chattr flags). */
void bento_load_flags(struct inode *inode)
{
	unsigned int flags = 0;
	struct bento_req q;
	int err;

	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_getflags(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, &flags);
		BENTO_NOFS_END;
	}
	if (!err)
		set_vfs_flags(inode, flags);
}

int bento_fileattr_get(struct dentry *dentry, struct fileattr *fa)
{
	struct inode *inode = d_inode(dentry);
	unsigned int flags = 0;
	struct bento_req q;
	int err;

	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_getflags(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, &flags);
		BENTO_NOFS_END;
	}
	if (err == -ENOTTY || err == -ENOSYS)
		return -ENOIOCTLCMD;
	if (err)
		return err;
	fileattr_fill_flags(fa, flags);
	return 0;
}

/* The VFS checked ownership and CAP_LINUX_IMMUTABLE for 'a'/'i' (fileattr_set_prepare)
 * and merged in the flags the caller's interface cannot express; the fs checks again. */
int bento_fileattr_set(struct user_namespace *ns, struct dentry *dentry, struct fileattr *fa)
{
	struct inode *inode = d_inode(dentry);
	struct bento_req q;
	int err;

	if (fileattr_has_fsx(fa))
		return -EOPNOTSUPP;
	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_setflags(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, fa->flags);
		BENTO_NOFS_END;
	}
	if (err == -ENOTTY || err == -ENOSYS)
		return -ENOIOCTLCMD;
	if (err)
		return err;
	set_vfs_flags(inode, fa->flags);
	bento_refresh(inode);
	return 0;
}
