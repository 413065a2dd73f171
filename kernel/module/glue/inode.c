// SPDX-License-Identifier: GPL-2.0
/*
 * Names and attributes: lookup, create/mknod/mkdir/symlink/link, unlink/rmdir, rename,
 * getattr/setattr, readlink. Each VFS call is one fs call; the VFS has checked permissions
 * (generic_permission, may_delete, setattr_prepare) before it, and the fs checks again
 * with the caller's identity (its own rules: sticky directories, ACLs, set-id bits).
 *
 * Attributes: the fs changes attributes the VFS never sees change (a directory's times
 * and link count on create, the target's link count on unlink), so the glue re-reads the
 * attributes of every inode an operation touched, and getattr always asks the fs.
 */
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/namei.h>
#include <linux/pagemap.h>
#include <linux/posix_acl.h>
#include <linux/slab.h>
#include <linux/xattr.h>

#include "glue.h"

static struct timespec64 ts64(long long sec, unsigned int nsec)
{
	struct timespec64 t = { .tv_sec = sec, .tv_nsec = nsec };

	return t;
}

void bento_fill_inode(struct inode *inode, const struct bento_br_attr *a)
{
	inode->i_mode = a->mode;
	set_nlink(inode, a->nlink);
	i_uid_write(inode, a->uid);
	i_gid_write(inode, a->gid);
	inode->i_atime = ts64(a->atime_sec, a->atime_nsec);
	inode->i_mtime = ts64(a->mtime_sec, a->mtime_nsec);
	inode->i_ctime = ts64(a->ctime_sec, a->ctime_nsec);
	inode->i_blocks = a->blocks;
	if (S_ISREG(inode->i_mode) || S_ISLNK(inode->i_mode) || S_ISDIR(inode->i_mode))
		i_size_write(inode, a->size);
	BENTO_I(inode)->btime = ts64(a->btime_sec, a->btime_nsec);
	BENTO_I(inode)->has_btime = a->has_btime;
}

/* The VFS inode for an Entry the fs returned; counts the lookup that Entry carries. */
struct inode *bento_iget(struct super_block *sb, const struct bento_br_entry *e)
{
	struct inode *inode = iget_locked(sb, e->ino);

	if (!inode) {
		BENTO_NOFS_BEGIN;
		bento_g_forget(BENTO_FS(sb), e->ino, 1);
		BENTO_NOFS_END;
		return ERR_PTR(-ENOMEM);
	}
	atomic64_inc(&BENTO_I(inode)->nlookup);
	if (!(inode->i_state & I_NEW)) {
		bento_fill_inode(inode, &e->attr);
		return inode;
	}
	inode->i_generation = e->generation;
	/* The fs keeps mtime/ctime itself (they change with every write it does). */
	inode->i_flags |= S_NOCMTIME;
	bento_fill_inode(inode, &e->attr);
	switch (inode->i_mode & S_IFMT) {
	case S_IFREG:
		inode->i_op = &bento_file_iops;
		inode->i_fop = &bento_file_fops;
		inode->i_mapping->a_ops = &bento_aops;
		break;
	case S_IFDIR:
		inode->i_op = &bento_dir_iops;
		inode->i_fop = &bento_dir_fops;
		break;
	case S_IFLNK:
		inode->i_op = &bento_symlink_iops;
		inode_nohighmem(inode);
		break;
	default:
		inode->i_op = &bento_special_iops;
		init_special_inode(inode, inode->i_mode, new_decode_dev(e->attr.rdev));
	}
	bento_load_flags(inode);
	unlock_new_inode(inode);
	return inode;
}

/* Re-reads an inode's attributes from the fs. */
int bento_refresh(struct inode *inode)
{
	struct bento_br_attr a;
	struct bento_req q;
	int err;

	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_getattr(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, 0, &a);
		BENTO_NOFS_END;
	}
	if (!err)
		bento_fill_inode(inode, &a);
	return err;
}

static struct dentry *bento_lookup(struct inode *dir, struct dentry *dentry, unsigned int flags)
{
	struct bento_br_entry e;
	struct bento_req q;
	struct inode *inode = NULL;
	int err;

	if (dentry->d_name.len > 255)
		return ERR_PTR(-ENAMETOOLONG);
	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_lookup(BENTO_FS(dir->i_sb), &q.r, dir->i_ino, dentry->d_name.name,
				      dentry->d_name.len, &e);
		BENTO_NOFS_END;
	}
	if (err == 0) {
		inode = bento_iget(dir->i_sb, &e);
		if (IS_ERR(inode))
			return ERR_CAST(inode);
	} else if (err != -ENOENT) {
		return ERR_PTR(err);
	}
	return d_splice_alias(inode, dentry);
}

/* After an fs call that returned an Entry: the new name's inode. */
static int bento_instantiate(struct inode *dir, struct dentry *dentry, struct bento_br_entry *e)
{
	struct inode *inode = bento_iget(dir->i_sb, e);

	if (IS_ERR(inode))
		return PTR_ERR(inode);
	d_instantiate(dentry, inode);
	bento_refresh(dir);
	return 0;
}

static int bento_mknod(struct user_namespace *ns, struct inode *dir, struct dentry *dentry,
		       umode_t mode, dev_t rdev)
{
	struct bento_br_entry e;
	struct bento_req q;
	int err;

	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_mknod(BENTO_FS(dir->i_sb), &q.r, dir->i_ino, dentry->d_name.name,
				     dentry->d_name.len, mode, new_encode_dev(rdev), &e);
		BENTO_NOFS_END;
	}
	return err ? err : bento_instantiate(dir, dentry, &e);
}

static int bento_create(struct user_namespace *ns, struct inode *dir, struct dentry *dentry,
			umode_t mode, bool excl)
{
	return bento_mknod(ns, dir, dentry, (mode & ~S_IFMT) | S_IFREG, 0);
}

static int bento_mkdir(struct user_namespace *ns, struct inode *dir, struct dentry *dentry,
		       umode_t mode)
{
	struct bento_br_entry e;
	struct bento_req q;
	int err;

	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_mkdir(BENTO_FS(dir->i_sb), &q.r, dir->i_ino, dentry->d_name.name,
				     dentry->d_name.len, mode | S_IFDIR, &e);
		BENTO_NOFS_END;
	}
	return err ? err : bento_instantiate(dir, dentry, &e);
}

static int bento_symlink(struct user_namespace *ns, struct inode *dir, struct dentry *dentry,
			 const char *target)
{
	struct bento_br_entry e;
	struct bento_req q;
	int err;

	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_symlink(BENTO_FS(dir->i_sb), &q.r, target, strlen(target),
				       dir->i_ino, dentry->d_name.name, dentry->d_name.len, &e);
		BENTO_NOFS_END;
	}
	return err ? err : bento_instantiate(dir, dentry, &e);
}

static int bento_link(struct dentry *old, struct inode *dir, struct dentry *dentry)
{
	struct inode *inode = d_inode(old);
	struct bento_br_entry e;
	struct bento_req q;
	int err;

	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_link(BENTO_FS(dir->i_sb), &q.r, inode->i_ino, dir->i_ino,
				    dentry->d_name.name, dentry->d_name.len, &e);
		BENTO_NOFS_END;
	}
	/* The Entry is the same inode: bento_iget takes the reference the dentry keeps. */
	return err ? err : bento_instantiate(dir, dentry, &e);
}

static int bento_remove(struct inode *dir, struct dentry *dentry, bool is_dir)
{
	struct inode *inode = d_inode(dentry);
	struct bento_req q;
	int err;

	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		if (is_dir)
			err = bento_g_rmdir(BENTO_FS(dir->i_sb), &q.r, dir->i_ino,
					     dentry->d_name.name, dentry->d_name.len);
		else
			err = bento_g_unlink(BENTO_FS(dir->i_sb), &q.r, dir->i_ino,
					      dentry->d_name.name, dentry->d_name.len);
		BENTO_NOFS_END;
	}
	if (err)
		return err;
	if (is_dir || bento_refresh(inode))
		clear_nlink(inode);
	bento_refresh(dir);
	return 0;
}

static int bento_unlink(struct inode *dir, struct dentry *dentry)
{
	return bento_remove(dir, dentry, false);
}

static int bento_rmdir(struct inode *dir, struct dentry *dentry)
{
	return bento_remove(dir, dentry, true);
}

static int bento_rename(struct user_namespace *ns, struct inode *old_dir,
			struct dentry *old_dentry, struct inode *new_dir,
			struct dentry *new_dentry, unsigned int flags)
{
	struct inode *target = d_inode(new_dentry);
	struct bento_req q;
	int err;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL; /* RENAME_WHITEOUT: no whiteouts in Bento-fs */
	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_rename(BENTO_FS(old_dir->i_sb), &q.r, old_dir->i_ino,
				      old_dentry->d_name.name, old_dentry->d_name.len,
				      new_dir->i_ino, new_dentry->d_name.name,
				      new_dentry->d_name.len, flags);
		BENTO_NOFS_END;
	}
	if (err)
		return err;
	bento_refresh(d_inode(old_dentry));
	if (target && bento_refresh(target))
		clear_nlink(target);
	bento_refresh(old_dir);
	if (new_dir != old_dir)
		bento_refresh(new_dir);
	return 0;
}

/* O_CREAT opens: create and open in one fs call (create), as FUSE does. */
static int bento_atomic_open(struct inode *dir, struct dentry *dentry, struct file *file,
			     unsigned int flags, umode_t mode)
{
	struct dentry *res = NULL;
	struct bento_br_entry e;
	struct bento_br_openrep o;
	struct bento_file *bf;
	struct inode *inode;
	struct bento_req q;
	int err;

	if (d_in_lookup(dentry)) {
		res = bento_lookup(dir, dentry, 0);
		if (IS_ERR(res))
			return PTR_ERR(res);
		if (res)
			dentry = res;
	}
	if (!(flags & O_CREAT) || d_really_is_positive(dentry))
		return finish_no_open(file, res);

	file->f_mode |= FMODE_CREATED;
	bf = kzalloc(sizeof(*bf), GFP_KERNEL);
	err = -ENOMEM;
	if (!bf)
		goto out;
	bento_make_req(&q);
	err = BENTO_NOFS_CALL(bento_g_create(BENTO_FS(dir->i_sb), &q.r, dir->i_ino,
					     dentry->d_name.name, dentry->d_name.len,
					     (mode & ~S_IFMT) | S_IFREG,
					     flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC), &e, &o));
	if (err) {
		kfree(bf);
		goto out;
	}
	inode = bento_iget(dir->i_sb, &e);
	if (IS_ERR(inode)) {
		err = PTR_ERR(inode);
		goto out_release;
	}
	d_instantiate(dentry, inode);
	bento_refresh(dir);
	bento_file_opened(file, bf, &o, flags);
	err = finish_open(file, dentry, generic_file_open);
	if (err) {
		file->private_data = NULL;
		goto out_release;
	}
	goto out;

out_release:
	BENTO_NOFS_CALL(bento_g_release(BENTO_FS(dir->i_sb), &q.r, e.ino, o.fh, flags, 0));
	kfree(bf);
out:
	dput(res);
	return err;
}

/* O_TMPFILE: an unnamed file, created and opened in one fs call (tmpfile). */
static int bento_tmpfile(struct user_namespace *ns, struct inode *dir, struct file *file,
			 umode_t mode)
{
	unsigned int flags = file->f_flags & ~(O_CREAT | O_NOCTTY | O_TRUNC);
	struct bento_br_entry e;
	struct bento_br_openrep o;
	struct bento_file *bf;
	struct inode *inode;
	struct bento_req q;
	int err;

	bf = kzalloc(sizeof(*bf), GFP_KERNEL);
	if (!bf)
		return -ENOMEM;
	bento_make_req(&q);
	err = BENTO_NOFS_CALL(bento_g_tmpfile(BENTO_FS(dir->i_sb), &q.r, dir->i_ino,
					      (mode & ~S_IFMT) | S_IFREG, flags, &e, &o));
	if (err) {
		kfree(bf);
		return err;
	}
	inode = bento_iget(dir->i_sb, &e);
	if (IS_ERR(inode)) {
		err = PTR_ERR(inode);
		goto out_release;
	}
	/* d_tmpfile drops the one link an fs-created tmpfile has on other file systems. */
	set_nlink(inode, 1);
	d_tmpfile(file, inode);
	bento_file_opened(file, bf, &o, flags);
	/* generic_file_open, not ->open: the fs opened the file already. */
	err = finish_open(file, file->f_path.dentry, generic_file_open);
	if (!err)
		return 0;
	file->private_data = NULL;
out_release:
	BENTO_NOFS_CALL(bento_g_release(BENTO_FS(dir->i_sb), &q.r, e.ino, o.fh, flags, 0));
	kfree(bf);
	return err;
}

int bento_getattr(struct user_namespace *ns, const struct path *path, struct kstat *stat,
		  u32 mask, unsigned int flags)
{
	struct inode *inode = d_inode(path->dentry);
	int err = bento_refresh(inode);

	if (err)
		return err;
	generic_fillattr(ns, inode, stat);
	/* The chattr flags mirrored in the inode (flags.c), as ext4 reports them. */
	if (IS_APPEND(inode))
		stat->attributes |= STATX_ATTR_APPEND;
	if (IS_IMMUTABLE(inode))
		stat->attributes |= STATX_ATTR_IMMUTABLE;
	stat->attributes_mask |= STATX_ATTR_APPEND | STATX_ATTR_IMMUTABLE;
	if (BENTO_I(inode)->has_btime) {
		stat->btime = BENTO_I(inode)->btime;
		stat->result_mask |= STATX_BTIME;
	}
	return 0;
}

static void set_time(long long *sec, unsigned int *nsec, struct timespec64 t)
{
	*sec = t.tv_sec;
	*nsec = t.tv_nsec;
}

int bento_setattr(struct user_namespace *ns, struct dentry *dentry, struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	struct bento_br_sattr sa;
	struct bento_br_attr a;
	struct bento_req q;
	u64 fh = 0;
	int err;

	err = setattr_prepare(ns, dentry, attr);
	if (err)
		return err;
	memset(&sa, 0, sizeof(sa));
	if (attr->ia_valid & ATTR_MODE) {
		sa.valid |= 1;
		sa.mode = attr->ia_mode;
	}
	if (attr->ia_valid & ATTR_UID) {
		sa.valid |= 2;
		sa.uid = from_kuid(&init_user_ns, attr->ia_uid);
	}
	if (attr->ia_valid & ATTR_GID) {
		sa.valid |= 4;
		sa.gid = from_kgid(&init_user_ns, attr->ia_gid);
	}
	if (attr->ia_valid & ATTR_SIZE) {
		sa.valid |= 8;
		sa.size = attr->ia_size;
	}
	/* Without ATTR_*_SET the VFS has already put the current time in the iattr. */
	if (attr->ia_valid & ATTR_ATIME) {
		sa.valid |= 16;
		set_time(&sa.atime_sec, &sa.atime_nsec, attr->ia_atime);
	}
	if (attr->ia_valid & ATTR_MTIME) {
		sa.valid |= 32;
		set_time(&sa.mtime_sec, &sa.mtime_nsec, attr->ia_mtime);
	}
	if (attr->ia_valid & ATTR_CTIME) {
		sa.valid |= 1024;
		set_time(&sa.ctime_sec, &sa.ctime_nsec, attr->ia_ctime);
	}
	if (!sa.valid)
		return 0;
	if ((attr->ia_valid & ATTR_FILE) && attr->ia_file && attr->ia_file->private_data)
		fh = ((struct bento_file *)attr->ia_file->private_data)->fh;
	/* Mapped stores first: once the fs has the new size, a page written back past it
	 * would extend the file again. */
	if (attr->ia_valid & ATTR_SIZE) {
		err = filemap_write_and_wait(inode->i_mapping);
		if (err)
			return err;
	}
	bento_make_req(&q);
	if (attr->ia_valid & ATTR_SIZE)
		down_write(&BENTO_I(inode)->wb_rw); /* no writeback between the two truncations */
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_setattr(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, &sa, fh, &a);
		BENTO_NOFS_END;
	}
	if (!err && (attr->ia_valid & ATTR_SIZE)) {
		truncate_pagecache(inode, attr->ia_size);
		i_size_write(inode, a.size);
	}
	if (attr->ia_valid & ATTR_SIZE)
		up_write(&BENTO_I(inode)->wb_rw);
	if (err)
		return err;
	/* chmod rewrote the access ACL's owner, mask and other entries in the fs. */
	if (attr->ia_valid & ATTR_MODE)
		forget_cached_acl(inode, ACL_TYPE_ACCESS);
	bento_fill_inode(inode, &a);
	return 0;
}

/* touch_atime with the mount's atime policy: the fs stores it (as root: the caller may
 * read the file without owning it). */
int bento_update_time(struct inode *inode, struct timespec64 *now, int flags)
{
	struct bento_br_sattr sa;
	struct bento_br_attr a;
	struct bento_br_req root;
	int err;

	memset(&sa, 0, sizeof(sa));
	memset(&root, 0, sizeof(root));
	if (flags & S_ATIME) {
		sa.valid |= 16;
		set_time(&sa.atime_sec, &sa.atime_nsec, *now);
	}
	if (flags & S_MTIME) {
		sa.valid |= 32;
		set_time(&sa.mtime_sec, &sa.mtime_nsec, *now);
	}
	if (flags & S_CTIME) {
		sa.valid |= 1024;
		set_time(&sa.ctime_sec, &sa.ctime_nsec, *now);
	}
	if (!sa.valid)
		return 0;
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_setattr(BENTO_FS(inode->i_sb), &root, inode->i_ino, &sa, 0, &a);
		BENTO_NOFS_END;
	}
	if (!err)
		bento_fill_inode(inode, &a);
	return err;
}

static const char *bento_get_link(struct dentry *dentry, struct inode *inode,
				  struct delayed_call *done)
{
	struct bento_req q;
	char *buf;
	long n;

	if (!dentry)
		return ERR_PTR(-ECHILD);
	buf = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		n = bento_g_readlink(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, buf, PATH_MAX - 1);
		BENTO_NOFS_END;
	}
	if (n < 0) {
		kfree(buf);
		return ERR_PTR(n);
	}
	buf[n] = '\0';
	set_delayed_call(done, kfree_link, buf);
	return buf;
}

const struct inode_operations bento_dir_iops = {
	.lookup = bento_lookup,
	.create = bento_create,
	.atomic_open = bento_atomic_open,
	.link = bento_link,
	.unlink = bento_unlink,
	.symlink = bento_symlink,
	.mkdir = bento_mkdir,
	.rmdir = bento_rmdir,
	.mknod = bento_mknod,
	.rename = bento_rename,
	.tmpfile = bento_tmpfile,
	.getattr = bento_getattr,
	.setattr = bento_setattr,
	.update_time = bento_update_time,
	.listxattr = bento_listxattr,
	.get_acl = bento_get_acl,
	.set_acl = bento_set_acl,
	.fileattr_get = bento_fileattr_get,
	.fileattr_set = bento_fileattr_set,
};

const struct inode_operations bento_file_iops = {
	.getattr = bento_getattr,
	.setattr = bento_setattr,
	.update_time = bento_update_time,
	.listxattr = bento_listxattr,
	.get_acl = bento_get_acl,
	.set_acl = bento_set_acl,
	.fileattr_get = bento_fileattr_get,
	.fileattr_set = bento_fileattr_set,
	.fiemap = bento_fiemap,
};

const struct inode_operations bento_symlink_iops = {
	.get_link = bento_get_link,
	.getattr = bento_getattr,
	.setattr = bento_setattr,
	.listxattr = bento_listxattr,
};

const struct inode_operations bento_special_iops = {
	.getattr = bento_getattr,
	.setattr = bento_setattr,
	.listxattr = bento_listxattr,
	.get_acl = bento_get_acl,
	.set_acl = bento_set_acl,
};
