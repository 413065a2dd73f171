// The C++ half of the kernel host's bridge (bridge.h): converts the C mirrors to the File
// Operations API's types and calls the fs instance of one mount. Includes no kernel header.
#include "bridge.h"

#include <bento/file_operations.h>
#include <bento/memory.h>
#include <bento/module.h>
#include <bento/transfer.h>

#include <new>
#include <span>
#include <string_view>

#include "block_device.h"

extern "C" const bento::ModuleInfo* bento_module_info();

// The device object lives in memory the glue owns (one per mount), so a live upgrade can
// hand it to the next module: each module constructs its own KernelBlockDevice there
// (rebinding its vtable to this module's code) before its instance uses it. The journal
// that travels in the transfer state keeps pointing at the same object.
struct bento_br_fs {
  bento::kernel::KernelBlockDevice* dev = nullptr;
  bento::FileOperations* ops = nullptr;
};

struct bento_br_state {
  bento::TransferState state;
};

namespace {

using bento::Attr;
using bento::Entry;
using bento::Request;

Request req_of(const bento_br_req* r) {
  Request q;
  q.uid = r->uid;
  q.gid = r->gid;
  q.pid = r->pid;
  q.umask = r->umask;
  q.groups = r->groups;
  q.ngroups = r->ngroups;
  return q;
}

std::string_view sv(const char* s, unsigned int len) {
  return std::string_view(s, len);
}

void put_attr(const Attr& a, bento_br_attr* o) {
  o->ino = a.ino;
  o->size = a.size;
  o->blocks = a.blocks;
  o->atime_sec = a.atime.sec;
  o->atime_nsec = a.atime.nsec;
  o->mtime_sec = a.mtime.sec;
  o->mtime_nsec = a.mtime.nsec;
  o->ctime_sec = a.ctime.sec;
  o->ctime_nsec = a.ctime.nsec;
  o->btime_sec = a.btime.sec;
  o->btime_nsec = a.btime.nsec;
  o->has_btime = a.has_btime ? 1 : 0;
  o->mode = a.mode;
  o->nlink = a.nlink;
  o->uid = a.uid;
  o->gid = a.gid;
  o->rdev = a.rdev;
  o->blksize = a.blksize;
}

int put_entry(const bento::Result<Entry>& r, bento_br_entry* o) {
  if (!r.ok()) return -r.error();
  o->ino = r->ino;
  o->generation = r->generation;
  put_attr(r->attr, &o->attr);
  if (o->attr.ino == 0) o->attr.ino = r->ino;
  return 0;
}

int rc(bento::Status s) {
  return s.ok() ? 0 : -s.error();
}

template <typename T>
long size_rc(const bento::Result<T>& r) {
  return r.ok() ? static_cast<long>(*r) : -static_cast<long>(r.error());
}

void put_open(const bento::OpenReply& o, bento_br_openrep* out) {
  out->fh = o.fh;
  out->direct_io = o.direct_io ? 1 : 0;
  out->keep_cache = o.keep_cache ? 1 : 0;
  out->nonseekable = o.nonseekable ? 1 : 0;
}

// readdir: the fs's DirFiller in front of the glue's dir_emit callback.
class Filler final : public bento::DirFiller {
 public:
  Filler(bento_br_fill_fn fn, void* ctx) : fn_(fn), ctx_(ctx) {}
  bool wants_entries() const override { return false; }
  bool add(std::string_view name, bento::Ino ino, uint32_t mode, uint64_t next_offset,
           const Entry*) override {
    return fn_(ctx_, name.data(), static_cast<unsigned int>(name.size()), ino, mode, next_offset) !=
           0;
  }

 private:
  bento_br_fill_fn fn_;
  void* ctx_;
};

}  // namespace

extern "C" {

const char* bento_br_module_name(void) {
  return bento_module_info()->name;
}

unsigned long bento_br_dev_size(void) {
  return sizeof(bento::kernel::KernelBlockDevice);
}

int bento_br_mount(void* sb, unsigned long long block_count, unsigned int block_size, void* dev_mem,
                   const char* options, int read_only, bento_br_fs** out) {
  const bento::ModuleInfo* info = bento_module_info();
  if (info->api_version != bento::kApiVersion) return -EINVAL;
  auto made = bento::make_unique<bento_br_fs>();
  if (!made.ok()) return -ENOMEM;
  bento::UniquePtr<bento_br_fs> fs = std::move(made).value();
  fs->dev = new (dev_mem) bento::kernel::KernelBlockDevice(sb, block_count, block_size);
  fs->ops = info->create();
  if (fs->ops == nullptr) return -ENOMEM;
  bento::InitArgs args;
  size_t n = 0;
  while (options != nullptr && options[n] != '\0') n++;
  args.options = std::string_view(options != nullptr ? options : "", n);
  args.read_only = read_only != 0;
  Request root;
  bento::Status s = fs->ops->init(root, *fs->dev, args);
  if (!s.ok()) {
    info->destroy(fs->ops);
    return -s.error();
  }
  *out = fs.release();
  return 0;
}

void bento_br_unmount(bento_br_fs* fs) {
  Request root;
  fs->ops->destroy(root);
  bento_module_info()->destroy(fs->ops);
  fs->dev->~KernelBlockDevice();
  bento::UniquePtr<bento_br_fs>::adopt(fs).reset();
}

int bento_br_prepare(bento_br_fs* fs, bento_br_state** out) {
  auto holder = bento::make_unique<bento_br_state>();
  if (!holder.ok()) return -ENOMEM;
  auto st = fs->ops->update_prepare();
  if (!st.ok()) return -st.error();
  (*holder)->state = std::move(st).value();
  *out = std::move(holder).value().release();
  return 0;
}

int bento_br_start_from(void* sb, unsigned long long block_count, unsigned int block_size,
                        void* dev_mem, bento_br_state* st, int refuse, bento_br_fs** out) {
  const bento::ModuleInfo* info = bento_module_info();
  if (info->api_version != bento::kApiVersion) return -EINVAL;
  auto made = bento::make_unique<bento_br_fs>();
  if (!made.ok()) return -ENOMEM;
  bento::UniquePtr<bento_br_fs> fs = std::move(made).value();
  fs->ops = info->create();
  if (fs->ops == nullptr) return -ENOMEM;
  fs->dev = new (dev_mem) bento::kernel::KernelBlockDevice(sb, block_count, block_size);
  bento::TransferState empty;  // the test hook: a state of no known kind
  bento::Status s = fs->ops->update_transfer(refuse ? empty : st->state, *fs->dev);
  if (!s.ok()) {
    info->destroy(fs->ops);  // never started: only deleted
    return -s.error();
  }
  *out = fs.release();
  return 0;
}

int bento_br_resume(bento_br_fs* fs, void* sb, unsigned long long block_count,
                    unsigned int block_size, void* dev_mem, bento_br_state* st) {
  fs->dev = new (dev_mem) bento::kernel::KernelBlockDevice(sb, block_count, block_size);
  return rc(fs->ops->update_transfer(st->state, *fs->dev));
}

void bento_br_retire(bento_br_fs* fs) {
  bento_module_info()->destroy(fs->ops);  // joins a retired commit thread (this code)
  bento::UniquePtr<bento_br_fs>::adopt(fs).reset();
}

void bento_br_state_free(bento_br_state* st) {
  bento::UniquePtr<bento_br_state>::adopt(st).reset();
}

int bento_br_syncfs(bento_br_fs* fs) {
  return rc(fs->ops->syncfs(Request()));
}

int bento_br_lookup(bento_br_fs* fs, const bento_br_req* r, unsigned long long parent,
                    const char* name, unsigned int len, bento_br_entry* out) {
  return put_entry(fs->ops->lookup(req_of(r), parent, sv(name, len)), out);
}

void bento_br_forget(bento_br_fs* fs, unsigned long long ino, unsigned long long n) {
  fs->ops->forget(ino, n);
}

int bento_br_getattr(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino,
                     unsigned long long fh, bento_br_attr* out) {
  auto a = fs->ops->getattr(req_of(r), ino, fh);
  if (!a.ok()) return -a.error();
  put_attr(*a, out);
  if (out->ino == 0) out->ino = ino;
  return 0;
}

int bento_br_setattr(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino,
                     const bento_br_sattr* in, unsigned long long fh, bento_br_attr* out) {
  bento::SetAttr sa;
  sa.valid = in->valid;
  sa.mode = in->mode;
  sa.uid = in->uid;
  sa.gid = in->gid;
  sa.size = in->size;
  sa.atime = {in->atime_sec, in->atime_nsec};
  sa.mtime = {in->mtime_sec, in->mtime_nsec};
  sa.ctime = {in->ctime_sec, in->ctime_nsec};
  auto a = fs->ops->setattr(req_of(r), ino, sa, fh);
  if (!a.ok()) return -a.error();
  put_attr(*a, out);
  if (out->ino == 0) out->ino = ino;
  return 0;
}

long bento_br_readlink(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino, char* buf,
                       unsigned long size) {
  return size_rc(fs->ops->readlink(req_of(r), ino, std::span<char>(buf, size)));
}

int bento_br_mknod(bento_br_fs* fs, const bento_br_req* r, unsigned long long parent,
                   const char* name, unsigned int len, unsigned int mode, unsigned int rdev,
                   bento_br_entry* out) {
  return put_entry(fs->ops->mknod(req_of(r), parent, sv(name, len), mode, rdev), out);
}

int bento_br_mkdir(bento_br_fs* fs, const bento_br_req* r, unsigned long long parent,
                   const char* name, unsigned int len, unsigned int mode, bento_br_entry* out) {
  return put_entry(fs->ops->mkdir(req_of(r), parent, sv(name, len), mode), out);
}

int bento_br_symlink(bento_br_fs* fs, const bento_br_req* r, const char* target, unsigned int tlen,
                     unsigned long long parent, const char* name, unsigned int len,
                     bento_br_entry* out) {
  return put_entry(fs->ops->symlink(req_of(r), sv(target, tlen), parent, sv(name, len)), out);
}

int bento_br_link(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino,
                  unsigned long long newparent, const char* name, unsigned int len,
                  bento_br_entry* out) {
  return put_entry(fs->ops->link(req_of(r), ino, newparent, sv(name, len)), out);
}

int bento_br_unlink(bento_br_fs* fs, const bento_br_req* r, unsigned long long parent,
                    const char* name, unsigned int len) {
  return rc(fs->ops->unlink(req_of(r), parent, sv(name, len)));
}

int bento_br_rmdir(bento_br_fs* fs, const bento_br_req* r, unsigned long long parent,
                   const char* name, unsigned int len) {
  return rc(fs->ops->rmdir(req_of(r), parent, sv(name, len)));
}

int bento_br_rename(bento_br_fs* fs, const bento_br_req* r, unsigned long long parent,
                    const char* name, unsigned int len, unsigned long long newparent,
                    const char* newname, unsigned int newlen, unsigned int flags) {
  return rc(
      fs->ops->rename(req_of(r), parent, sv(name, len), newparent, sv(newname, newlen), flags));
}

int bento_br_create(bento_br_fs* fs, const bento_br_req* r, unsigned long long parent,
                    const char* name, unsigned int len, unsigned int mode, unsigned int flags,
                    bento_br_entry* out, bento_br_openrep* open) {
  auto c = fs->ops->create(req_of(r), parent, sv(name, len), mode, flags);
  if (!c.ok()) return -c.error();
  put_open(c->open, open);
  return put_entry(bento::Result<Entry>(c->entry), out);
}

int bento_br_open(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino,
                  unsigned int flags, int dir, bento_br_openrep* out) {
  auto o = dir ? fs->ops->opendir(req_of(r), ino, flags) : fs->ops->open(req_of(r), ino, flags);
  if (!o.ok()) return -o.error();
  put_open(*o, out);
  return 0;
}

int bento_br_release(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino,
                     unsigned long long fh, unsigned int flags, int dir) {
  return rc(dir ? fs->ops->releasedir(req_of(r), ino, fh)
                : fs->ops->release(req_of(r), ino, fh, flags));
}

long bento_br_read(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino,
                   unsigned long long fh, unsigned long long off, void* buf, unsigned long len) {
  return size_rc(
      fs->ops->read(req_of(r), ino, fh, off, std::span<uint8_t>(static_cast<uint8_t*>(buf), len)));
}

long bento_br_write(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino,
                    unsigned long long fh, unsigned long long off, const void* buf,
                    unsigned long len) {
  return size_rc(fs->ops->write(req_of(r), ino, fh, off,
                                std::span<const uint8_t>(static_cast<const uint8_t*>(buf), len)));
}

int bento_br_fsync(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino,
                   unsigned long long fh, int datasync, int dir) {
  return rc(dir ? fs->ops->fsyncdir(req_of(r), ino, fh, datasync != 0)
                : fs->ops->fsync(req_of(r), ino, fh, datasync != 0));
}

int bento_br_fallocate(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino,
                       unsigned long long fh, unsigned int mode, unsigned long long off,
                       unsigned long long len) {
  return rc(fs->ops->fallocate(req_of(r), ino, fh, mode, off, len));
}

int bento_br_readdir(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino,
                     unsigned long long fh, unsigned long long off, bento_br_fill_fn fill,
                     void* ctx) {
  Filler filler(fill, ctx);
  return rc(fs->ops->readdir(req_of(r), ino, fh, off, filler));
}

int bento_br_statfs(bento_br_fs* fs, const bento_br_req* r, bento_br_stfs* out) {
  auto s = fs->ops->statfs(req_of(r), bento::kRootIno);
  if (!s.ok()) return -s.error();
  out->blocks = s->blocks;
  out->blocks_free = s->blocks_free;
  out->blocks_avail = s->blocks_avail;
  out->files = s->files;
  out->files_free = s->files_free;
  out->block_size = s->block_size;
  out->name_max = s->name_max;
  return 0;
}

int bento_br_setxattr(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino,
                      const char* name, const void* value, unsigned long size, unsigned int flags) {
  size_t n = 0;
  while (name[n] != '\0') n++;
  return rc(fs->ops->setxattr(req_of(r), ino, sv(name, static_cast<unsigned int>(n)),
                              std::span<const uint8_t>(static_cast<const uint8_t*>(value), size),
                              flags));
}

long bento_br_getxattr(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino,
                       const char* name, void* buf, unsigned long size) {
  size_t n = 0;
  while (name[n] != '\0') n++;
  return size_rc(fs->ops->getxattr(req_of(r), ino, sv(name, static_cast<unsigned int>(n)),
                                   std::span<uint8_t>(static_cast<uint8_t*>(buf), size)));
}

long bento_br_listxattr(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino, char* buf,
                        unsigned long size) {
  return size_rc(fs->ops->listxattr(req_of(r), ino, std::span<char>(buf, size)));
}

int bento_br_removexattr(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino,
                         const char* name) {
  size_t n = 0;
  while (name[n] != '\0') n++;
  return rc(fs->ops->removexattr(req_of(r), ino, sv(name, static_cast<unsigned int>(n))));
}

unsigned int bento_br_caps(bento_br_fs* fs) {
  const bento::Capabilities c = fs->ops->capabilities();
  return ((c.posix_acls && c.applies_umask) ? BENTO_BR_CAP_POSIX_ACL : 0u) |
         (c.export_support ? BENTO_BR_CAP_EXPORT : 0u);
}

int bento_br_lseek(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino,
                   unsigned long long fh, unsigned long long off, unsigned int whence,
                   unsigned long long* out) {
  auto res = fs->ops->lseek(req_of(r), ino, fh, off, whence);
  if (!res.ok()) return -res.error();
  *out = *res;
  return 0;
}

long bento_br_fiemap(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino,
                     unsigned long long off, unsigned long long len, bento_br_extent* out,
                     unsigned int n) {
  bento::Extent ext[BENTO_BR_FIEMAP_MAX];
  const size_t want = n < BENTO_BR_FIEMAP_MAX ? n : BENTO_BR_FIEMAP_MAX;
  auto got = fs->ops->fiemap(req_of(r), ino, off, len, std::span<bento::Extent>(ext, want));
  if (!got.ok()) return -static_cast<long>(got.error());
  for (size_t i = 0; i < *got && i < want; i++) {
    out[i].logical = ext[i].logical;
    out[i].physical = ext[i].physical;
    out[i].length = ext[i].length;
    out[i].flags = (ext[i].flags & bento::extent_flag::kLast) ? BENTO_BR_EXTENT_LAST : 0u;
  }
  return static_cast<long>(*got < want ? *got : want);
}

int bento_br_getflags(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino,
                      unsigned int* out) {
  auto res = fs->ops->getflags(req_of(r), ino);
  if (!res.ok()) return -res.error();
  *out = *res;
  return 0;
}

int bento_br_setflags(bento_br_fs* fs, const bento_br_req* r, unsigned long long ino,
                      unsigned int flags) {
  return rc(fs->ops->setflags(req_of(r), ino, flags));
}

int bento_br_tmpfile(bento_br_fs* fs, const bento_br_req* r, unsigned long long parent,
                     unsigned int mode, unsigned int flags, bento_br_entry* out,
                     bento_br_openrep* open) {
  auto c = fs->ops->tmpfile(req_of(r), parent, mode, flags);
  if (!c.ok()) return -c.error();
  put_open(c->open, open);
  return put_entry(bento::Result<Entry>(c->entry), out);
}

}  // extern "C"
