// A module whose create() fails (as if out of memory).
#include <bento/module.h>

extern "C" __attribute__((visibility("default"))) const bento::ModuleInfo* bento_module_info() {
  static const bento::ModuleInfo info = {bento::kApiVersion,
                                         "null-create",
                                         "0.0",
                                         "create() returns null",
                                         []() -> bento::FileOperations* { return nullptr; },
                                         [](bento::FileOperations*) {}};
  return &info;
}
