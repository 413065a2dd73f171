// How a file system module presents itself to a host.
//
// A module is a shared object (userspace host) or a kernel module (kernel host) that
// defines exactly one BENTO_MODULE. The host checks api_version before using anything
// else: a module built against another API version is refused with a clear message.
#pragma once

#include <bento/file_operations.h>
#include <bento/memory.h>

#include <cstdint>

namespace bento {

// Bumped on any incompatible change to FileOperations, the types it uses or services.h.
constexpr uint32_t kApiVersion = 3;  // 2: FileOperations::syncfs; 3: BlockDevice::write_around

struct ModuleInfo {
  uint32_t api_version;
  const char* name;         // file system family, e.g. "bento-fs"
  const char* version;      // the module's own version, e.g. "1.0.0"
  const char* description;  // one line
  // A new, uninitialised instance, or nullptr when out of memory.
  FileOperations* (*create)();
  void (*destroy)(FileOperations*);
};

}  // namespace bento

#define BENTO_MODULE_SYMBOL "bento_module_info"

// Defines the module's entry point. Type must be default-constructible.
#define BENTO_MODULE(Type, name_, version_, description_)                      \
  extern "C" __attribute__((visibility("default"))) const ::bento::ModuleInfo* \
  bento_module_info() {                                                        \
    static const ::bento::ModuleInfo info = {                                  \
        ::bento::kApiVersion,                                                  \
        name_,                                                                 \
        version_,                                                              \
        description_,                                                          \
        []() -> ::bento::FileOperations* {                                     \
          auto r = ::bento::make_unique<Type>();                               \
          return r.ok() ? std::move(r).value().release() : nullptr;            \
        },                                                                     \
        [](::bento::FileOperations* fs) {                                      \
          ::bento::UniquePtr<::bento::FileOperations>::adopt(fs).reset();      \
        }};                                                                    \
    return &info;                                                              \
  }
