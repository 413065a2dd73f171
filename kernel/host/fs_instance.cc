#include "fs_instance.h"

namespace bento::host {

FsInstance FsInstance::create(std::shared_ptr<LoadedModule> module, std::string* error) {
  FsInstance inst;
  const ModuleInfo& info = module->info();
  FileOperations* fs = info.create();
  if (fs == nullptr) {
    *error = "module " + module->path() + " (" + module->name() + " " + module->version() +
             "): create() returned null (out of memory?)";
    return inst;
  }
  inst.module_ = std::move(module);
  inst.fs_ = std::unique_ptr<FileOperations, Deleter>(fs, Deleter{info.destroy});
  return inst;
}

}  // namespace bento::host
