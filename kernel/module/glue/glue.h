/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VFS glue of the kernel host (C: kernel headers are not valid C++). Every VFS call
 * becomes one File Operations API call through the bridge (../bridge.h).
 */
#ifndef BENTO_KERNEL_GLUE_H
#define BENTO_KERNEL_GLUE_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/rwsem.h>
#include <linux/sched/mm.h>

#include "../bridge.h"

#define BENTO_MAGIC 0x42454e54 /* "BENT": statfs f_type */
#define BENTO_BLOCK_SIZE 4096
#define BENTO_MAX_GROUPS 32

extern atomic_long_t bento_live_allocs;

/* One mount. `ops` and `fs` (the fs module and its instance) change only in a live
 * upgrade, under `rw` held exclusively; every fs call holds it shared (BENTO_CALL), so an
 * upgrade waits for the calls in flight and new calls wait for the upgrade. */
struct bento_sb_info {
  struct rw_semaphore rw;
  const struct bento_br_ops* ops; /* holds a reference on ops->owner */
  struct bento_br_fs* fs;
  void* dev_mem; /* the device object (bento_br_dev_size bytes), handed from module to module */
  u64 block_count;
  u64 upgrades;
};

struct bento_inode_info {
  /* Lookups the fs counted for this inode (every Entry reply): evict forgets them. */
  atomic64_t nlookup;
  struct timespec64 btime; /* birth time, when the fs keeps one (statx) */
  int has_btime;
  /* Shared writable mappings (writeback.c): the handles writeback may write through
   * (wb_files), and wb_rw: ->writepages holds it shared while it writes pages to the fs;
   * whoever changes the file in the fs around the page cache (write-through, fallocate,
   * truncation) holds it exclusively, so a page snapshot taken before never lands after. */
  struct rw_semaphore wb_rw;
  struct list_head wb_files;
  struct inode vfs_inode;
};

/* An open file or directory: the fs's handle and how it was opened. */
struct bento_file {
  u64 fh;
  u32 flags;
  bool direct_io;
  bool wb_listed;           /* on the inode's wb_files (mapped shared and writable) */
  pid_t pid;                /* who mapped it: the writer writeback names to the fs */
  struct list_head wb_link; /* in bento_inode_info.wb_files */
};

static inline struct bento_inode_info* BENTO_I(struct inode* inode) {
  return container_of(inode, struct bento_inode_info, vfs_inode);
}

static inline struct bento_sb_info* BENTO_FS(struct super_block* sb) {
  return (struct bento_sb_info*)sb->s_fs_info;
}

/* One fs call through the mount's current module, with the upgrade lock held shared. */
#define BENTO_CALL(sbi, fn, ...)                          \
  ({                                                      \
    struct bento_sb_info* s__ = (sbi);                    \
    __typeof__(s__->ops->fn(s__->fs, ##__VA_ARGS__)) r__; \
    down_read(&s__->rw);                                  \
    r__ = s__->ops->fn(s__->fs, ##__VA_ARGS__);           \
    up_read(&s__->rw);                                    \
    r__;                                                  \
  })
#define bento_g_create(s, ...) BENTO_CALL(s, create, __VA_ARGS__)
#define bento_g_fallocate(s, ...) BENTO_CALL(s, fallocate, __VA_ARGS__)
#define bento_g_fsync(s, ...) BENTO_CALL(s, fsync, __VA_ARGS__)
#define bento_g_getattr(s, ...) BENTO_CALL(s, getattr, __VA_ARGS__)
#define bento_g_getxattr(s, ...) (long)BENTO_CALL(s, getxattr, __VA_ARGS__)
#define bento_g_link(s, ...) BENTO_CALL(s, link, __VA_ARGS__)
#define bento_g_listxattr(s, ...) (long)BENTO_CALL(s, listxattr, __VA_ARGS__)
#define bento_g_lookup(s, ...) BENTO_CALL(s, lookup, __VA_ARGS__)
#define bento_g_mkdir(s, ...) BENTO_CALL(s, mkdir, __VA_ARGS__)
#define bento_g_mknod(s, ...) BENTO_CALL(s, mknod, __VA_ARGS__)
#define bento_g_open(s, ...) BENTO_CALL(s, open, __VA_ARGS__)
#define bento_g_read(s, ...) (long)BENTO_CALL(s, read, __VA_ARGS__)
#define bento_g_readdir(s, ...) BENTO_CALL(s, readdir, __VA_ARGS__)
#define bento_g_readlink(s, ...) (long)BENTO_CALL(s, readlink, __VA_ARGS__)
#define bento_g_release(s, ...) BENTO_CALL(s, release, __VA_ARGS__)
#define bento_g_removexattr(s, ...) BENTO_CALL(s, removexattr, __VA_ARGS__)
#define bento_g_rename(s, ...) BENTO_CALL(s, rename, __VA_ARGS__)
#define bento_g_rmdir(s, ...) BENTO_CALL(s, rmdir, __VA_ARGS__)
#define bento_g_setattr(s, ...) BENTO_CALL(s, setattr, __VA_ARGS__)
#define bento_g_setxattr(s, ...) BENTO_CALL(s, setxattr, __VA_ARGS__)
#define bento_g_symlink(s, ...) BENTO_CALL(s, symlink, __VA_ARGS__)
#define bento_g_unlink(s, ...) BENTO_CALL(s, unlink, __VA_ARGS__)
#define bento_g_write(s, ...) (long)BENTO_CALL(s, write, __VA_ARGS__)
#define bento_g_statfs(s, ...) BENTO_CALL(s, statfs, __VA_ARGS__)
#define bento_g_syncfs(s) BENTO_CALL(s, syncfs)
#define bento_g_caps(s) BENTO_CALL(s, caps)
#define bento_g_lseek(s, ...) BENTO_CALL(s, lseek, __VA_ARGS__)
#define bento_g_fiemap(s, ...) (long)BENTO_CALL(s, fiemap, __VA_ARGS__)
#define bento_g_getflags(s, ...) BENTO_CALL(s, getflags, __VA_ARGS__)
#define bento_g_setflags(s, ...) BENTO_CALL(s, setflags, __VA_ARGS__)
#define bento_g_tmpfile(s, ...) BENTO_CALL(s, tmpfile, __VA_ARGS__)

static inline void bento_g_forget(struct bento_sb_info* s, u64 ino, u64 n) {
  down_read(&s->rw);
  s->ops->forget(s->fs, ino, n);
  up_read(&s->rw);
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
/* One fs call in such a scope; yields its result. */
#define BENTO_NOFS_CALL(call)     \
  ({                              \
    BENTO_NOFS_BEGIN;             \
    __typeof__(call) r_ = (call); \
    BENTO_NOFS_END;               \
    r_;                           \
  })

/* An open file's state once the fs opened it (open, create, tmpfile): its handle. */
static inline void bento_file_opened(struct file* file, struct bento_file* bf,
                                     const struct bento_br_openrep* o, unsigned int flags) {
  bf->fh = o->fh;
  bf->flags = flags;
  bf->direct_io = o->direct_io;
  file->private_data = bf;
}

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

/* writeback.c: shared writable mappings */
struct writeback_control;
int bento_writepages(struct address_space* mapping, struct writeback_control* wbc);
void bento_wb_add(struct file* file);
int bento_wb_remove(struct file* file);

/* upgrade.c: the live-upgrade ioctl on the mount root (bento_ioctl.h) */
long bento_ioctl(struct file* file, unsigned int cmd, unsigned long arg);
const struct bento_br_ops* bento_find_fs(const char* fstype); /* with a module reference */

/* acl.c, flags.c, space.c */
struct posix_acl* bento_get_acl(struct inode* inode, int type, bool rcu);
int bento_set_acl(struct user_namespace* ns, struct inode* inode, struct posix_acl* acl, int type);
struct fileattr;
void bento_load_flags(struct inode* inode);
int bento_fileattr_get(struct dentry* dentry, struct fileattr* fa);
int bento_fileattr_set(struct user_namespace* ns, struct dentry* dentry, struct fileattr* fa);
struct fiemap_extent_info;
loff_t bento_llseek(struct file* file, loff_t off, int whence);
int bento_fiemap(struct inode* inode, struct fiemap_extent_info* fi, u64 start, u64 len);
long bento_file_ioctl(struct file* file, unsigned int cmd, unsigned long arg);

/* export.c: file handles (open_by_handle_at, NFS), for an fs with export_support */
extern const struct export_operations bento_export_ops;

/* xattr.c */
extern const struct xattr_handler* bento_xattr_handlers[];
ssize_t bento_listxattr(struct dentry* dentry, char* buf, size_t size);

#endif
