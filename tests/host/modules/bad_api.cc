// A module built "for another API version": the loader must refuse it before reading
// anything but api_version.
#include <bento/module.h>

extern "C" __attribute__((visibility("default"))) const bento::ModuleInfo* bento_module_info() {
  static const bento::ModuleInfo info = {99,      "bad-api", "0.0", "wrong api_version",
                                         nullptr, nullptr};
  return &info;
}
