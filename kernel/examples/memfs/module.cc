// The module entry point the hosts look up (one BENTO_MODULE per module).
#include <bento/module.h>

#include "memfs.h"

// memfs_refuse, the same code built to refuse every upgrade, tells hosts apart by version.
#ifdef MEMFS_REFUSE_TRANSFER
#define MEMFS_MODULE_VERSION "0.0-refusing"
#else
#define MEMFS_MODULE_VERSION "1.0.0"
#endif

BENTO_MODULE(memfs::Memfs, "bento-memfs", MEMFS_MODULE_VERSION,
             "in-memory example file system (framework tests, live upgrade)")
