#!/usr/bin/env bash
# Rejects a relocatable object that a kernel module could not link or load:
#  - undefined symbols outside the kernel-services shim (bento_ks_*), the memory
#    builtins, operator delete, __cxa_pure_virtual, the kernel's retpoline thunks and
#    __stack_chk_fail (the kernel's -fstack-protector-strong);
#  - global constructors (.init_array/.ctors: never run in a module);
#  - GOT-relative relocations (position-independent code: insmod rejects it).
set -euo pipefail
obj=${1:?usage: check.sh OBJECT.o}
status=0

allowed='^(bento_ks_[a-z0-9_]+|memcpy|memmove|memset|memcmp|strlen|__cxa_pure_virtual|_ZdlPv|_ZdlPvm|_ZdlPvSt11align_val_t|_ZdlPvmSt11align_val_t|__x86_indirect_thunk_[a-z0-9]+|__x86_return_thunk|__stack_chk_fail)$'
undefined=$(nm -u --format=posix "$obj" | awk '{print $1}' | sort -u)
bad=$(grep -Ev "$allowed" <<<"$undefined" || true)
if [ -n "$bad" ]; then
  echo "freestanding check FAILED: $obj needs symbols a kernel module does not have:" >&2
  while read -r sym; do
    echo "  $sym  ($(c++filt "$sym"))" >&2
  done <<<"$bad"
  status=1
fi

if readelf -SW "$obj" | grep -Eq '\.(init_array|ctors)'; then
  echo "freestanding check FAILED: $obj has global constructors (.init_array), which never run in a module" >&2
  status=1
fi

if readelf -rW "$obj" | grep -q 'GOTPCREL'; then
  echo "freestanding check FAILED: $obj has GOT-relative relocations (compiled as PIC)" >&2
  status=1
fi

if [ -n "${BENTO_REQUIRE_ENTRY:-1}" ] && [ "${BENTO_REQUIRE_ENTRY:-1}" != 0 ] &&
   ! nm --defined-only "$obj" | grep -q ' T bento_module_info$'; then
  echo "freestanding check FAILED: $obj defines no module entry point (BENTO_MODULE)" >&2
  status=1
fi

if [ $status -eq 0 ]; then
  echo "freestanding check passed: $obj ($(wc -l <<<"$undefined") undefined symbols, all from the kernel-services shim or the allowed builtins)"
fi
exit $status
