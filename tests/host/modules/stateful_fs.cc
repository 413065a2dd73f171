// A tiny fs whose upgrade hooks misbehave on purpose, built twice:
//  - LEAVES_STATE: update_transfer succeeds without taking the payload, so the host must
//    destroy a leftover state whose destructor is code in the old module — before it
//    unloads that module.
//  - REFUSES_ALL: update_transfer always fails, also when the host hands the state back
//    (rollback): the host must keep the old instance, say the state may be lost, and not
//    crash.
#include <bento/log.h>
#include <bento/module.h>

namespace {

struct StatefulPayload {
  static constexpr char kKind[] = "test-stateful";
  static constexpr uint32_t kVersion = 1;
  int files = 3;
  // Out of line, so the destructor really is code in this module.
  __attribute__((noinline)) ~StatefulPayload() {
    bento::log(bento::LogLevel::kDebug, "stateful payload destroyed");
  }
};

class StatefulFs final : public bento::FileOperations {
 public:
  bento::Status init(const bento::Request&, bento::BlockDevice&, const bento::InitArgs&) override {
    return bento::Status::Ok();
  }
  bento::Result<bento::Attr> getattr(const bento::Request&, bento::Ino ino, bento::Fh) override {
    bento::Attr a;
    a.ino = ino;
    a.mode = bento::mode::kDirectory | 0755;
    a.nlink = 2;
    return a;
  }
  bento::Result<bento::TransferState> update_prepare() override {
    auto p = bento::make_unique<StatefulPayload>();
    if (!p.ok()) return bento::Err(ENOMEM);
    return bento::TransferState::make(std::move(p).value());
  }
  bento::Status update_transfer(bento::TransferState&, bento::BlockDevice&) override {
#ifdef REFUSES_ALL
    return bento::Err(EPROTO);
#else
    return bento::Status::Ok();  // "accepts" without taking the payload
#endif
  }
};

}  // namespace

#ifdef REFUSES_ALL
BENTO_MODULE(StatefulFs, "test-stateful", "0.1-refuses-all", "refuses every state")
#else
BENTO_MODULE(StatefulFs, "test-stateful", "0.1-leaves-state", "leaves the state behind")
#endif
