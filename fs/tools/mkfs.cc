// mkfs.bento [-s|--size SIZE] [-N|--inodes INODES] [-J|--journal-blocks N] [-L|--label LABEL]
//            [-P|--prov-log-mb MB] IMAGE
// Creates a Bento-fs (FORMAT.md). SIZE accepts K/M/G/T suffixes; with -s the image file is
// created or resized (sparse), otherwise its current size is used.
#include <bento/user/image_lock.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>

#include "core/format_device.h"
#include "format/superblock.h"
#include "tools/image_device.h"

namespace {

bool parse_size(const char* s, uint64_t* out) {
  char* end = nullptr;
  unsigned long long v = strtoull(s, &end, 10);
  if (end == s) return false;
  uint64_t mul = 1;
  switch (*end) {
    case '\0':
      break;
    case 'k':
    case 'K':
      mul = 1ULL << 10;
      break;
    case 'm':
    case 'M':
      mul = 1ULL << 20;
      break;
    case 'g':
    case 'G':
      mul = 1ULL << 30;
      break;
    case 't':
    case 'T':
      mul = 1ULL << 40;
      break;
    default:
      return false;
  }
  if (end[0] != '\0' && end[1] != '\0') return false;
  if (v > UINT64_MAX / mul) return false;  // overflows: not a size
  *out = v * mul;
  return true;
}

// Sizes mkfs cannot make, refused before the image file is touched.
const char* size_problem(uint64_t size) {
  if (size < (8ULL << 20)) return "the minimum is 8 MiB";
  if (size > 0xFFFFFFFFULL * 4096)
    return "the maximum is 16 TiB - 4 KiB (2^32 - 1 blocks: block pointers are 32 bits)";
  return nullptr;
}

void progress(uint64_t done, uint64_t total, void*) {
  fprintf(stderr, "\rmkfs.bento: writing inode table %llu/%llu",
          static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
  if (done == total) fprintf(stderr, "\n");
}

int usage() {
  fprintf(stderr,
          "usage: mkfs.bento [-s|--size SIZE] [-N|--inodes INODES] [-J|--journal-blocks N]\n"
          "                  [-L|--label LABEL] [-P|--prov-log-mb MB] IMAGE\n"
          "-P: size of the provenance log area (default: 1/64 of the image, 256 KiB..64 MiB;\n"
          "0: none, the image can then not be tracked by Bento-prov).\n"
          "SIZE and counts accept K/M/G/T suffixes; with --size the image file is created or\n"
          "resized, otherwise its current size (or the block device's) is used.\n");
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t size = 0, inodes = 0, journal = 0;
  int64_t prov_blocks = -1;
  const char* label = "";
  const char* argv_size = "";
  const char* path = nullptr;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--size") a = "-s";
    if (a == "--inodes") a = "-N";
    if (a == "--journal-blocks") a = "-J";
    if (a == "--label") a = "-L";
    if (a == "--prov-log-mb") a = "-P";
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "-s" || a == "-N" || a == "-J" || a == "-L" || a == "-P") {
      const char* v = next();
      if (v == nullptr) return usage();
      if (a == "-s" && (!parse_size(v, &size) || size == 0)) return usage();
      if (a == "-s") argv_size = v;
      if (a == "-N" && !parse_size(v, &inodes)) return usage();
      if (a == "-J" && !parse_size(v, &journal)) return usage();
      if (a == "-L") label = v;
      if (a == "-P") {
        char* end = nullptr;
        long long mb = strtoll(v, &end, 10);
        if (end == v || *end != '\0' || mb < 0 || mb > 1024) return usage();
        prov_blocks = mb == 0 ? 0 : mb * 256 + 1;  // + the log header block
      }
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else if (path == nullptr) {
      path = argv[i];
    } else {
      return usage();
    }
  }
  if (path == nullptr) return usage();
  bool zeroed = false;
  struct stat st {};
  bool exists = stat(path, &st) == 0;
  std::string err;
  std::unique_ptr<bento::user::ImageLock> lock;
  bool created = false;  // by this run: removed again if formatting fails
  if (size != 0) {
    if (exists && S_ISBLK(st.st_mode)) {
      fprintf(stderr, "mkfs.bento: -s cannot resize a block device\n");
      return 1;
    }
    if (const char* why = size_problem(size)) {
      fprintf(stderr, "mkfs.bento: cannot make a %s image: %s\n", argv_size, why);
      return 1;
    }
    if (!exists) {
      int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
      if (fd < 0) {
        perror(path);
        return 1;
      }
      close(fd);
      created = true;
    }
    // Lock before truncating: a mounted image must not be emptied.
    lock = bento::user::ImageLock::acquire(path, true, &err);
    if (!lock || ftruncate(lock->fd(), 0) != 0 ||
        ftruncate(lock->fd(), static_cast<off_t>(size)) != 0) {
      int e = errno;
      if (lock)
        fprintf(stderr, "mkfs.bento: %s: %s\n", path, strerror(e));
      else
        fprintf(stderr, "mkfs.bento: %s\n", err.c_str());
      if (created) unlink(path);  // leave nothing behind
      return 1;
    }
    zeroed = true;  // a freshly truncated file reads as zeroes
  } else if (!exists) {
    fprintf(stderr, "mkfs.bento: %s does not exist (give -s SIZE to create it)\n", path);
    return 1;
  } else {
    lock = bento::user::ImageLock::acquire(path, true, &err);
    if (!lock) {
      fprintf(stderr, "mkfs.bento: %s\n", err.c_str());
      return 1;
    }
  }
  auto dev = bentofs::ImageDevice::open_file(path, false, &err);
  if (!dev) {
    fprintf(stderr, "mkfs.bento: %s\n", err.c_str());
    return 1;
  }
  dev->set_capacity(1024);
  bentofs::FormatOptions o;
  o.inode_count = inodes;
  o.journal_blocks = journal;
  o.prov_log_blocks = prov_blocks;
  o.device_is_zeroed = zeroed;
  o.label = label;
  o.time_sec = static_cast<uint64_t>(time(nullptr));
  std::random_device rd;
  for (auto& b : o.uuid) b = static_cast<uint8_t>(rd());
  o.progress = progress;
  auto s = bentofs::format_device(*dev, o);
  if (!s.ok()) {
    fprintf(stderr, "mkfs.bento: formatting %s failed: %s\n", path, strerror(s.error()));
    if (created) {
      dev.reset();
      unlink(path);  // leave nothing behind
    }
    return 1;
  }
  // Say what was adjusted instead of changing it silently.
  bentofs::SuperBlock sb;
  (void)dev->sync_all();
  dev->peek(0, &sb, sizeof sb);
  if (inodes != 0 && sb.inode_count.get() != inodes)
    fprintf(stderr,
            "mkfs.bento: note: -N %llu adjusted to %llu inode slots (at least 64, a multiple "
            "of 16)\n",
            static_cast<unsigned long long>(inodes),
            static_cast<unsigned long long>(sb.inode_count.get()));
  if (strlen(label) > sizeof(sb.label) - 1)
    fprintf(stderr, "mkfs.bento: note: label cut to its first %zu bytes: \"%.*s\"\n",
            sizeof(sb.label) - 1, static_cast<int>(sizeof(sb.label) - 1), label);
  printf("mkfs.bento: %s: %llu blocks of 4096 bytes\n", path,
         static_cast<unsigned long long>(dev->block_count()));
  return 0;
}
