// Directory scale: creates N entries in one Bento-fs directory in-process (no FUSE), looks
// up 100k of them at random, lists the directory, deletes them all, then runs fsck.
//   bench_dir_scale [--quick]     N = 1,000,000 (quick: 100,000)
#include <bento/fs_types.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "core/bento_fs.h"
#include "core/format_device.h"
#include "tools/fsck_check.h"
#include "tools/image_device.h"

namespace {

using Clock = std::chrono::steady_clock;

double secs(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

class CountFiller final : public bento::DirFiller {
 public:
  bool wants_entries() const override { return false; }
  bool add(std::string_view, bento::Ino, uint32_t, uint64_t next, const bento::Entry*) override {
    count++;
    last = next;
    return count % 4096 != 0;  // one "FUSE buffer" worth per readdir call
  }
  uint64_t count = 0;
  uint64_t last = 0;
};

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  const int n = quick ? 100000 : 1000000;
  bentofs::FormatOptions opts;
  opts.inode_count = n + n / 10;
  opts.device_is_zeroed = true;
  auto dev = bentofs::ImageDevice::memory(quick ? 32768 : 196608);
  if (!bentofs::format_device(*dev, opts).ok()) {
    fprintf(stderr, "format failed\n");
    return 1;
  }
  bento::Request r;
  auto fs = std::make_unique<bentofs::BentoFs>();
  if (!fs->init(r, *dev, bento::InitArgs{}).ok()) {
    fprintf(stderr, "mount failed\n");
    return 1;
  }
  auto d = fs->mkdir(r, bento::kRootIno, "big", 0755);
  if (!d.ok()) return 1;
  auto name = [](int i) { return "entry-" + std::to_string(i); };

  auto t0 = Clock::now();
  for (int i = 0; i < n; i++) {
    auto m = fs->mknod(r, d->ino, name(i), bento::mode::kRegular | 0644, 0);
    if (!m.ok()) {
      fprintf(stderr, "create %d failed: %d\n", i, m.error());
      return 1;
    }
    fs->forget(m->ino, 1);
  }
  auto t1 = Clock::now();
  for (int i = 0; i < 100000; i++) {
    auto e = fs->lookup(r, d->ino, name(static_cast<int>((i * 7919LL) % n)));
    if (!e.ok()) return 1;
    fs->forget(e->ino, 1);
  }
  auto t2 = Clock::now();
  CountFiller filler;
  uint64_t off = 0;
  for (;;) {
    uint64_t before = filler.count;
    if (!fs->readdir(r, d->ino, bento::kNoFh, off, filler).ok()) return 1;
    if (filler.count == before) break;
    off = filler.last;
    if (filler.count % 4096 != 0) break;  // the fs stopped before filling: end of directory
  }
  auto t3 = Clock::now();
  for (int i = 0; i < n; i++) {
    if (!fs->unlink(r, d->ino, name(i)).ok()) return 1;
  }
  auto t4 = Clock::now();
  fs->forget(d->ino, 1);
  fs->destroy(r);
  fs.reset();
  bentofs::FsckReport rep = bentofs::run_fsck(*dev, bentofs::FsckOptions{});

  printf("directory of %d entries (in-process, no FUSE):\n", n);
  printf("  create  %8.2f s  %9.0f /s\n", secs(t0, t1), n / secs(t0, t1));
  printf("  lookup  %8.2f s  %9.0f /s (100k random)\n", secs(t1, t2), 100000 / secs(t1, t2));
  printf("  list    %8.2f s  %9llu entries\n", secs(t2, t3), (unsigned long long)filler.count);
  printf("  delete  %8.2f s  %9.0f /s\n", secs(t3, t4), n / secs(t3, t4));
  printf("  fsck exit code %d\n", rep.exit_code);
  return rep.exit_code == 0 && filler.count >= static_cast<uint64_t>(n) ? 0 : 1;
}
