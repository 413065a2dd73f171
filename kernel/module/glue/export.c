// SPDX-License-Identifier: GPL-2.0
/*
 * File handles: name_to_handle_at/open_by_handle_at and NFS export (export_operations).
 *
 * A handle names an inode by number and generation, as FUSE's do (format below). The
 * glue turns one back into an inode with the fs's lookup(ino, "."), which works on any
 * type of inode and answers from the fs's own tables (the VFS may have evicted the inode
 * long ago; Capabilities::export_support promises stable numbers and generations across
 * remounts), and then compares the generation: a deleted inode (the fs says ESTALE or
 * ENOENT) and an inode number reused by a newer file (another generation) are ESTALE,
 * never another file. Directories are reconnected to the tree through get_parent, the
 * fs's lookup(dir, ".."), and the VFS's default get_name (readdir of the parent).
 *
 * These lookups run as root (with the caller's pid): the VFS already checked that the
 * caller may decode handles (open_by_handle_at needs CAP_DAC_READ_SEARCH; nfsd is the
 * kernel), and reconnecting a directory must not depend on search permission on the way
 * up, as on ext4.
 *
 * Handle format, version 1 (32-bit words, host byte order like every Linux file handle):
 *   type 0x81: ino >> 32, ino & 0xffffffff, generation            (3 words)
 *   type 0x82: the same, then the parent's ino >> 32, ino & 0xffffffff, generation (6)
 * The layout and the type numbers are FUSE's (and later kernels' FILEID_INO64_GEN[_PARENT]);
 * the generation is the low 32 bits of the fs's, as the VFS inode keeps it (i_generation).
 * A change of layout needs new type numbers: handles outlive remounts and reboots (NFS
 * clients keep them).
 */
#include <linux/dcache.h>
#include <linux/exportfs.h>
#include <linux/fs.h>

#include "glue.h"

#define BENTO_FILEID_INO64_GEN 0x81
#define BENTO_FILEID_INO64_GEN_PARENT 0x82
#define BENTO_FH_WORDS 3

static int bento_encode_fh(struct inode *inode, __u32 *fh, int *max_len, struct inode *parent)
{
	int len = parent ? 2 * BENTO_FH_WORDS : BENTO_FH_WORDS;

	if (*max_len < len) {
		*max_len = len; /* the VFS reports the size it needs (EOVERFLOW) */
		return FILEID_INVALID;
	}
	fh[0] = (u64)inode->i_ino >> 32;
	fh[1] = (u64)inode->i_ino & 0xffffffff;
	fh[2] = inode->i_generation;
	if (parent) {
		fh[3] = (u64)parent->i_ino >> 32;
		fh[4] = (u64)parent->i_ino & 0xffffffff;
		fh[5] = parent->i_generation;
	}
	*max_len = len;
	return parent ? BENTO_FILEID_INO64_GEN_PARENT : BENTO_FILEID_INO64_GEN;
}

/* Root's identity, the caller's pid (see the top of the file). */
static void export_req(struct bento_req *q)
{
	bento_make_req(q);
	q->r.uid = 0;
	q->r.gid = 0;
	q->r.ngroups = 0;
}

/* What the fs says of a name that is not there any more: the handle is stale. */
static int stale_or(int err)
{
	return (err == -ENOENT || err == -ESTALE || err == -ENOTDIR || err == -EINVAL) ? -ESTALE :
										     err;
}

/* The dentry of the inode a handle names, if it is still the same file. */
static struct dentry *bento_export_get(struct super_block *sb, u64 ino, u32 gen)
{
	struct bento_br_entry e;
	struct inode *inode;
	struct bento_req q;
	int err;

	if (ino == 0)
		return ERR_PTR(-ESTALE);
	export_req(&q);
	err = BENTO_NOFS_CALL(bento_g_lookup(BENTO_FS(sb), &q.r, ino, ".", 1, &e));
	if (err)
		return ERR_PTR(stale_or(err));
	/* bento_iget takes over the lookup the Entry counted: iput gives it back. */
	inode = bento_iget(sb, &e);
	if (IS_ERR(inode))
		return ERR_CAST(inode);
	if (e.ino != ino || (u32)e.generation != gen || inode->i_generation != gen) {
		iput(inode);
		return ERR_PTR(-ESTALE);
	}
	return d_obtain_alias(inode);
}

static u64 fh_ino(const __u32 *w)
{
	return ((u64)w[0] << 32) | w[1];
}

static struct dentry *bento_fh_to_dentry(struct super_block *sb, struct fid *fid, int fh_len,
					 int fh_type)
{
	if ((fh_type != BENTO_FILEID_INO64_GEN && fh_type != BENTO_FILEID_INO64_GEN_PARENT) ||
	    fh_len < BENTO_FH_WORDS)
		return NULL; /* not ours: the VFS says ESTALE */
	return bento_export_get(sb, fh_ino(fid->raw), fid->raw[2]);
}

static struct dentry *bento_fh_to_parent(struct super_block *sb, struct fid *fid, int fh_len,
					 int fh_type)
{
	if (fh_type != BENTO_FILEID_INO64_GEN_PARENT || fh_len < 2 * BENTO_FH_WORDS)
		return NULL;
	return bento_export_get(sb, fh_ino(fid->raw + 3), fid->raw[5]);
}

/* A directory's parent: the fs's "..". */
static struct dentry *bento_get_parent(struct dentry *child)
{
	struct inode *dir = d_inode(child);
	struct bento_br_entry e;
	struct inode *inode;
	struct bento_req q;
	int err;

	export_req(&q);
	err = BENTO_NOFS_CALL(bento_g_lookup(BENTO_FS(dir->i_sb), &q.r, dir->i_ino, "..", 2, &e));
	if (err)
		return ERR_PTR(stale_or(err));
	inode = bento_iget(dir->i_sb, &e);
	if (IS_ERR(inode))
		return ERR_CAST(inode);
	return d_obtain_alias(inode);
}

const struct export_operations bento_export_ops = {
	.encode_fh = bento_encode_fh,
	.fh_to_dentry = bento_fh_to_dentry,
	.fh_to_parent = bento_fh_to_parent,
	.get_parent = bento_get_parent,
};
