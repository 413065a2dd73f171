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

/* The fs's getflags, or setflags of *flags; -ENOIOCTLCMD when the fs keeps no flags (the
 * VFS then says ENOTTY, as for any fs without chattr support). */
static int fs_flags(struct inode *inode, bool set, unsigned int *flags)
{
	struct bento_sb_info *sbi = BENTO_FS(inode->i_sb);
	struct bento_req q;
	int err;

	bento_make_req(&q);
	if (set)
		err = BENTO_NOFS_CALL(bento_g_setflags(sbi, &q.r, inode->i_ino, *flags));
	else
		err = BENTO_NOFS_CALL(bento_g_getflags(sbi, &q.r, inode->i_ino, flags));
	return (err == -ENOTTY || err == -ENOSYS) ? -ENOIOCTLCMD : err;
}

/* A new VFS inode: its flags from the fs (none when the fs has no chattr flags). */
void bento_load_flags(struct inode *inode)
{
	unsigned int flags = 0;

	if (!fs_flags(inode, false, &flags))
		set_vfs_flags(inode, flags);
}

int bento_fileattr_get(struct dentry *dentry, struct fileattr *fa)
{
	unsigned int flags = 0;
	int err = fs_flags(d_inode(dentry), false, &flags);

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
	unsigned int flags = fa->flags;
	int err;

	if (fileattr_has_fsx(fa))
		return -EOPNOTSUPP;
	err = fs_flags(inode, true, &flags);
	if (err)
		return err;
	set_vfs_flags(inode, flags);
	bento_refresh(inode);
	return 0;
}
