// memfs: the framework's example file system. Everything lives in memory (the block device
// is only remembered); it is complete enough for cp, tar, git and compilers, and it
// live-upgrades into a rebuilt memfs without losing anything (state.h). It lets the kernel
// cache writes unless mounted with `-o writethrough`.
//
// Locking, outermost first:
//  1. ns_ (RwLock): the inode table, every directory, nlink and "..". Operations that change
//     names (create, mknod, mkdir, symlink, link, unlink, rmdir, rename, and freeing an inode)
//     hold it for writing; everything else holds it for reading, which keeps every Inode*
//     alive for the call. Name changes are therefore serialised file-system-wide, which also
//     makes rename free of lock-ordering problems; data and attribute operations run in
//     parallel.
//  2. handles_ (Mutex): the open-handle table; held briefly, never while taking another lock.
//  3. Inode::body (RwLock): one inode's attributes and data. Read-lock paths take at most one
//     at a time. Write-lock paths on ns_ use body.unlocked(): nobody else can hold a body lock
//     then, because every body lock is taken under ns_.
#pragma once

#include <bento/file_operations.h>
#include <bento/sync.h>

#include <atomic>

#include "inode.h"
#include "state.h"

namespace memfs {

class Memfs final : public bento::FileOperations {
 public:
  // How long the kernel may cache names and attributes: only this fs changes its data.
  static constexpr uint32_t kTimeoutMs = 1000;
  // statfs capacity (the fs has no real limit but memory).
  static constexpr uint64_t kTotalBlocks = uint64_t{1} << 28;  // 1 TiB of 4 KiB blocks
  static constexpr uint64_t kTotalFiles = uint64_t{1} << 24;

  Memfs() = default;
  ~Memfs() override = default;

  bento::Status init(const bento::Request& req, bento::BlockDevice& dev,
                     const bento::InitArgs& args) override;
  void destroy(const bento::Request& req) override;
  bento::Capabilities capabilities() const override;

  bento::Result<bento::Entry> lookup(const bento::Request& req, bento::Ino parent,
                                     std::string_view name) override;
  void forget(bento::Ino ino, uint64_t nlookup) override;
  bento::Result<bento::Attr> getattr(const bento::Request& req, bento::Ino ino,
                                     bento::Fh fh) override;
  bento::Result<bento::Attr> setattr(const bento::Request& req, bento::Ino ino,
                                     const bento::SetAttr& sa, bento::Fh fh) override;
  bento::Result<size_t> readlink(const bento::Request& req, bento::Ino ino,
                                 std::span<char> buf) override;
  bento::Result<bento::Entry> mknod(const bento::Request& req, bento::Ino parent,
                                    std::string_view name, uint32_t mode, uint32_t rdev) override;
  bento::Result<bento::Entry> mkdir(const bento::Request& req, bento::Ino parent,
                                    std::string_view name, uint32_t mode) override;
  bento::Status unlink(const bento::Request& req, bento::Ino parent,
                       std::string_view name) override;
  bento::Status rmdir(const bento::Request& req, bento::Ino parent, std::string_view name) override;
  bento::Result<bento::Entry> symlink(const bento::Request& req, std::string_view target,
                                      bento::Ino parent, std::string_view name) override;
  bento::Status rename(const bento::Request& req, bento::Ino parent, std::string_view name,
                       bento::Ino newparent, std::string_view newname, uint32_t flags) override;
  bento::Result<bento::Entry> link(const bento::Request& req, bento::Ino ino, bento::Ino newparent,
                                   std::string_view newname) override;

  bento::Result<bento::OpenReply> open(const bento::Request& req, bento::Ino ino,
                                       uint32_t flags) override;
  bento::Result<size_t> read(const bento::Request& req, bento::Ino ino, bento::Fh fh, uint64_t off,
                             std::span<uint8_t> buf) override;
  bento::Result<size_t> write(const bento::Request& req, bento::Ino ino, bento::Fh fh, uint64_t off,
                              std::span<const uint8_t> buf) override;
  bento::Status release(const bento::Request& req, bento::Ino ino, bento::Fh fh,
                        uint32_t flags) override;
  bento::Status fsync(const bento::Request& req, bento::Ino ino, bento::Fh fh,
                      bool datasync) override;
  bento::Result<bento::CreateReply> create(const bento::Request& req, bento::Ino parent,
                                           std::string_view name, uint32_t mode,
                                           uint32_t flags) override;

  bento::Result<bento::OpenReply> opendir(const bento::Request& req, bento::Ino ino,
                                          uint32_t flags) override;
  bento::Status readdir(const bento::Request& req, bento::Ino ino, bento::Fh fh, uint64_t offset,
                        bento::DirFiller& filler) override;
  bento::Status releasedir(const bento::Request& req, bento::Ino ino, bento::Fh fh) override;
  bento::Status fsyncdir(const bento::Request& req, bento::Ino ino, bento::Fh fh,
                         bool datasync) override;

  bento::Result<bento::StatFs> statfs(const bento::Request& req, bento::Ino ino) override;
  bento::Status access(const bento::Request& req, bento::Ino ino, uint32_t mask) override;

  bento::Status setxattr(const bento::Request& req, bento::Ino ino, std::string_view name,
                         std::span<const uint8_t> value, uint32_t flags) override;
  bento::Result<size_t> getxattr(const bento::Request& req, bento::Ino ino, std::string_view name,
                                 std::span<uint8_t> buf) override;
  bento::Result<size_t> listxattr(const bento::Request& req, bento::Ino ino,
                                  std::span<char> buf) override;
  bento::Status removexattr(const bento::Request& req, bento::Ino ino,
                            std::string_view name) override;

  bento::Result<bento::TransferState> update_prepare() override;
  bento::Status update_transfer(bento::TransferState& state, bento::BlockDevice& dev) override;

 private:
  struct Namespace {
    InodeTable inodes;
    uint64_t next_ino = bento::kRootIno + 1;
    uint64_t next_generation = 1;
  };

  static Inode* find(const Namespace& ns, bento::Ino ino);
  static bento::Result<Inode*> find_dir(const Namespace& ns, bento::Ino ino);
  bento::Entry entry_of(Inode& in, const InodeBody& b) const;
  bento::Result<Inode*> new_node(Namespace& ns, const bento::Request& req, Inode* parent,
                                 std::string_view name, uint32_t mode, uint32_t rdev,
                                 std::string_view target);
  bento::Result<bento::Entry> make_node(const bento::Request& req, bento::Ino parent,
                                        std::string_view name, uint32_t mode, uint32_t rdev,
                                        std::string_view target);
  bento::Result<bento::Fh> add_handle(Inode* in, uint32_t flags, bool dir);
  bento::Result<Handle> get_handle(bento::Fh fh, bento::Ino ino);
  bento::Status drop_handle(bento::Ino ino, bento::Fh fh, bool dir);
  // Frees `in` when nothing refers to it any more (namespace lock held for writing).
  void reap_locked(Namespace& ns, Inode* in);
  // Takes the namespace write lock and reaps `ino` if it is still unreferenced.
  void reap(bento::Ino ino);
  void adopt(MemfsStateV1& st);

  bento::RwLock<Namespace> ns_;
  bento::Mutex<HandleTable> handles_;
  PageCounter pages_used_{0};
  bento::BlockDevice* dev_ = nullptr;
  // Mount option "writethrough" turns it off: every write then reaches the fs, as with
  // Bento-fs (the bench's like-for-like FUSE floor).
  bool writeback_cache_ = true;
};

}  // namespace memfs
