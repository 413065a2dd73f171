// The connection between the kernel (or a test) and the serving file system instance.
//
// Every file operation runs under the connection lock held shared (call()); a live
// upgrade holds it exclusively, so when upgrade() has the lock no call is in flight and
// none can start (DESIGN.md §3). The lock is the kernel-services RawRwLock, which prefers
// writers: a steady stream of calls cannot starve an upgrade.
//
// upgrade() does all the slow work (dlopen, create) before taking the lock and all the
// teardown (leftover state, old instance, old module, in that order) after releasing it,
// so the pause covers only update_prepare + update_transfer + the swap.
#pragma once

#include <bento/block_device.h>
#include <bento/file_operations.h>
#include <bento/sync.h>
#include <bento/user/buffer_cache.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fs_instance.h"
#include "upgrade_record.h"

struct fuse_session;  // libfuse's

namespace bento::host {

// Why a module with `next` capabilities cannot take over a connection whose FUSE
// features were fixed with `fixed`; empty when it can.
std::string capability_conflict(const Capabilities& fixed, const Capabilities& next);

struct ConnectionStatus {
  ModuleIdentity module;
  std::string description;
  std::string image;
  std::string mountpoint;
  int64_t mounted_since_ns = 0;  // realtime
  uint64_t ops = 0;              // file operations served
  std::string transport;         // "/dev/fuse", "io_uring (...)"; empty without a session
  Capabilities capabilities;
  bool mounted = false;
  std::optional<user::BufferCacheStats> cache;  // when the device is a BufferCache
  std::vector<UpgradeRecord> history;           // oldest first, the last kMaxHistory
};

class Connection {
 public:
  static constexpr size_t kMaxHistory = 1000;

  Connection(std::unique_ptr<BlockDevice> dev, std::string image, std::string mountpoint);
  ~Connection();  // shuts down when still mounted
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts `inst` with init() and makes it the serving instance. The capabilities it
  // declares now are fixed for the life of the connection.
  Status mount(FsInstance inst, const Request& req, const InitArgs& args);

  // Runs f(FileOperations&) with the connection lock held shared: the dispatch path of
  // every file operation. f must not call back into the connection.
  template <typename F>
  decltype(auto) call(F&& f) {
    SharedLock guard(lock_);
    ops_.value.fetch_add(1, std::memory_order_relaxed);
    return f(*fs_);
  }

  // Replaces the serving instance with one from the module at `path`. Never throws; the
  // record says what happened and is appended to the history.
  UpgradeRecord upgrade(const std::string& path);

  // Unmount: the instance's destroy(), then the device's sync_all(). Idempotent.
  void shutdown(const Request& req);

  // Capabilities fixed at mount, narrowed by what the kernel granted.
  Capabilities capabilities() const;
  // The FUSE init callback reports what the kernel actually enabled.
  void set_negotiated(bool writeback_cache, bool no_open, bool fs_clears_setid);
  bool no_open() const { return no_open_.load(std::memory_order_relaxed); }
  // The kernel left dropping set-id bits on write to the fs (handle_killpriv_v2).
  bool fs_clears_setid() const { return fs_clears_setid_.load(std::memory_order_relaxed); }
  // The FUSE session, for notifications to the kernel (null in tests without one).
  void set_session(fuse_session* se) { session_.store(se, std::memory_order_release); }
  fuse_session* session() const { return session_.load(std::memory_order_acquire); }

  // How FUSE requests reach this connection (session_loop.h).
  void set_transport(std::string t);

  ConnectionStatus status() const;
  BlockDevice& device() { return *dev_; }
  const std::string& image() const { return image_; }
  const std::string& mountpoint() const { return mountpoint_; }

 private:
  class SharedLock {
   public:
    explicit SharedLock(RawRwLock& l) : l_(l) { l_.lock_shared(); }
    ~SharedLock() { l_.unlock_shared(); }
    SharedLock(const SharedLock&) = delete;
    SharedLock& operator=(const SharedLock&) = delete;

   private:
    RawRwLock& l_;
  };

  void record(UpgradeRecord rec);

  const std::string image_;
  const std::string mountpoint_;
  std::unique_ptr<BlockDevice> dev_;         // outlives every instance
  std::unique_ptr<FileOperations> stopped_;  // answers calls before mount / after shutdown

  RawRwLock lock_;
  FileOperations* fs_;  // the serving instance; read under lock_ shared, set under exclusive
  struct alignas(64) Counter {
    std::atomic<uint64_t> value{0};
  } ops_;

  std::mutex upgrade_mu_;  // serialises mount/upgrade/shutdown; guards current_
  FsInstance current_;

  mutable std::mutex info_mu_;  // guards what status() reports
  ModuleIdentity current_id_;
  std::string description_;
  Capabilities caps_;
  bool mounted_ = false;
  int64_t mounted_since_ns_ = 0;
  std::vector<UpgradeRecord> history_;
  std::string transport_;
  std::atomic<bool> no_open_{false};
  std::atomic<bool> fs_clears_setid_{false};
  std::atomic<fuse_session*> session_{nullptr};
};

}  // namespace bento::host
