#include "connection.h"

#include <bento/log.h>
#include <bento/time.h>
#include <pthread.h>
#include <sched.h>

#include <cstring>
#include <utility>

namespace bento::host {
namespace {

// Serves calls when no instance is mounted (before mount, after shutdown).
class StoppedFs final : public FileOperations {
 public:
  Status init(const Request&, BlockDevice&, const InitArgs&) override { return Err(ENODEV); }
};

// The write side of the connection lock, released early by unlock() or at scope exit
// (so an exception between lock and unlock cannot leave the mount frozen).
class ExclusiveLock {
 public:
  explicit ExclusiveLock(RawRwLock& l) : l_(l) { l_.lock(); }
  ~ExclusiveLock() { unlock(); }
  void unlock() {
    if (held_) l_.unlock();
    held_ = false;
  }
  ExclusiveLock(const ExclusiveLock&) = delete;
  ExclusiveLock& operator=(const ExclusiveLock&) = delete;

 private:
  RawRwLock& l_;
  bool held_ = true;
};

// Runs the calling thread at real-time priority (SCHED_FIFO 1) for its lifetime: the
// upgrade's pause. On a loaded machine the scheduler would otherwise hand the CPU to other
// processes in the middle of the pause (it follows the module load, which used up the
// thread's time slice) and stretch a 0.2 ms pause to several ms. Nothing in the pause
// spins; threads the fs spawns there start in the normal class (services.cc). Without
// the privilege it does nothing.
class PauseBoost {
 public:
  PauseBoost() {
    if (pthread_getschedparam(pthread_self(), &policy_, &param_) != 0) return;
    sched_param rt{};
    rt.sched_priority = 1;
    boosted_ = pthread_setschedparam(pthread_self(), SCHED_FIFO, &rt) == 0;
  }
  ~PauseBoost() {
    if (boosted_) pthread_setschedparam(pthread_self(), policy_, &param_);
  }
  PauseBoost(const PauseBoost&) = delete;
  PauseBoost& operator=(const PauseBoost&) = delete;

 private:
  int policy_ = SCHED_OTHER;
  sched_param param_{};
  bool boosted_ = false;
};

ModuleIdentity identity_of(const LoadedModule& m) {
  return {m.name(), m.version(), m.path()};
}

std::string describe(const ModuleIdentity& id) {
  return id.name + " " + id.version;
}

std::string errno_name(int err) {
  return std::strerror(err);
}

}  // namespace

std::string capability_conflict(const Capabilities& fixed, const Capabilities& next) {
  if (fixed.posix_locks != next.posix_locks) {
    return std::string("POSIX locks are fixed at mount (") +
           (fixed.posix_locks ? "served by the fs" : "handled by the kernel") +
           ") and the new module " +
           (next.posix_locks ? "implements getlk/setlk" : "does not implement getlk/setlk");
  }
  if (fixed.writeback_cache && !next.writeback_cache) {
    return "the mount runs with the kernel's writeback cache, which the new module does not "
           "tolerate";
  }
  if (fixed.clears_setid_bits && !next.clears_setid_bits) {
    return "the mount leaves dropping setuid/setgid bits to the fs, which the new module "
           "does not do";
  }
  if (fixed.applies_umask && !next.applies_umask) {
    return "the mount passes modes unmasked (FUSE_DONT_MASK) and the new module does not "
           "apply the umask itself";
  }
  if (fixed.posix_acls != next.posix_acls) {
    return std::string("POSIX ACLs are fixed at mount (") +
           (fixed.posix_acls ? "kept by the fs" : "not supported") + ") and the new module " +
           (next.posix_acls ? "keeps them" : "does not");
  }
  if (!fixed.needs_open && next.needs_open) {
    return "the mount runs in FUSE no-open mode (the kernel no longer sends open/release), "
           "but the new module needs open and release calls";
  }
  return {};
}

Connection::Connection(std::unique_ptr<BlockDevice> dev, std::string image, std::string mountpoint)
    : image_(std::move(image)),
      mountpoint_(std::move(mountpoint)),
      dev_(std::move(dev)),
      stopped_(std::make_unique<StoppedFs>()),
      fs_(stopped_.get()) {}

Connection::~Connection() {
  shutdown(Request{});
}

Status Connection::mount(FsInstance inst, const Request& req, const InitArgs& args) {
  std::lock_guard<std::mutex> serial(upgrade_mu_);
  if (current_) return Err(EBUSY);
  Status s = inst->init(req, *dev_, args);
  if (!s.ok()) return s;  // `inst` is destroyed (never started), then its module unloaded
  Capabilities caps = inst->capabilities();
  {
    std::lock_guard<std::mutex> g(info_mu_);
    current_id_ = identity_of(inst.module());
    const char* d = inst.module().info().description;
    description_ = d != nullptr ? d : "";
    caps_ = caps;
    mounted_ = true;
    mounted_since_ns_ = bento_ks_time_realtime_ns();
  }
  current_ = std::move(inst);
  ExclusiveLock w(lock_);
  fs_ = current_.get();
  return Status::Ok();
}

void Connection::shutdown(const Request& req) {
  std::lock_guard<std::mutex> serial(upgrade_mu_);
  if (!current_) return;
  {
    ExclusiveLock w(lock_);
    current_->destroy(req);
    fs_ = stopped_.get();
  }
  Status s = dev_->sync_all();
  if (!s.ok())
    log(LogLevel::kError,
        "bentofs: syncing the device at unmount failed: " + errno_name(s.error()));
  {
    std::lock_guard<std::mutex> g(info_mu_);
    mounted_ = false;
  }
  current_.reset();  // the instance, then its module
}

Capabilities Connection::capabilities() const {
  std::lock_guard<std::mutex> g(info_mu_);
  return caps_;
}

void Connection::set_negotiated(bool writeback_cache, bool no_open, bool fs_clears_setid) {
  std::lock_guard<std::mutex> g(info_mu_);
  caps_.writeback_cache = caps_.writeback_cache && writeback_cache;
  caps_.clears_setid_bits = caps_.clears_setid_bits && fs_clears_setid;
  fs_clears_setid_.store(caps_.clears_setid_bits, std::memory_order_relaxed);
  caps_.needs_open = !no_open;
  no_open_.store(no_open, std::memory_order_relaxed);
}

void Connection::record(UpgradeRecord rec) {
  std::string line;
  if (rec.ok) {
    line = "bentofs: upgraded " + mountpoint_ + " from " + describe(rec.from) + " to " +
           describe(rec.to) + " (" + rec.to.path + "), pause " +
           std::to_string(rec.pause_ns / 1000) + " us, waited " +
           std::to_string(rec.wait_ns / 1000) + " us";
  } else {
    line = "bentofs: upgrade of " + mountpoint_ + " failed: " + rec.error;
  }
  log(rec.ok ? LogLevel::kInfo : (rec.state_lost ? LogLevel::kError : LogLevel::kWarning), line);
  std::lock_guard<std::mutex> g(info_mu_);
  if (rec.ok) current_id_ = rec.to;
  if (history_.size() >= kMaxHistory) history_.erase(history_.begin());
  history_.push_back(std::move(rec));
}

UpgradeRecord Connection::upgrade(const std::string& path) {
  UpgradeRecord rec;
  try {
    std::lock_guard<std::mutex> serial(upgrade_mu_);
    rec.time_realtime_ns = bento_ks_time_realtime_ns();
    if (!current_) {
      rec.error = "nothing is mounted";
      return rec;
    }
    rec.from = identity_of(current_.module());

    // Slow, fallible work first, with calls still flowing.
    ModuleLoadResult loaded = load_module(path);
    if (!loaded.module) {
      rec.to.path = path;
      rec.error = loaded.error;
      record(rec);
      return rec;
    }
    rec.to = identity_of(*loaded.module);
    std::string err;
    FsInstance next = FsInstance::create(std::move(loaded.module), &err);
    if (!next) {
      rec.error = err;
      record(rec);
      return rec;
    }
    std::string conflict = capability_conflict(capabilities(), next->capabilities());
    if (!conflict.empty()) {
      rec.error = "refused: " + conflict;
      next.reset();
      record(rec);
      return rec;
    }

    FsInstance old;       // declared before `state`: if anything throws, the state's
    TransferState state;  // destructor runs while its module is still loaded
    {
      PauseBoost boost;
      int64_t t0 = bento_ks_time_monotonic_ns();
      ExclusiveLock w(lock_);
      int64_t t1 = bento_ks_time_monotonic_ns();
      rec.wait_ns = t1 - t0;
      Result<TransferState> prepared = current_->update_prepare();
      if (!prepared.ok()) {
        int e = prepared.error();
        rec.pause_ns = bento_ks_time_monotonic_ns() - t1;
        w.unlock();
        rec.error = describe(rec.from) +
                    " cannot hand over its state (update_prepare: " + errno_name(e) +
                    "); it keeps serving";
      } else {
        state = std::move(prepared).value();
        const uint32_t kind_version = state.version();
        const std::string kind(state.kind());
        Status s = next->update_transfer(state, *dev_);
        if (s.ok()) {
          old = std::move(current_);
          current_ = std::move(next);
          fs_ = current_.get();
          rec.pause_ns = bento_ks_time_monotonic_ns() - t1;  // until the unlock
          w.unlock();
          rec.ok = true;
        } else {
          // Hand the state back: the old instance always accepts its own version.
          Status rb = current_->update_transfer(state, *dev_);
          rec.pause_ns = bento_ks_time_monotonic_ns() - t1;  // until the unlock
          w.unlock();
          rec.rolled_back = rb.ok();
          rec.error = describe(rec.to) + " refused the state (kind \"" + kind + "\", version " +
                      std::to_string(kind_version) + "): update_transfer: " + errno_name(s.error());
          if (rb.ok()) {
            rec.error += "; rolled back, " + describe(rec.from) + " keeps serving";
          } else {
            rec.state_lost = true;
            rec.error += "; ROLLBACK FAILED (" + errno_name(rb.error()) +
                         "): " + describe(rec.from) +
                         " keeps serving, but its state may be lost — unmount and check "
                         "the file system";
          }
        }
      }
    }
    // Outside the lock, in this order: a leftover state (its destructor is code in the
    // module that made it), the old instance, then the old module (inside `old`).
    state.reset();
    old.reset();
    next.reset();  // a refused instance was never started: only deleted
    record(rec);
    return rec;
  } catch (const std::exception& e) {
    rec.ok = false;
    rec.error = std::string("internal error during upgrade: ") + e.what();
    log(LogLevel::kError, "bentofs: " + rec.error);
    return rec;
  }
}

void Connection::set_transport(std::string t) {
  std::lock_guard<std::mutex> g(info_mu_);
  transport_ = std::move(t);
}

ConnectionStatus Connection::status() const {
  ConnectionStatus st;
  {
    std::lock_guard<std::mutex> g(info_mu_);
    st.module = current_id_;
    st.description = description_;
    st.capabilities = caps_;
    st.mounted = mounted_;
    st.mounted_since_ns = mounted_since_ns_;
    st.history = history_;
    st.transport = transport_;
  }
  st.image = image_;
  st.mountpoint = mountpoint_;
  st.ops = ops_.value.load(std::memory_order_relaxed);
  if (auto* cache = dynamic_cast<const user::BufferCache*>(dev_.get())) st.cache = cache->stats();
  return st;
}

}  // namespace bento::host
