// SPDX-License-Identifier: GPL-2.0
/*
 * The core module (bento_core.ko): the registry of fs modules, one file-system type per
 * registered module; mount a block device holding a Bento-fs image, hand it to the fs
 * (init), and the superblock operations (inode cache, evict -> forget, sync_fs, statfs,
 * unmount -> destroy).
 */
#include <linux/blkdev.h>
#include <linux/buffer_head.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/fs_struct.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/statfs.h>
#include <linux/writeback.h>

#include "glue.h"

static struct kmem_cache *bento_inode_cachep;
static atomic_t bento_mounts = ATOMIC_INIT(0);

void bento_kglue_fatal(const char *what)
{
	panic("bento: %s\n", what);
}
EXPORT_SYMBOL_GPL(bento_kglue_fatal);

/*
 * The registry: one entry per file-system type a module ever registered. An entry (and its
 * file_system_type, which superblocks point at) lives until the core unloads: a mount an
 * upgrade moved to another module keeps its type after the first module is gone.
 */
struct bento_fstype {
	struct list_head link;
	struct file_system_type fst;
	const struct bento_br_ops *ops; /* NULL while no module provides it */
	char name[32];
};
static LIST_HEAD(bento_fstypes);
static DEFINE_MUTEX(bento_registry_lock);

static struct dentry *bento_mount(struct file_system_type *type, int flags, const char *dev,
				  void *data);

static struct bento_fstype *bento_lookup_fstype(const char *name)
{
	struct bento_fstype *t;

	list_for_each_entry(t, &bento_fstypes, link)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

int bento_register_fs(const struct bento_br_ops *ops)
{
	struct bento_fstype *t;
	int err;

	if (strlen(ops->fstype) >= sizeof(t->name))
		return -ENAMETOOLONG;
	mutex_lock(&bento_registry_lock);
	t = bento_lookup_fstype(ops->fstype);
	if (t && t->ops) {
		mutex_unlock(&bento_registry_lock);
		return -EEXIST;
	}
	if (!t) {
		t = kzalloc(sizeof(*t), GFP_KERNEL);
		if (!t) {
			mutex_unlock(&bento_registry_lock);
			return -ENOMEM;
		}
		strscpy(t->name, ops->fstype, sizeof(t->name));
		t->fst.owner = THIS_MODULE;
		t->fst.name = t->name;
		t->fst.mount = bento_mount;
		t->fst.kill_sb = kill_block_super;
		t->fst.fs_flags = FS_REQUIRES_DEV;
		list_add_tail(&t->link, &bento_fstypes);
	}
	err = register_filesystem(&t->fst);
	if (!err)
		t->ops = ops;
	mutex_unlock(&bento_registry_lock);
	if (!err)
		pr_info("bento: file system type '%s' registered (%s)\n", ops->fstype,
			ops->fs_name());
	return err;
}
EXPORT_SYMBOL_GPL(bento_register_fs);

/* An fs module unloads (no mount holds it). With no mount left anywhere, every allocation
 * the fs made must be gone. */
void bento_unregister_fs(const struct bento_br_ops *ops)
{
	struct bento_fstype *t;
	long live;

	mutex_lock(&bento_registry_lock);
	t = bento_lookup_fstype(ops->fstype);
	if (t && t->ops == ops) {
		unregister_filesystem(&t->fst);
		t->ops = NULL;
	}
	mutex_unlock(&bento_registry_lock);
	if (atomic_read(&bento_mounts) != 0) {
		pr_info("bento: %s unloaded (other mounts live)\n", ops->fstype);
		return;
	}
	live = atomic_long_read(&bento_live_allocs);
	if (live != 0)
		pr_err("bento: LEAK: %ld allocations still live at unload of %s\n", live,
		       ops->fstype);
	else
		pr_info("bento: unloaded, no allocation left (%s)\n", ops->fstype);
}
EXPORT_SYMBOL_GPL(bento_unregister_fs);

/* The module registered as FSTYPE, with a reference on it (NULL: none, or unloading). */
const struct bento_br_ops *bento_find_fs(const char *fstype)
{
	const struct bento_br_ops *ops = NULL;
	struct bento_fstype *t;

	mutex_lock(&bento_registry_lock);
	t = bento_lookup_fstype(fstype);
	if (t && t->ops && try_module_get(t->ops->owner))
		ops = t->ops;
	mutex_unlock(&bento_registry_lock);
	return ops;
}

void bento_make_req(struct bento_req *q)
{
	const struct cred *cred = current_cred();
	struct group_info *gi = cred->group_info;
	unsigned int i, n = 0;

	q->r.uid = from_kuid(&init_user_ns, cred->fsuid);
	q->r.gid = from_kgid(&init_user_ns, cred->fsgid);
	q->r.pid = task_pid_nr(current);
	/* A task past exit_fs() (closing its files at exit) has no fs_struct. */
	q->r.umask = current->fs ? current_umask() : 0;
	if (gi) {
		n = min_t(unsigned int, gi->ngroups, BENTO_MAX_GROUPS);
		for (i = 0; i < n; i++)
			q->groups[i] = from_kgid(&init_user_ns, gi->gid[i]);
	}
	q->r.groups = q->groups;
	q->r.ngroups = n;
}

static struct inode *bento_alloc_inode(struct super_block *sb)
{
	struct bento_inode_info *bi = alloc_inode_sb(sb, bento_inode_cachep, GFP_KERNEL);

	if (!bi)
		return NULL;
	atomic64_set(&bi->nlookup, 0);
	return &bi->vfs_inode;
}

static void bento_free_inode(struct inode *inode)
{
	kmem_cache_free(bento_inode_cachep, BENTO_I(inode));
}

static void bento_inode_init_once(void *p)
{
	struct bento_inode_info *bi = p;

	inode_init_once(&bi->vfs_inode);
	init_rwsem(&bi->wb_rw);
	INIT_LIST_HEAD(&bi->wb_files);
}

/* The VFS lets go of an inode: the fs forgets every lookup it counted for it (an
 * unlinked inode is freed then, once no handle is open either). */
static void bento_evict_inode(struct inode *inode)
{
	struct bento_sb_info *sbi = inode->i_sb->s_fs_info;
	s64 n;

	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
	n = atomic64_xchg(&BENTO_I(inode)->nlookup, 0);
	if (n > 0 && sbi && sbi->fs) {
		BENTO_NOFS_BEGIN;
		bento_g_forget(sbi, inode->i_ino, n);
		BENTO_NOFS_END;
	}
}

static void bento_put_super(struct super_block *sb)
{
	struct bento_sb_info *sbi = sb->s_fs_info;

	if (sbi && sbi->fs) {
		BENTO_NOFS_BEGIN;
		sbi->ops->unmount(sbi->fs);
		BENTO_NOFS_END;
		sbi->fs = NULL;
	}
	sb->s_fs_info = NULL;
	if (sbi) {
		module_put(sbi->ops->owner);
		kfree(sbi->dev_mem);
		kfree(sbi);
		atomic_dec(&bento_mounts);
	}
}

/* Writes go through to the fs, and the VFS wrote the dirty pages of shared writable
 * mappings (writeback.c) before calling this with wait set, so syncing is committing the
 * journal: everything the fs has done so far becomes durable. */
static int bento_sync_fs(struct super_block *sb, int wait)
{
	int err;

	if (!wait || sb_rdonly(sb))
		return 0;
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_syncfs(BENTO_FS(sb));
		BENTO_NOFS_END;
	}
	return err;
}

static int bento_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct super_block *sb = dentry->d_sb;
	struct bento_br_stfs st;
	struct bento_req q;
	int err;

	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_statfs(BENTO_FS(sb), &q.r, &st);
		BENTO_NOFS_END;
	}
	if (err)
		return err;
	buf->f_type = BENTO_MAGIC;
	buf->f_bsize = st.block_size;
	buf->f_frsize = st.block_size;
	buf->f_blocks = st.blocks;
	buf->f_bfree = st.blocks_free;
	buf->f_bavail = st.blocks_avail;
	buf->f_files = st.files;
	buf->f_ffree = st.files_free;
	buf->f_namelen = st.name_max;
	buf->f_fsid = u64_to_fsid(huge_encode_dev(sb->s_bdev->bd_dev));
	return 0;
}

static const struct super_operations bento_sops = {
	.alloc_inode = bento_alloc_inode,
	.free_inode = bento_free_inode,
	.evict_inode = bento_evict_inode,
	.drop_inode = generic_drop_inode,
	.put_super = bento_put_super,
	.sync_fs = bento_sync_fs,
	.statfs = bento_statfs,
};

/* What bento_mount hands to fill_super through mount_bdev. */
struct bento_mount_ctx {
	const struct bento_br_ops *ops; /* with a module reference, taken over by the mount */
	const char *options;
	bool taken;
};

static int bento_fill_super(struct super_block *sb, void *raw, int silent)
{
	struct bento_mount_ctx *ctx = raw;
	const struct bento_br_ops *ops = ctx->ops;
	struct bento_sb_info *sbi;
	struct bento_br_entry root;
	struct bento_req q;
	struct inode *inode;
	u64 blocks;
	int err;

	if (!sb_set_blocksize(sb, BENTO_BLOCK_SIZE)) {
		pr_err("bento: %pg: cannot use %d-byte blocks on this device\n", sb->s_bdev,
		       BENTO_BLOCK_SIZE);
		return -EINVAL;
	}
	sbi = kzalloc(sizeof(*sbi), GFP_KERNEL);
	if (!sbi)
		return -ENOMEM;
	init_rwsem(&sbi->rw);
	sbi->ops = ops;
	sbi->dev_mem = kzalloc(ops->dev_size(), GFP_KERNEL);
	if (!sbi->dev_mem) {
		kfree(sbi);
		return -ENOMEM;
	}
	sb->s_fs_info = sbi;
	sb->s_magic = BENTO_MAGIC;
	sb->s_op = &bento_sops;
	sb->s_xattr = bento_xattr_handlers;
	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_time_gran = 1;
	blocks = bdev_nr_bytes(sb->s_bdev) >> 12;
	sbi->block_count = blocks;
	{
		BENTO_NOFS_BEGIN;
		err = ops->mount(sb, blocks, BENTO_BLOCK_SIZE, sbi->dev_mem,
				 ctx->options ? ctx->options : "", sb_rdonly(sb), &sbi->fs);
		BENTO_NOFS_END;
	}
	if (err) {
		/* The fs logged what is wrong (foreign or corrupt image, bad option). */
		pr_err("bento: %pg: mount failed (error %d): not a usable %s image\n",
		       sb->s_bdev, err, ops->fs_name());
		sbi->fs = NULL;
		goto fail;
	}
	/* An fs that keeps POSIX ACLs and applies the umask itself (acl.c). */
	if (ops->caps(sbi->fs) & BENTO_BR_CAP_POSIX_ACL)
		sb->s_flags |= SB_POSIXACL;
	/* Stable inode numbers and generations, lookup(ino, "."): file handles (export.c). */
	if (ops->caps(sbi->fs) & BENTO_BR_CAP_EXPORT)
		sb->s_export_op = &bento_export_ops;
	/* lookup(root, ".") is the root's entry; it counts a lookup like any other. */
	memset(&q, 0, sizeof(q));
	q.r.groups = q.groups;
	{
		BENTO_NOFS_BEGIN;
		err = ops->lookup(sbi->fs, &q.r, 1, ".", 1, &root);
		BENTO_NOFS_END;
	}
	if (err)
		goto fail_unmount;
	inode = bento_iget(sb, &root);
	if (IS_ERR(inode)) {
		err = PTR_ERR(inode);
		goto fail_unmount;
	}
	sb->s_root = d_make_root(inode);
	if (!sb->s_root) {
		err = -ENOMEM;
		goto fail_unmount;
	}
	/* The mount now holds the module reference (put_super drops it). */
	ctx->taken = true;
	atomic_inc(&bento_mounts);
	return 0;

fail_unmount:
	/* No root dentry: the VFS will not call put_super, so unmount here. */
	{
		BENTO_NOFS_BEGIN;
		ops->unmount(sbi->fs);
		BENTO_NOFS_END;
	}
fail:
	sb->s_fs_info = NULL;
	kfree(sbi->dev_mem);
	kfree(sbi);
	return err;
}

static struct dentry *bento_mount(struct file_system_type *type, int flags, const char *dev,
				  void *data)
{
	struct bento_mount_ctx ctx = { .options = data };
	struct dentry *root;

	ctx.ops = bento_find_fs(type->name);
	if (!ctx.ops)
		return ERR_PTR(-ENODEV);
	root = mount_bdev(type, flags, dev, &ctx, bento_fill_super);
	/* Not taken: failed, or the device was already mounted (that mount has its own). */
	if (!ctx.taken)
		module_put(ctx.ops->owner);
	return root;
}

static int __init bento_init(void)
{
	bento_inode_cachep = kmem_cache_create("bento_inode_cache",
					       sizeof(struct bento_inode_info), 0,
					       SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT,
					       bento_inode_init_once);
	if (!bento_inode_cachep)
		return -ENOMEM;
	pr_info("bento: core loaded (fs modules register their file-system types)\n");
	return 0;
}

static void __exit bento_exit(void)
{
	struct bento_fstype *t, *n;
	long live;

	/* Every fs module is gone (each holds a reference on the core), so is every mount. */
	list_for_each_entry_safe(t, n, &bento_fstypes, link) {
		list_del(&t->link);
		kfree(t);
	}
	rcu_barrier(); /* free_inode callbacks */
	kmem_cache_destroy(bento_inode_cachep);
	live = atomic_long_read(&bento_live_allocs);
	if (live != 0)
		pr_err("bento: LEAK: %ld allocations still live at core unload\n", live);
	else
		pr_info("bento: core unloaded, no allocation left\n");
}

module_init(bento_init);
module_exit(bento_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Bento core: the VFS glue for File Operations API file systems, live upgrade");
