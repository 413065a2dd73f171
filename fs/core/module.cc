// The module entry point the bentofs host loads (modules/bento_fs.so).
#include <bento/module.h>

#include "core/bento_fs.h"

BENTO_MODULE(bentofs::BentoFs, "bento-fs", "0.1.0",
             "Bento-fs: journaled xv6-style file system with hashed directories")
