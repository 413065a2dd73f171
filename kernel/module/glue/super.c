// SPDX-License-Identifier: GPL-2.0
/*
 * The `bento` file-system type: mount a block device holding a Bento-fs image, hand it to
 * the fs (init), and the superblock operations (inode cache, evict -> forget, sync_fs,
 * statfs, unmount -> destroy).
 */
#include <linux/blkdev.h>
#include <linux/buffer_head.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/fs_struct.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/statfs.h>
#include <linux/writeback.h>

#include "glue.h"

static struct kmem_cache *bento_inode_cachep;

void bento_kglue_fatal(const char *what)
{
	panic("bento: %s\n", what);
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
		bento_br_forget(sbi->fs, inode->i_ino, n);
		BENTO_NOFS_END;
	}
}

static void bento_put_super(struct super_block *sb)
{
	struct bento_sb_info *sbi = sb->s_fs_info;

	if (sbi && sbi->fs) {
		BENTO_NOFS_BEGIN;
		bento_br_unmount(sbi->fs);
		BENTO_NOFS_END;
		sbi->fs = NULL;
	}
	sb->s_fs_info = NULL;
	kfree(sbi);
}

/* Writes go through to the fs (no dirty page cache), so syncing is committing the
 * journal: everything the fs has done so far becomes durable. */
static int bento_sync_fs(struct super_block *sb, int wait)
{
	int err;

	if (!wait || sb_rdonly(sb))
		return 0;
	{
		BENTO_NOFS_BEGIN;
		err = bento_br_syncfs(BENTO_FS(sb));
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
		err = bento_br_statfs(BENTO_FS(sb), &q.r, &st);
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

static int bento_fill_super(struct super_block *sb, void *data, int silent)
{
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
	sb->s_fs_info = sbi;
	sb->s_magic = BENTO_MAGIC;
	sb->s_op = &bento_sops;
	sb->s_xattr = bento_xattr_handlers;
	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_time_gran = 1;
	blocks = bdev_nr_bytes(sb->s_bdev) >> 12;
	{
		BENTO_NOFS_BEGIN;
		err = bento_br_mount(sb, blocks, BENTO_BLOCK_SIZE, data ? (const char *)data : "",
				     sb_rdonly(sb), &sbi->fs);
		BENTO_NOFS_END;
	}
	if (err) {
		/* The fs logged what is wrong (foreign or corrupt image, bad option). */
		pr_err("bento: %pg: mount failed (error %d): not a usable %s image\n",
		       sb->s_bdev, err, bento_br_module_name());
		sbi->fs = NULL;
		goto fail;
	}
	/* lookup(root, ".") is the root's entry; it counts a lookup like any other. */
	memset(&q, 0, sizeof(q));
	q.r.groups = q.groups;
	{
		BENTO_NOFS_BEGIN;
		err = bento_br_lookup(sbi->fs, &q.r, 1, ".", 1, &root);
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
	return 0;

fail_unmount:
	/* No root dentry: the VFS will not call put_super, so unmount here. */
	{
		BENTO_NOFS_BEGIN;
		bento_br_unmount(sbi->fs);
		BENTO_NOFS_END;
	}
fail:
	sb->s_fs_info = NULL;
	kfree(sbi);
	return err;
}

static struct dentry *bento_mount(struct file_system_type *type, int flags, const char *dev,
				  void *data)
{
	return mount_bdev(type, flags, dev, data, bento_fill_super);
}

static struct file_system_type bento_fs_type = {
	.owner = THIS_MODULE,
	.name = BENTO_FSTYPE,
	.mount = bento_mount,
	.kill_sb = kill_block_super,
	.fs_flags = FS_REQUIRES_DEV,
};

static int __init bento_init(void)
{
	int err;

	bento_inode_cachep = kmem_cache_create("bento_inode_cache",
					       sizeof(struct bento_inode_info), 0,
					       SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT,
					       bento_inode_init_once);
	if (!bento_inode_cachep)
		return -ENOMEM;
	err = register_filesystem(&bento_fs_type);
	if (err) {
		kmem_cache_destroy(bento_inode_cachep);
		return err;
	}
	pr_info("bento: file system type '%s' registered (%s)\n", BENTO_FSTYPE,
		bento_br_module_name());
	return 0;
}

static void __exit bento_exit(void)
{
	long live;

	unregister_filesystem(&bento_fs_type);
	rcu_barrier(); /* free_inode callbacks */
	kmem_cache_destroy(bento_inode_cachep);
	live = atomic_long_read(&bento_live_allocs);
	if (live != 0)
		pr_err("bento: LEAK: %ld allocations still live at unload\n", live);
	else
		pr_info("bento: unloaded, no allocation left\n");
}

module_init(bento_init);
module_exit(bento_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Bento: a File Operations API file system as a kernel file system");
MODULE_ALIAS_FS(BENTO_FSTYPE);
