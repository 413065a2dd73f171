#!/usr/bin/env bash
# Installs the Debian 12 packages Bento needs. Idempotent: does nothing when all are present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  clang clang-format llvm
  libfuse3-dev fuse3
  liburing-dev
  libsqlite3-dev sqlite3
  # libcrypto: MD5 of package configuration files, as dpkg records them (query-cli)
  libssl-dev
  nlohmann-json3-dev
  libgtest-dev libgmock-dev
  libbpf-dev bpftool libelf-dev zlib1g-dev
  e2fsprogs util-linux bindfs acl attr
  fio gnuplot-nox
  graphviz
  # the lineage end-to-end scenarios' interpreter (sqlite WAL databases, setuid drops,
  # HTTP servers) and their HTTP client
  python3 curl
  # the kernel host's QEMU tests (tests/kernel/run.sh): Debian's headers build the modules,
  # the kernel image itself is downloaded (apt-get download), never installed
  qemu-system-x86 busybox-static cpio kmod linux-headers-amd64
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
