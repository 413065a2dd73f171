// The File Operations API: what a Bento file system implements.
//
// The operations of the FUSE low-level API, plus update_prepare/update_transfer for live
// upgrade. The same interface is driven by the userspace host (through FUSE), by the
// kernel host (through the VFS) and by unit tests (directly, in-process).
//
// Contract:
// - Calls arrive concurrently from many threads; the fs does its own locking.
// - Every call carries the caller's identity (Request). Results are errno values, never
//   exceptions. Unimplemented operations return ENOSYS (the defaults below).
// - Exactly one of init() or update_transfer() starts an instance; destroy() ends one
//   that is not handing its state on (after update_prepare() the instance is only
//   destroyed, or given its state back by update_transfer() on rollback).
// - Lookup counting follows FUSE: every Entry returned (lookup, mknod, mkdir, symlink,
//   link, create, readdir "plus" entries) adds one to the inode's lookup count; forget()
//   subtracts. An unlinked inode lives until its count and its open handles reach zero.
// - During update_prepare/update_transfer no other call is in flight.
#pragma once

#include <bento/block_device.h>
#include <bento/fs_types.h>
#include <bento/result.h>
#include <bento/transfer.h>

#include <cstdint>
#include <span>
#include <string_view>

namespace bento {

class FileOperations {
 public:
  virtual ~FileOperations() = default;

  // ---- lifecycle ----
  // Mounts from the device. A corrupt or foreign image fails with EINVAL/EUCLEAN and a
  // log message saying what is wrong.
  virtual Status init(const Request& req, BlockDevice& dev, const InitArgs& args) = 0;
  // Unmount: persist everything.
  virtual void destroy(const Request&) {}
  virtual Capabilities capabilities() const { return {}; }

  // ---- names and attributes ----
  virtual Result<Entry> lookup(const Request&, Ino, std::string_view) { return Err(ENOSYS); }
  virtual void forget(Ino, uint64_t /*nlookup*/) {}
  virtual Result<Attr> getattr(const Request&, Ino, Fh) { return Err(ENOSYS); }
  virtual Result<Attr> setattr(const Request&, Ino, const SetAttr&, Fh) { return Err(ENOSYS); }
  // Copies the target into buf (no NUL); returns its length.
  virtual Result<size_t> readlink(const Request&, Ino, std::span<char>) { return Err(ENOSYS); }
  virtual Result<Entry> mknod(const Request&, Ino /*parent*/, std::string_view, uint32_t /*mode*/,
                              uint32_t /*rdev*/) {
    return Err(ENOSYS);
  }
  virtual Result<Entry> mkdir(const Request&, Ino, std::string_view, uint32_t /*mode*/) {
    return Err(ENOSYS);
  }
  virtual Status unlink(const Request&, Ino, std::string_view) { return Err(ENOSYS); }
  virtual Status rmdir(const Request&, Ino, std::string_view) { return Err(ENOSYS); }
  virtual Result<Entry> symlink(const Request&, std::string_view /*target*/, Ino /*parent*/,
                                std::string_view /*name*/) {
    return Err(ENOSYS);
  }
  virtual Status rename(const Request&, Ino /*parent*/, std::string_view /*name*/,
                        Ino /*newparent*/, std::string_view /*newname*/, uint32_t /*flags*/) {
    return Err(ENOSYS);
  }
  virtual Result<Entry> link(const Request&, Ino, Ino /*newparent*/, std::string_view) {
    return Err(ENOSYS);
  }

  // ---- files ----
  virtual Result<OpenReply> open(const Request&, Ino, uint32_t /*flags*/) { return Err(ENOSYS); }
  // Reads up to buf.size() bytes at off; fewer only at end of file.
  virtual Result<size_t> read(const Request&, Ino, Fh, uint64_t /*off*/, std::span<uint8_t>) {
    return Err(ENOSYS);
  }
  virtual Result<size_t> write(const Request&, Ino, Fh, uint64_t /*off*/,
                               std::span<const uint8_t>) {
    return Err(ENOSYS);
  }
  // Called on every close(2) of a descriptor. A file system with nothing to do there keeps
  // this default: ENOSYS tells the FUSE kernel client to stop sending flush on this
  // connection for good (dirty pages are still written back and their errors reported by
  // close), which saves a round trip per close. For good means across live upgrades too: a
  // module that needs flush must be the one mounted.
  virtual Status flush(const Request&, Ino, Fh, uint64_t /*lock_owner*/) { return Err(ENOSYS); }
  virtual Status release(const Request&, Ino, Fh, uint32_t /*flags*/) { return Status::Ok(); }
  virtual Status fsync(const Request&, Ino, Fh, bool /*datasync*/) { return Err(ENOSYS); }
  virtual Result<CreateReply> create(const Request&, Ino /*parent*/, std::string_view,
                                     uint32_t /*mode*/, uint32_t /*flags*/) {
    return Err(ENOSYS);
  }

  // fallocate(2) through a writable handle: mode is a combination of bento::falloc bits
  // (0: allocate, extending the size; kKeepSize; kPunchHole|kKeepSize; kZeroRange
  // [|kKeepSize]; kCollapseRange; kInsertRange). A file system that lacks a mode answers
  // EOPNOTSUPP (the default for all of them), and the caller may fall back to writing.
  virtual Status fallocate(const Request&, Ino, Fh, uint32_t /*mode*/, uint64_t /*off*/,
                           uint64_t /*len*/) {
    return Err(EOPNOTSUPP);
  }
  // lseek(2) with bento::seek::kData or kHole: the next offset >= off holding data / in a
  // hole (the end of the file counts as a hole). ENXIO when off is at or past the end, or no
  // data follows. ENOSYS (the default): the host treats the whole file as data.
  virtual Result<uint64_t> lseek(const Request&, Ino, Fh, uint64_t /*off*/, uint32_t /*whence*/) {
    return Err(ENOSYS);
  }
  // The file's block map (FIEMAP): the extents overlapping [off, off + len), in order, as
  // many as fit in out; returns how many were written. EOPNOTSUPP: no block map.
  virtual Result<size_t> fiemap(const Request&, Ino, uint64_t /*off*/, uint64_t /*len*/,
                                std::span<Extent> /*out*/) {
    return Err(EOPNOTSUPP);
  }
  // chattr(1) flags (FS_IOC_GETFLAGS/SETFLAGS; Linux FS_*_FL values). A file system keeps
  // the flags it supports and refuses others with EOPNOTSUPP.
  virtual Result<uint32_t> getflags(const Request&, Ino) { return Err(ENOTTY); }
  virtual Status setflags(const Request&, Ino, uint32_t /*flags*/) { return Err(ENOTTY); }

  // O_TMPFILE: an unnamed regular file in directory `parent`, opened with `flags`; the Entry
  // counts as a lookup, like create(). It has no name (nlink 0) until link() gives it one
  // (never when flags has O_EXCL), and is freed once its last handle and lookup are gone.
  virtual Result<CreateReply> tmpfile(const Request&, Ino /*parent*/, uint32_t /*mode*/,
                                      uint32_t /*flags*/) {
    return Err(EOPNOTSUPP);
  }

  // ---- directories ----
  virtual Result<OpenReply> opendir(const Request&, Ino, uint32_t /*flags*/) { return Err(ENOSYS); }
  virtual Status readdir(const Request&, Ino, Fh, uint64_t /*offset*/, DirFiller&) {
    return Err(ENOSYS);
  }
  virtual Status releasedir(const Request&, Ino, Fh) { return Status::Ok(); }
  virtual Status fsyncdir(const Request&, Ino, Fh, bool /*datasync*/) { return Err(ENOSYS); }

  // ---- file system ----
  virtual Result<StatFs> statfs(const Request&, Ino) { return Err(ENOSYS); }
  virtual Status access(const Request&, Ino, uint32_t /*mask*/) { return Err(ENOSYS); }
  // syncfs(2)/sync(2) of the mount: everything changed so far is durable when it returns.
  // The kernel host calls it from ->sync_fs (FUSE 3.14 has no such request).
  virtual Status syncfs(const Request&) { return Err(ENOSYS); }

  // ---- extended attributes ----
  virtual Status setxattr(const Request&, Ino, std::string_view, std::span<const uint8_t>,
                          uint32_t /*flags*/) {
    return Err(ENOSYS);
  }
  // With an empty buf, returns the value's size; ERANGE when buf is too small.
  virtual Result<size_t> getxattr(const Request&, Ino, std::string_view, std::span<uint8_t>) {
    return Err(ENOSYS);
  }
  // NUL-separated names; same size protocol as getxattr.
  virtual Result<size_t> listxattr(const Request&, Ino, std::span<char>) { return Err(ENOSYS); }
  virtual Status removexattr(const Request&, Ino, std::string_view) { return Err(ENOSYS); }

  // ---- locks and block mapping ----
  virtual Result<FileLock> getlk(const Request&, Ino, Fh, uint64_t /*owner*/, const FileLock&) {
    return Err(ENOSYS);
  }
  virtual Status setlk(const Request&, Ino, Fh, uint64_t /*owner*/, const FileLock&,
                       bool /*sleep*/) {
    return Err(ENOSYS);
  }
  virtual Result<uint64_t> bmap(const Request&, Ino, uint32_t /*blocksize*/, uint64_t /*idx*/) {
    return Err(ENOSYS);
  }

  // ---- live upgrade ----
  // Moves this instance's whole state out (after making it consistent). On error the
  // instance keeps serving unchanged.
  virtual Result<TransferState> update_prepare() { return Err(EOPNOTSUPP); }
  // Starts this instance from a state (instead of init). On success the payload has been
  // taken out of `state`; on failure `state` must be left as it was. `dev` is the same
  // device the old instance was using.
  virtual Status update_transfer(TransferState& /*state*/, BlockDevice& /*dev*/) {
    return Err(EOPNOTSUPP);
  }
};

}  // namespace bento
