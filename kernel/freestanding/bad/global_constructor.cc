// Must be rejected: a global with a dynamic initialiser lands in .init_array.
#include <bento/services.h>

struct Registry {
  Registry() : p(bento_ks_alloc(16, 8)) {}
  void* p;
};
Registry g_registry;
