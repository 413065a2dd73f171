// A minimal fs that serves POSIX locks itself: a connection mounted without them must
// refuse to upgrade into it (the FUSE lock feature is fixed at mount).
#include <bento/module.h>

namespace {

class LocksFs final : public bento::FileOperations {
 public:
  bento::Status init(const bento::Request&, bento::BlockDevice&, const bento::InitArgs&) override {
    return bento::Status::Ok();
  }
  bento::Capabilities capabilities() const override {
    bento::Capabilities c;
    c.posix_locks = true;
    return c;
  }
  bento::Status update_transfer(bento::TransferState&, bento::BlockDevice&) override {
    return bento::Status::Ok();
  }
};

}  // namespace

BENTO_MODULE(LocksFs, "test-locks", "0.1", "serves POSIX locks")
