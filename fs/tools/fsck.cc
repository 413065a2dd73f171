// fsck.bento IMAGE: checks a Bento-fs image (see fsck_check.h). Exit codes as e2fsck:
// 0 clean, 1 errors corrected (journal replayed), 4 errors left, 8 operational error.
#include <bento/user/image_lock.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "tools/fsck_check.h"
#include "tools/image_device.h"

int main(int argc, char** argv) {
  bool no_replay = false;
  bool repair = false;
  const char* path = nullptr;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-n") == 0) {
      no_replay = true;
    } else if (strcmp(argv[i], "-y") == 0 || strcmp(argv[i], "-p") == 0) {
      repair = true;
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      printf(
          "usage: fsck.bento [-n|-y] IMAGE\n"
          "  -n  open read-only: do not replay the journal, change nothing (allowed while\n"
          "      the image is mounted)\n"
          "  -y  repair what it finds: superblock and journal superblock, bitmaps and\n"
          "      counts, bad pointers and sizes, shared blocks, attributes, directories,\n"
          "      unreachable files (to /lost+found), the provenance log header\n"
          "exit: 0 clean, 1 errors corrected, 4 errors left, 8 operational error\n");
      return 0;
    } else if (path == nullptr) {
      path = argv[i];
    } else {
      fprintf(stderr, "fsck.bento: unexpected argument %s\n", argv[i]);
      return 8;
    }
  }
  if (path == nullptr) {
    fprintf(stderr, "usage: fsck.bento [-n] IMAGE\n");
    return 8;
  }
  std::string err;
  // Anything but -n writes (journal replay, repairs): one writer per image.
  std::unique_ptr<bento::user::ImageLock> lock;
  if (!no_replay) {
    lock = bento::user::ImageLock::acquire(path, true, &err);
    if (!lock) {
      fprintf(stderr, "fsck.bento: %s (fsck -n can check it read-only)\n", err.c_str());
      return 8;
    }
  }
  auto dev = bentofs::ImageDevice::open_file(path, no_replay, &err);
  if (!dev) {
    fprintf(stderr, "fsck.bento: %s\n", err.c_str());
    return 8;
  }
  bentofs::FsckOptions opts;
  opts.replay_journal = !no_replay;
  opts.repair = repair && !no_replay;
  auto rep = bentofs::run_fsck(*dev, opts);
  for (const auto& n : rep.notes) printf("%s: %s\n", path, n.c_str());
  for (const auto& f : rep.fixed) printf("%s: FIXED: %s\n", path, f.c_str());
  for (const auto& p : rep.problems) printf("%s: PROBLEM: %s\n", path, p.c_str());
  if (rep.exit_code == 0 || rep.exit_code == 1)
    printf("%s: clean, %llu inodes and %llu blocks in use\n", path,
           static_cast<unsigned long long>(rep.inodes_used),
           static_cast<unsigned long long>(rep.blocks_used));
  else if (rep.exit_code == 4)
    printf("%s: %zu problem(s) found; the file system is NOT clean\n", path, rep.problems.size());
  return rep.exit_code;
}
