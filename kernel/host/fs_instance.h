// One file system instance together with the module whose code it runs.
//
// The instance's vtable and destructor live in the module's .so, so the module must be
// unloaded strictly after the instance is destroyed: members are declared module first,
// instance second, and C++ destroys them in reverse order.
#pragma once

#include <bento/file_operations.h>

#include <memory>
#include <string>

#include "module_loader.h"

namespace bento::host {

// Deletes an instance with its module's ModuleInfo::destroy.
struct InstanceDeleter {
  void (*destroy)(FileOperations*) = nullptr;
  void operator()(FileOperations* fs) const { destroy(fs); }
};

class FsInstance {
 public:
  FsInstance() = default;
  FsInstance(FsInstance&&) noexcept = default;
  FsInstance& operator=(FsInstance&& o) noexcept {
    // Destroy our instance before our module reference goes.
    fs_.reset();
    module_ = std::move(o.module_);
    fs_ = std::move(o.fs_);
    return *this;
  }

  // A new, unstarted instance (neither init() nor update_transfer() called yet).
  static FsInstance create(std::shared_ptr<LoadedModule> module, std::string* error);

  explicit operator bool() const { return fs_ != nullptr; }
  FileOperations* get() const { return fs_.get(); }
  FileOperations* operator->() const { return fs_.get(); }
  const LoadedModule& module() const { return *module_; }
  std::shared_ptr<LoadedModule> module_ptr() const { return module_; }

  // Destroys the instance, then drops this reference to the module (which unloads it
  // when it was the last one).
  void reset() {
    fs_.reset();
    module_.reset();
  }

 private:
  using Deleter = InstanceDeleter;

  std::shared_ptr<LoadedModule> module_;         // declared first: destroyed last
  std::unique_ptr<FileOperations, Deleter> fs_;  // destroyed with the module's code
};

}  // namespace bento::host
