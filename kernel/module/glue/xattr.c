// SPDX-License-Identifier: GPL-2.0
/*
 * Extended attributes: user.*, trusted.* and security.* go to the fs under their full
 * names (the VFS checks the namespace's permission rules first: trusted.* needs
 * CAP_SYS_ADMIN). system.posix_acl_* goes through the VFS's ACL handlers to
 * ->get_acl/->set_acl (acl.c), which store them as the fs's xattrs of the same names.
 */
#include <linux/fs.h>
#include <linux/posix_acl_xattr.h>
#include <linux/xattr.h>

#include "glue.h"

static int bento_xattr_get(const struct xattr_handler *h, struct dentry *dentry,
			   struct inode *inode, const char *name, void *buf, size_t size)
{
	struct bento_req q;
	long n;

	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		n = bento_g_getxattr(BENTO_FS(inode->i_sb), &q.r, inode->i_ino,
				      xattr_full_name(h, name), buf, size);
		BENTO_NOFS_END;
	}
	return n;
}

static int bento_xattr_set(const struct xattr_handler *h, struct user_namespace *ns,
			   struct dentry *dentry, struct inode *inode, const char *name,
			   const void *value, size_t size, int flags)
{
	struct bento_req q;
	int err;

	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		if (value)
			err = bento_g_setxattr(BENTO_FS(inode->i_sb), &q.r, inode->i_ino,
						xattr_full_name(h, name), value, size, flags);
		else
			err = bento_g_removexattr(BENTO_FS(inode->i_sb), &q.r, inode->i_ino,
						   xattr_full_name(h, name));
		BENTO_NOFS_END;
	}
	if (!err)
		bento_refresh(inode);
	return err;
}

ssize_t bento_listxattr(struct dentry *dentry, char *buf, size_t size)
{
	struct inode *inode = d_inode(dentry);
	struct bento_req q;
	long n;

	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		n = bento_g_listxattr(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, buf, size);
		BENTO_NOFS_END;
	}
	return n;
}

static const struct xattr_handler bento_user_xattr = {
	.prefix = XATTR_USER_PREFIX,
	.get = bento_xattr_get,
	.set = bento_xattr_set,
};

static const struct xattr_handler bento_trusted_xattr = {
	.prefix = XATTR_TRUSTED_PREFIX,
	.get = bento_xattr_get,
	.set = bento_xattr_set,
};

static const struct xattr_handler bento_security_xattr = {
	.prefix = XATTR_SECURITY_PREFIX,
	.get = bento_xattr_get,
	.set = bento_xattr_set,
};

const struct xattr_handler *bento_xattr_handlers[] = {
	&bento_user_xattr,
	&bento_trusted_xattr,
	&bento_security_xattr,
	&posix_acl_access_xattr_handler,
	&posix_acl_default_xattr_handler,
	NULL,
};
