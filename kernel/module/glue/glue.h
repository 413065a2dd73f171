/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VFS glue of the kernel host (C: kernel headers are not valid C++). Every VFS call
 * becomes one File Operations API call through the bridge (../bridge.h).
 */
#ifndef BENTO_KERNEL_GLUE_H
#define BENTO_KERNEL_GLUE_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/sched/mm.h>

#include "../bridge.h"

#define BENTO_MAGIC 0x42454e54 /* "BENT": statfs f_type */
#define BENTO_BLOCK_SIZE 4096
#define BENTO_MAX_GROUPS 32

extern atomic_long_t bento_live_allocs;

struct bento_sb_info {
  struct bento_br_fs* fs;
};

struct bento_inode_info {
  /* Lookups the fs counted for this inode (every Entry reply): evict forgets them. */
  atomic64_t nlookup;
  struct timespec64 btime; /* birth time, when the fs keeps one (statx) */
  int has_btime;
  struct inode vfs_inode;
};

/* An open file or directory: the fs's handle and how it was opened. */
struct bento_file {
  u64 fh;
  u32 flags;
  bool direct_io;
};

static inline struct bento_inode_info* BENTO_I(struct inode* inode) {
  return container_of(inode, struct bento_inode_info, vfs_inode);
}

static inline struct bento_br_fs* BENTO_FS(struct super_block* sb) {
  return ((struct bento_sb_info*)sb->s_fs_info)->fs;
}

/* The caller's identity for the fs (its own permission checks and provenance records). */
struct bento_req {
  struct bento_br_req r;
  unsigned int groups[BENTO_MAX_GROUPS];
};
void bento_make_req(struct bento_req* q);

/* Calls into the fs may allocate and do I/O: none of that may recurse into this fs
 * through memory reclaim (evict -> forget -> journal), so each runs in a NOFS scope. */
#define BENTO_NOFS_BEGIN unsigned int bento_nofs_ = memalloc_nofs_save()
#define BENTO_NOFS_END memalloc_nofs_restore(bento_nofs_)

/* inode.c */
extern const struct inode_operations bento_dir_iops;
extern const struct inode_operations bento_file_iops;
extern const struct inode_operations bento_symlink_iops;
extern const struct inode_operations bento_special_iops;
struct inode* bento_iget(struct super_block* sb, const struct bento_br_entry* e);
void bento_fill_inode(struct inode* inode, const struct bento_br_attr* a);
int bento_refresh(struct inode* inode);
int bento_getattr(struct user_namespace* ns, const struct path* path, struct kstat* stat, u32 mask,
                  unsigned int flags);
int bento_setattr(struct user_namespace* ns, struct dentry* dentry, struct iattr* attr);
int bento_update_time(struct inode* inode, struct timespec64* now, int flags);

/* file.c, dir.c */
extern const struct file_operations bento_file_fops;
extern const struct file_operations bento_dir_fops;
extern const struct address_space_operations bento_aops;
int bento_open_common(struct inode* inode, struct file* file, bool dir);

/* xattr.c */
extern const struct xattr_handler* bento_xattr_handlers[];
ssize_t bento_listxattr(struct dentry* dentry, char* buf, size_t size);

#endif
