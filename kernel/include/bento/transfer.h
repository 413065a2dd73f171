// The state-transfer object of a live upgrade (DESIGN.md §3).
//
// The old instance's update_prepare() moves its state into a TransferState; the new
// instance's update_transfer() takes it out. The payload is a plain struct the file
// system defines, tagged with a kind (which file system family) and a version (its
// layout). The new code must accept its own version and the previous one; anything else
// is refused with EPROTO and the host rolls back by handing the state back to the old
// instance, which always accepts its own version.
//
//   struct FsStateV3 { static constexpr char kKind[] = "bento-fs"; static constexpr
//                      uint32_t kVersion = 3; ... };
//   auto st = TransferState::make(std::move(payload));  // in update_prepare
//   if (auto p = state.take<FsStateV3>()) ...            // in update_transfer
//
// Lifetime: the payload's destructor runs in the code of whichever module destroys it.
// The host destroys a leftover TransferState before it unloads the old module.
#pragma once

#include <bento/memory.h>
#include <bento/result.h>

#include <cstdint>
#include <string_view>

namespace bento {

class TransferState {
 public:
  static constexpr uint32_t kMaxKind = 31;

  TransferState() = default;
  TransferState(TransferState&& o) noexcept { take_from(o); }
  TransferState& operator=(TransferState&& o) noexcept {
    if (this != &o) {
      reset();
      take_from(o);
    }
    return *this;
  }
  TransferState(const TransferState&) = delete;
  TransferState& operator=(const TransferState&) = delete;
  ~TransferState() { reset(); }

  template <typename T>
  static TransferState make(UniquePtr<T> payload) {
    static_assert(sizeof(T::kKind) <= kMaxKind + 1, "kind too long");
    TransferState s;
    std::string_view k = T::kKind;
    for (size_t i = 0; i < k.size(); i++) s.kind_[i] = k[i];
    s.kind_len_ = static_cast<uint32_t>(k.size());
    s.version_ = T::kVersion;
    s.size_ = sizeof(T);
    s.payload_ = payload.release();
    s.drop_ = [](void* p) { UniquePtr<T>::adopt(static_cast<T*>(p)).reset(); };
    return s;
  }

  bool empty() const { return payload_ == nullptr; }
  std::string_view kind() const { return {kind_, kind_len_}; }
  uint32_t version() const { return version_; }

  template <typename T>
  bool holds() const {
    return payload_ != nullptr && kind() == std::string_view(T::kKind) && version_ == T::kVersion &&
           size_ == sizeof(T);
  }

  // Moves the payload out when it is a T (same kind, version and size); else null and
  // the state is left untouched.
  template <typename T>
  UniquePtr<T> take() {
    if (!holds<T>()) return nullptr;
    T* p = static_cast<T*>(payload_);
    payload_ = nullptr;
    drop_ = nullptr;
    return UniquePtr<T>::adopt(p);
  }

  void reset() {
    if (payload_ != nullptr && drop_ != nullptr) drop_(payload_);
    payload_ = nullptr;
    drop_ = nullptr;
  }

 private:
  void take_from(TransferState& o) {
    for (uint32_t i = 0; i < o.kind_len_; i++) kind_[i] = o.kind_[i];
    kind_len_ = o.kind_len_;
    version_ = o.version_;
    size_ = o.size_;
    payload_ = o.payload_;
    drop_ = o.drop_;
    o.payload_ = nullptr;
    o.drop_ = nullptr;
  }

  char kind_[kMaxKind + 1] = {};
  uint32_t kind_len_ = 0;
  uint32_t version_ = 0;
  uint64_t size_ = 0;
  void* payload_ = nullptr;
  void (*drop_)(void*) = nullptr;
};

}  // namespace bento
