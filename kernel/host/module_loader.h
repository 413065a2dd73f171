// Loading a file system module (.so) into the userspace host.
//
// load_module() dlopen()s the object with RTLD_NOW | RTLD_LOCAL, finds BENTO_MODULE_SYMBOL
// and checks the API version before touching anything else in ModuleInfo. Every failure
// comes back as one line that names the file and says what is wrong.
//
// glibc matches an already loaded object by path, so loading the same path twice (an
// upgrade memfs.so -> memfs.so, or to a rebuilt file at the same path) would silently
// reuse the old code. A path this host has already loaded is therefore loaded from a
// private copy (a memfd), so every LoadedModule is independent code.
#pragma once

#include <bento/module.h>

#include <memory>
#include <string>

namespace bento::host {

struct ModuleLoadResult;
ModuleLoadResult load_module(const std::string& path);

class LoadedModule {
 public:
  ~LoadedModule();  // dlclose()s; every instance created from it must be gone by then
  LoadedModule(const LoadedModule&) = delete;
  LoadedModule& operator=(const LoadedModule&) = delete;

  const ModuleInfo& info() const { return *info_; }
  const std::string& path() const { return path_; }
  std::string name() const;     // info().name, or "?" when null
  std::string version() const;  // info().version, or "?" when null
  bool loaded_from_copy() const { return from_copy_; }

 private:
  friend ModuleLoadResult load_module(const std::string& path);
  LoadedModule(void* handle, const ModuleInfo* info, std::string path, bool from_copy);

  void* handle_;
  const ModuleInfo* info_;
  std::string path_;  // canonical path of the file it was loaded from
  bool from_copy_;
};

struct ModuleLoadResult {
  std::shared_ptr<LoadedModule> module;  // null on error
  std::string error;                     // one line, names the file
};

}  // namespace bento::host
