// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX ACLs: the fs keeps them as its system.posix_acl_access / _default xattrs (the
 * Linux xattr encoding) and applies them itself (permission checks, inheritance on
 * create, chmod), as under FUSE with FUSE_POSIX_ACL. The VFS gets them through
 * ->get_acl (cached in the inode, for generic_permission) and changes them through
 * ->set_acl (the posix_acl xattr handlers, setfacl). The mount is SB_POSIXACL when the fs
 * says it keeps ACLs and applies the umask (bento_br_caps), so the VFS leaves the umask
 * to it: a directory's default ACL replaces the umask.
 */
#include <linux/fs.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <linux/slab.h>
#include <linux/xattr.h>

#include "glue.h"

static const char *acl_name(int type)
{
	return type == ACL_TYPE_ACCESS ? XATTR_NAME_POSIX_ACL_ACCESS : XATTR_NAME_POSIX_ACL_DEFAULT;
}

struct posix_acl *bento_get_acl(struct inode *inode, int type, bool rcu)
{
	struct bento_sb_info *sbi = BENTO_FS(inode->i_sb);
	struct posix_acl *acl;
	struct bento_req q;
	void *buf;
	long n;

	if (rcu)
		return ERR_PTR(-ECHILD);
	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		n = bento_g_getxattr(sbi, &q.r, inode->i_ino, acl_name(type), NULL, 0);
		BENTO_NOFS_END;
	}
	if (n == -ENODATA || n == -ENOSYS || n == -EOPNOTSUPP || n == 0)
		return NULL;
	if (n < 0)
		return ERR_PTR(n);
	buf = kmalloc(n, GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	{
		BENTO_NOFS_BEGIN;
		n = bento_g_getxattr(sbi, &q.r, inode->i_ino, acl_name(type), buf, n);
		BENTO_NOFS_END;
	}
	if (n == -ENODATA)
		acl = NULL;
	else if (n < 0)
		acl = ERR_PTR(n); /* ERANGE: changed between the calls; the next lookup retries */
	else
		acl = posix_acl_from_xattr(&init_user_ns, buf, n);
	kfree(buf);
	return acl;
}

/* The VFS checked ownership (inode_owner_or_capable) and the ACL's validity; the fs checks
 * again and updates the mode from an access ACL itself. */
int bento_set_acl(struct user_namespace *ns, struct inode *inode, struct posix_acl *acl, int type)
{
	struct bento_sb_info *sbi = BENTO_FS(inode->i_sb);
	struct bento_req q;
	void *buf = NULL;
	size_t size = 0;
	int err;

	if (acl) {
		size = posix_acl_xattr_size(acl->a_count);
		buf = kmalloc(size, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		err = posix_acl_to_xattr(&init_user_ns, acl, buf, size);
		if (err < 0) {
			kfree(buf);
			return err;
		}
	}
	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		if (acl)
			err = bento_g_setxattr(sbi, &q.r, inode->i_ino, acl_name(type), buf, size, 0);
		else
			err = bento_g_removexattr(sbi, &q.r, inode->i_ino, acl_name(type));
		BENTO_NOFS_END;
	}
	kfree(buf);
	if (!acl && err == -ENODATA)
		err = 0;
	/* The fs may keep less than it was given (an access ACL the mode says all of). */
	forget_cached_acl(inode, type);
	if (!err)
		bento_refresh(inode);
	return err;
}
