// The little C++ runtime a module needs (DESIGN: no libstdc++.so, no libgcc): operator
// delete in every form the compiler emits (deleting destructors call the sized one), routed
// to the kernel-services allocator, and __cxa_pure_virtual. No operator new: fs code
// allocates through bento::make_unique (placement new), and the freestanding check rejects
// anything else.
#include <bento/services.h>

#include <cstddef>
#include <new>

extern "C" void bento_kglue_fatal(const char* what);

void operator delete(void* p) noexcept {
  bento_ks_free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  bento_ks_free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  bento_ks_free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  bento_ks_free(p);
}

extern "C" void __cxa_pure_virtual() {
  bento_kglue_fatal("pure virtual function called");
}
