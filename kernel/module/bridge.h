/* The C/C++ bridge of the kernel host: plain C mirrors of the File Operations API's
 * request, attribute and entry types, and the calls between the C VFS glue (which includes
 * kernel headers, not valid C++) and the C++ side (the fs, which includes no kernel header).
 *
 * Only C basic types appear here, so the same declarations compile both against the
 * kernel headers (the glue) and freestanding libstdc++ (bridge.cc, block_device.cc).
 * Results are 0 or a negative errno; sizes come back as a non-negative long.
 */
#ifndef BENTO_KERNEL_BRIDGE_H
#define BENTO_KERNEL_BRIDGE_H

#ifdef __cplusplus
extern "C" {
#endif

struct bento_br_req {
  unsigned int uid, gid, pid, umask;
  const unsigned int* groups; /* supplementary groups (fs-side permission checks) */
  unsigned int ngroups;
};

struct bento_br_attr {
  unsigned long long ino, size, blocks;
  long long atime_sec, mtime_sec, ctime_sec, btime_sec;
  unsigned int atime_nsec, mtime_nsec, ctime_nsec, btime_nsec;
  unsigned int mode, nlink, uid, gid, rdev, blksize;
  int has_btime;
};

struct bento_br_entry {
  unsigned long long ino, generation;
  struct bento_br_attr attr;
};

/* setattr: valid is a mask of the API's SetAttr bits (kMode 1, kUid 2, kGid 4, kSize 8,
 * kAtime 16, kMtime 32, kCtime 1024). */
struct bento_br_sattr {
  unsigned int valid, mode, uid, gid;
  unsigned long long size;
  long long atime_sec, mtime_sec, ctime_sec;
  unsigned int atime_nsec, mtime_nsec, ctime_nsec;
};

struct bento_br_stfs {
  unsigned long long blocks, blocks_free, blocks_avail, files, files_free;
  unsigned int block_size, name_max;
};

struct bento_br_openrep {
  unsigned long long fh;
  int direct_io, keep_cache, nonseekable;
};

/* One extent of a file's block map (FIEMAP); flags: BENTO_BR_EXTENT_LAST. */
struct bento_br_extent {
  unsigned long long logical, physical, length;
  unsigned int flags;
};
#define BENTO_BR_EXTENT_LAST 1u /* no extent of the file follows (extent_flag::kLast) */
#define BENTO_BR_FIEMAP_MAX 8u  /* extents per bento_br_fiemap call */

/* bento_br_caps: what the fs keeps itself (its Capabilities, fixed at mount). */
#define BENTO_BR_CAP_POSIX_ACL 1u /* posix_acls and applies_umask: the mount is SB_POSIXACL */
#define BENTO_BR_CAP_EXPORT 2u    /* export_support: file handles (glue/export.c) */

/* readdir: the glue's filler; returns 0 to stop (buffer full). */
typedef int (*bento_br_fill_fn)(void* ctx, const char* name, unsigned int len,
                                unsigned long long ino, unsigned int mode,
                                unsigned long long next_offset);

/* One mounted file system: the fs instance and the block device it runs on. */
struct bento_br_fs;

/* ---- implemented by the C++ side (bridge.cc) ---- */
const char* bento_br_module_name(void);
/* Bytes (16-aligned) the glue allocates for the device object of one mount. */
unsigned long bento_br_dev_size(void);
/* Mounts from the block device (a super_block, opaque here); dev_mem: bento_br_dev_size(). */
int bento_br_mount(void* sb, unsigned long long block_count, unsigned int block_size, void* dev_mem,
                   const char* options, int read_only, struct bento_br_fs** out);
void bento_br_unmount(struct bento_br_fs* fs);
int bento_br_syncfs(struct bento_br_fs* fs);

int bento_br_lookup(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long parent,
                    const char* name, unsigned int len, struct bento_br_entry* out);
void bento_br_forget(struct bento_br_fs* fs, unsigned long long ino, unsigned long long n);
int bento_br_getattr(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                     unsigned long long fh, struct bento_br_attr* out);
int bento_br_setattr(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                     const struct bento_br_sattr* sa, unsigned long long fh,
                     struct bento_br_attr* out);
long bento_br_readlink(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                       char* buf, unsigned long size);
int bento_br_mknod(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long parent,
                   const char* name, unsigned int len, unsigned int mode, unsigned int rdev,
                   struct bento_br_entry* out);
int bento_br_mkdir(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long parent,
                   const char* name, unsigned int len, unsigned int mode,
                   struct bento_br_entry* out);
int bento_br_symlink(struct bento_br_fs* fs, const struct bento_br_req* r, const char* target,
                     unsigned int tlen, unsigned long long parent, const char* name,
                     unsigned int len, struct bento_br_entry* out);
int bento_br_link(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                  unsigned long long newparent, const char* name, unsigned int len,
                  struct bento_br_entry* out);
int bento_br_unlink(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long parent,
                    const char* name, unsigned int len);
int bento_br_rmdir(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long parent,
                   const char* name, unsigned int len);
int bento_br_rename(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long parent,
                    const char* name, unsigned int len, unsigned long long newparent,
                    const char* newname, unsigned int newlen, unsigned int flags);
int bento_br_create(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long parent,
                    const char* name, unsigned int len, unsigned int mode, unsigned int flags,
                    struct bento_br_entry* out, struct bento_br_openrep* open);
int bento_br_open(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                  unsigned int flags, int dir, struct bento_br_openrep* out);
int bento_br_release(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                     unsigned long long fh, unsigned int flags, int dir);
long bento_br_read(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                   unsigned long long fh, unsigned long long off, void* buf, unsigned long len);
long bento_br_write(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                    unsigned long long fh, unsigned long long off, const void* buf,
                    unsigned long len);
int bento_br_fsync(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                   unsigned long long fh, int datasync, int dir);
int bento_br_fallocate(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                       unsigned long long fh, unsigned int mode, unsigned long long off,
                       unsigned long long len);
int bento_br_readdir(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                     unsigned long long fh, unsigned long long off, bento_br_fill_fn fill,
                     void* ctx);
int bento_br_statfs(struct bento_br_fs* fs, const struct bento_br_req* r,
                    struct bento_br_stfs* out);
int bento_br_setxattr(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                      const char* name, const void* value, unsigned long size, unsigned int flags);
long bento_br_getxattr(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                       const char* name, void* buf, unsigned long size);
long bento_br_listxattr(struct bento_br_fs* fs, const struct bento_br_req* r,
                        unsigned long long ino, char* buf, unsigned long size);
int bento_br_removexattr(struct bento_br_fs* fs, const struct bento_br_req* r,
                         unsigned long long ino, const char* name);
unsigned int bento_br_caps(struct bento_br_fs* fs);
/* SEEK_DATA (3) / SEEK_HOLE (4): the offset found, in *out. */
int bento_br_lseek(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                   unsigned long long fh, unsigned long long off, unsigned int whence,
                   unsigned long long* out);
/* Up to min(n, BENTO_BR_FIEMAP_MAX) extents overlapping [off, off + len); returns how many. */
long bento_br_fiemap(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                     unsigned long long off, unsigned long long len, struct bento_br_extent* out,
                     unsigned int n);
int bento_br_getflags(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                      unsigned int* out);
int bento_br_setflags(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                      unsigned int flags);
int bento_br_tmpfile(struct bento_br_fs* fs, const struct bento_br_req* r,
                     unsigned long long parent, unsigned int mode, unsigned int flags,
                     struct bento_br_entry* out, struct bento_br_openrep* open);

/* Live upgrade (glue/upgrade.c): the state one instance hands to the next. */
struct bento_br_state;
/* The old instance hands its state on (update_prepare); afterwards it only serves as a
 * rollback target or is retired. */
int bento_br_prepare(struct bento_br_fs* fs, struct bento_br_state** out);
/* A new instance of this module, started from the state (update_transfer) on the mount's
 * device (the device object at dev_mem is rebound to this module's code first). refuse:
 * a test hook, the instance is offered an empty state and refuses it (EPROTO). */
int bento_br_start_from(void* sb, unsigned long long block_count, unsigned int block_size,
                        void* dev_mem, struct bento_br_state* st, int refuse,
                        struct bento_br_fs** out);
/* Rollback: the prepared instance takes its state back (rebinding the device to its code). */
int bento_br_resume(struct bento_br_fs* fs, void* sb, unsigned long long block_count,
                    unsigned int block_size, void* dev_mem, struct bento_br_state* st);
/* Deletes an instance that handed its state on (no destroy(): the state lives on). */
void bento_br_retire(struct bento_br_fs* fs);
void bento_br_state_free(struct bento_br_state* st);

/* ---- one fs module as the core module (bento_core.ko, the glue) sees it ---- */
/* Each fs module (fsmod.c) registers its table with bento_register_fs(); the core
 * registers the file-system type `fstype` for it and calls the fs only through it. */
struct bento_br_ops {
  const char* fstype; /* the registered file-system type, e.g. "bento_prov" */
  void* owner;        /* struct module* of the fs module */
  const char* (*fs_name)(void);
  unsigned long (*dev_size)(void);
  int (*mount)(void* sb, unsigned long long block_count, unsigned int block_size, void* dev_mem,
               const char* options, int read_only, struct bento_br_fs** out);
  void (*unmount)(struct bento_br_fs* fs);
  int (*syncfs)(struct bento_br_fs* fs);
  int (*lookup)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long parent,
                const char* name, unsigned int len, struct bento_br_entry* out);
  void (*forget)(struct bento_br_fs* fs, unsigned long long ino, unsigned long long n);
  int (*getattr)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                 unsigned long long fh, struct bento_br_attr* out);
  int (*setattr)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                 const struct bento_br_sattr* sa, unsigned long long fh, struct bento_br_attr* out);
  long (*readlink)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                   char* buf, unsigned long size);
  int (*mknod)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long parent,
               const char* name, unsigned int len, unsigned int mode, unsigned int rdev,
               struct bento_br_entry* out);
  int (*mkdir)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long parent,
               const char* name, unsigned int len, unsigned int mode, struct bento_br_entry* out);
  int (*symlink)(struct bento_br_fs* fs, const struct bento_br_req* r, const char* target,
                 unsigned int tlen, unsigned long long parent, const char* name, unsigned int len,
                 struct bento_br_entry* out);
  int (*link)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
              unsigned long long newparent, const char* name, unsigned int len,
              struct bento_br_entry* out);
  int (*unlink)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long parent,
                const char* name, unsigned int len);
  int (*rmdir)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long parent,
               const char* name, unsigned int len);
  int (*rename)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long parent,
                const char* name, unsigned int len, unsigned long long newparent,
                const char* newname, unsigned int newlen, unsigned int flags);
  int (*create)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long parent,
                const char* name, unsigned int len, unsigned int mode, unsigned int flags,
                struct bento_br_entry* out, struct bento_br_openrep* open);
  int (*open)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
              unsigned int flags, int dir, struct bento_br_openrep* out);
  int (*release)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                 unsigned long long fh, unsigned int flags, int dir);
  long (*read)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
               unsigned long long fh, unsigned long long off, void* buf, unsigned long len);
  long (*write)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                unsigned long long fh, unsigned long long off, const void* buf, unsigned long len);
  int (*fsync)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
               unsigned long long fh, int datasync, int dir);
  int (*fallocate)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                   unsigned long long fh, unsigned int mode, unsigned long long off,
                   unsigned long long len);
  int (*readdir)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                 unsigned long long fh, unsigned long long off, bento_br_fill_fn fill, void* ctx);
  int (*statfs)(struct bento_br_fs* fs, const struct bento_br_req* r, struct bento_br_stfs* out);
  int (*setxattr)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                  const char* name, const void* value, unsigned long size, unsigned int flags);
  long (*getxattr)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                   const char* name, void* buf, unsigned long size);
  long (*listxattr)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                    char* buf, unsigned long size);
  int (*removexattr)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                     const char* name);
  unsigned int (*caps)(struct bento_br_fs* fs);
  int (*lseek)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
               unsigned long long fh, unsigned long long off, unsigned int whence,
               unsigned long long* out);
  long (*fiemap)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                 unsigned long long off, unsigned long long len, struct bento_br_extent* out,
                 unsigned int n);
  int (*getflags)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                  unsigned int* out);
  int (*setflags)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long ino,
                  unsigned int flags);
  int (*tmpfile)(struct bento_br_fs* fs, const struct bento_br_req* r, unsigned long long parent,
                 unsigned int mode, unsigned int flags, struct bento_br_entry* out,
                 struct bento_br_openrep* open);
  int (*prepare)(struct bento_br_fs* fs, struct bento_br_state** out);
  int (*start_from)(void* sb, unsigned long long block_count, unsigned int block_size,
                    void* dev_mem, struct bento_br_state* st, int refuse, struct bento_br_fs** out);
  int (*resume)(struct bento_br_fs* fs, void* sb, unsigned long long block_count,
                unsigned int block_size, void* dev_mem, struct bento_br_state* st);
  void (*retire)(struct bento_br_fs* fs);
  void (*state_free)(struct bento_br_state* st);
};
int bento_register_fs(const struct bento_br_ops* ops);
void bento_unregister_fs(const struct bento_br_ops* ops);

/* ---- exported by the core (glue/bdev.c): buffer_heads of the mounted device ---- */
/* Returns the buffer_head (opaque) and its data, or NULL (*err set) on failure. */
void* bento_kbd_bread(void* sb, unsigned long long blockno, unsigned char** data, int* err);
void* bento_kbd_getblk(void* sb, unsigned long long blockno, unsigned char** data, int* err);
void bento_kbd_mark_dirty(void* bh);
int bento_kbd_sync(void* bh);
void bento_kbd_release(void* bh);
int bento_kbd_sync_all(void* sb);
int bento_kbd_flush(void* sb);

#ifdef __cplusplus
}
#endif

#endif /* BENTO_KERNEL_BRIDGE_H */
