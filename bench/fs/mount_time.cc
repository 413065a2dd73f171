// Mount time of a big image file (issue 15: the mount-time checks read the inode-table
// blocks that hold allocated inodes; the first lookup of a file walks its block map).
// Formats a sparse image, fills it with --files 4 KiB files (1,000 per directory) and one
// --big-mb file, unmounts, then mounts --rounds times (page cache warm) and reports the
// median mount time and the first lookup of the big file after each mount.
//
//   bench_mount_time --image PATH --size-mb N [--files K] [--big-mb M] [--rounds R]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/bento_fs.h"
#include "core/format_device.h"
#include "tools/image_device.h"

using namespace bentofs;

namespace {

bento::Request req() {
  bento::Request r;
  r.umask = 0;
  return r;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string image;
  uint64_t size_mb = 1024, files = 0, big_mb = 0;
  int rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--image") image = argv[i + 1];
    if (a == "--size-mb") size_mb = strtoull(argv[i + 1], nullptr, 10);
    if (a == "--files") files = strtoull(argv[i + 1], nullptr, 10);
    if (a == "--big-mb") big_mb = strtoull(argv[i + 1], nullptr, 10);
    if (a == "--rounds") rounds = atoi(argv[i + 1]);
  }
  if (image.empty()) {
    fprintf(stderr, "usage: %s --image PATH --size-mb N [--files K] [--big-mb M] [--rounds R]\n",
            argv[0]);
    return 2;
  }
  unlink(image.c_str());
  int fd = open(image.c_str(), O_CREAT | O_RDWR | O_EXCL, 0600);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(size_mb << 20)) != 0) return 1;
  close(fd);
  std::string err;
  {
    auto dev = ImageDevice::open_file(image, false, &err);
    FormatOptions fo;
    fo.device_is_zeroed = true;
    if (!dev || !format_device(*dev, fo).ok()) return 1;
    BentoFs fs;
    bento::InitArgs a;
    if (!fs.init(req(), *dev, a).ok()) return 1;
    std::vector<uint8_t> page(4096, 'x');
    bento::Ino dir = 0;
    for (uint64_t i = 0; i < files; i++) {
      if (i % 1000 == 0) dir = fs.mkdir(req(), bento::kRootIno, "d" + std::to_string(i), 0755)->ino;
      auto c = fs.create(req(), dir, "f" + std::to_string(i), 0644, bento::oflag::kReadWrite);
      if (!c.ok()) return 1;
      (void)fs.write(req(), c->entry.ino, c->open.fh, 0, page);
      (void)fs.release(req(), c->entry.ino, c->open.fh, 0);
      fs.forget(c->entry.ino, 1);
    }
    if (big_mb > 0) {
      auto c = fs.create(req(), bento::kRootIno, "big", 0644, bento::oflag::kReadWrite);
      std::vector<uint8_t> chunk(1 << 20, 'b');
      for (uint64_t m = 0; m < big_mb; m++)
        (void)fs.write(req(), c->entry.ino, c->open.fh, m << 20, chunk);
      (void)fs.release(req(), c->entry.ino, c->open.fh, 0);
    }
    fs.destroy(req());
  }
  std::vector<double> mount_ms, lookup_ms;
  for (int r = 0; r < rounds; r++) {
    auto dev = ImageDevice::open_file(image, false, &err);
    BentoFs fs;
    bento::InitArgs a;
    auto t0 = std::chrono::steady_clock::now();
    if (!fs.init(req(), *dev, a).ok()) return 1;
    mount_ms.push_back(ms_since(t0));
    if (big_mb > 0) {
      t0 = std::chrono::steady_clock::now();
      if (!fs.lookup(req(), bento::kRootIno, "big").ok()) return 1;
      lookup_ms.push_back(ms_since(t0));
    }
    fs.destroy(req());
  }
  std::sort(mount_ms.begin(), mount_ms.end());
  std::sort(lookup_ms.begin(), lookup_ms.end());
  printf("image %llu MiB, %llu files, big file %llu MiB: mount median %.1f ms (min %.1f, max %.1f)",
         static_cast<unsigned long long>(size_mb), static_cast<unsigned long long>(files),
         static_cast<unsigned long long>(big_mb), mount_ms[mount_ms.size() / 2], mount_ms.front(),
         mount_ms.back());
  if (!lookup_ms.empty())
    printf(", first lookup of the big file median %.2f ms", lookup_ms[lookup_ms.size() / 2]);
  printf("\n");
  unlink(image.c_str());
  return 0;
}
