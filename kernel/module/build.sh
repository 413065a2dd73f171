#!/usr/bin/env bash
# Builds one Bento kernel module out of tree against a kernel's build directory:
#   build.sh KDIR OUTDIR MODULE FSTYPE SOURCES_FILE
# SOURCES_FILE lists the fs's C++ sources (absolute paths; CMake writes it from the same
# list the .so is built from), one per line. The result is OUTDIR/MODULE.ko. An fs module
# first builds the core (OUTDIR/../bento_core/bento_core.ko, whose symbols it uses);
# MODULE=bento_core builds only that (FSTYPE and SOURCES_FILE are ignored).
set -euo pipefail
kdir=$1 out=$2 mod=$3 fstype=$4 sources_file=$5
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

mkdir -p "$out/glue" "$out/cxx"
# Kbuild builds in the M= directory: copy the sources there (mtimes kept, so unchanged
# files are not rebuilt).
cp -p "$here/Kbuild" "$here/bridge.h" "$here/bento_ioctl.h" "$here/fsmod.c" "$out/"
if [ "$mod" = bento_core ]; then
  cp -p "$here"/glue/*.c "$here"/glue/*.h "$out/glue/"
  make -s -C "$kdir" M="$out" BENTO_ROOT="$root" BENTO_MOD=bento_core \
    -j"${BENTO_KBUILD_JOBS:-2}" modules
  test -f "$out/bento_core.ko"
  exit 0
fi
core=$(dirname "$out")/bento_core
mkdir -p "$core"
flock "$core.lock" "$0" "$kdir" "$core" bento_core - -  # fs modules may build in parallel

srcs=()
while read -r s; do
  [ -n "$s" ] || continue
  srcs+=("${s#"$root"/}")
done < "$sources_file"
srcs+=(kernel/module/bridge.cc kernel/module/cxx_runtime.cc)

make -s -C "$kdir" M="$out" BENTO_ROOT="$root" BENTO_MOD="$mod" BENTO_FSTYPE="$fstype" \
  KBUILD_EXTRA_SYMBOLS="$core/Module.symvers" \
  BENTO_CXX_SRCS="${srcs[*]}" -j"${BENTO_KBUILD_JOBS:-2}" modules
test -f "$out/$mod.ko"
