// The libfuse low-level API at the version this host is written against (3.12+ loop
// configuration; Debian 12 ships 3.14).
#pragma once

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#include <fuse_lowlevel.h>
#include <sys/stat.h>
