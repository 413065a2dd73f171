#!/usr/bin/env bash
# Rejects a module's C++ object that would link but not work: global constructors
# (.init_array is ignored by the module loader), GOT-relative relocations (insmod refuses
# PIC), and calls into libstdc++/libgcc runtime pieces a module does not have.
set -euo pipefail
obj=${1:?usage: check-cxx.sh OBJECT.o}
if readelf -SW "$obj" | grep -Eq '\.(init_array|ctors)'; then
  echo "check-cxx: $obj has global constructors (.init_array): they never run in a module" >&2
  exit 1
fi
if readelf -rW "$obj" | grep -q GOTPCREL; then
  echo "check-cxx: $obj has GOT-relative relocations (compiled as PIC)" >&2
  exit 1
fi
bad=$(nm -u "$obj" | awk '{print $2}' | grep -E '^(__cxa_|_Unwind_|_ZSt|__gxx_|_Znw|_Zna)' | grep -v '^__cxa_pure_virtual$' || true)
if [ -n "$bad" ]; then
  echo "check-cxx: $obj needs C++ runtime symbols a module does not have:" >&2
  echo "$bad" | sed 's/^/  /' >&2
  exit 1
fi
