// Corruption campaign (issue 15): random byte flips in each metadata region of a populated
// Bento-fs image, hundreds of images. For each image, in a child process (so a crash or a
// hang is counted, not fatal):
//   1. fsck -n: does it see damage?
//   2. a read-write mount, a walk that reads everything, then new files written: refused,
//      served with errors (EUCLEAN/EIO, logged), or served silently;
//   3. fsck -y, then fsck -n: did the repair converge (second check clean)?
// Reports per region and in total: crashes (signals, hangs), silent damaged mounts (fsck
// saw damage, yet the mount, the walk and the writes went through without one error or log
// line), and fsck -y convergence. Exit 1 when a target is missed: 0 crashes, 0 silent
// damaged mounts, convergence >= 95 %.
//
//   fs_corruption_campaign [--images N] [--seed S] [--flips K] [--budget-s SECONDS]
//                          [--max-silent-pct P] [-v] | --dump-seeds DIR
//   fs_corruption_campaign --region NAME --image-seed S   (one image again, as printed)
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/bento_fs.h"
#include "core/format_device.h"
#include "core/geometry.h"
#include "format/crc32c.h"
#include "format/dir.h"
#include "format/endian.h"
#include "format/inode.h"
#include "tools/fsck_check.h"
#include "tools/image_device.h"

namespace {

using namespace bentofs;
using bento::Ino;
using bento::Request;

Request req() {
  Request r;
  r.umask = 0;
  return r;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A populated image: directories (one with 400 names: several buckets), small and large
// files (indirect and double-indirect blocks), symlinks, hard links, xattrs (one big
// enough for a stream), provenance records.
std::vector<uint8_t> base_image() {
  auto dev = ImageDevice::memory(16384);
  FormatOptions fo;
  fo.device_is_zeroed = true;
  if (!format_device(*dev, fo).ok()) abort();
  {
    BentoFs fs(true);
    bento::InitArgs a;
    if (!fs.init(req(), *dev, a).ok()) abort();
    auto write = [&](Ino dir, const std::string& name, uint64_t off, const std::string& data) {
      auto c = fs.create(req(), dir, name, 0644, bento::oflag::kReadWrite);
      if (!c.ok()) abort();
      (void)fs.write(req(), c->entry.ino, c->open.fh, off, bytes(data));
      (void)fs.release(req(), c->entry.ino, c->open.fh, 0);
      return c->entry.ino;
    };
    auto d1 = fs.mkdir(req(), bento::kRootIno, "src", 0755);
    auto d2 = fs.mkdir(req(), d1->ino, "deep", 0755);
    auto big = fs.mkdir(req(), bento::kRootIno, "many", 0755);
    for (int i = 0; i < 40; i++)
      write(i % 2 ? d1->ino : d2->ino, "f" + std::to_string(i), 0,
            std::string(97 * i + 5, static_cast<char>('a' + i % 26)));
    for (int i = 0; i < 400; i++) write(big->ino, "name-" + std::to_string(i), 0, "x");
    Ino f = write(bento::kRootIno, "large", 0, std::string(300000, 'L'));
    write(bento::kRootIno, "sparse", 5ull << 30, "far away");
    (void)fs.link(req(), f, d1->ino, "large-link");
    (void)fs.symlink(req(), "src/f1", bento::kRootIno, "ln");
    (void)fs.setxattr(req(), f, "user.small", bytes("value"), 0);
    (void)fs.setxattr(req(), d1->ino, "user.big", bytes(std::string(9000, 'v')), 0);
    fs.destroy(req());
  }
  return dev->durable_bytes();
}

struct Region {
  const char* name;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // byte ranges [from, to)
};

std::vector<Region> regions(const std::vector<uint8_t>& img) {
  SuperBlock sb;
  memcpy(&sb, img.data(), sizeof sb);
  Geometry g = Geometry::from(sb);
  auto blk = [](uint64_t b, uint64_t from = 0, uint64_t to = 4096) {
    return std::make_pair(b * 4096 + from, b * 4096 + to);
  };
  std::vector<Region> r;
  r.push_back({"superblock", {blk(0, 0, 512)}});
  r.push_back({"journal-super", {blk(g.journal_start, 0, 64)}});
  r.push_back({"inode-bitmap", {blk(g.inode_bitmap_start, 0, 64)}});
  r.push_back({"block-bitmap", {blk(g.block_bitmap_start, 0, 1024)}});
  Region it{"inode-table", {}}, dirs{"directory-blocks", {}}, ind{"indirect-blocks", {}},
      xat{"xattr-blocks", {}};
  for (uint64_t ino = 1; ino < g.inode_count; ino++) {
    DiskInode di;
    uint64_t off = g.inode_block(ino) * 4096 + g.inode_offset(ino);
    memcpy(&di, img.data() + off, sizeof di);
    if (di.mode.get() == 0) continue;
    it.ranges.push_back({off, off + kInodeSize});
    if (bento::mode::is_dir(di.mode.get()))
      for (auto& p : di.direct)
        if (p.get()) dirs.ranges.push_back(blk(p.get()));
    for (uint32_t root : {di.indirect.get(), di.dindirect.get()})
      if (root) ind.ranges.push_back(blk(root));
    if (di.xattr_block.get()) xat.ranges.push_back(blk(di.xattr_block.get()));
  }
  r.push_back(it);
  r.push_back(dirs);
  r.push_back(ind);
  r.push_back(xat);
  if (g.prov_blocks != 0) {
    r.push_back({"prov-log-header", {blk(g.prov_start, 0, 64)}});
    r.push_back({"prov-log-records", {blk(g.prov_start + 1)}});
  }
  return r;
}

// What the child found, passed back through shared memory.
struct Outcome {
  int fsck_n = -1;          // fsck -n exit code on the damaged image
  int mounted = 0;          // read-write mount succeeded
  int errors = 0;           // EUCLEAN/EIO/... seen by the walk and the writes
  int logged = 0;           // bytes the fs logged during mount + workload
  int fsck_y = -1;          // fsck -y exit code
  int fsck_after = -1;      // fsck -n after the repair
  char first_problem[400];  // what fsck -n said first (the first three problems)
  char left[160];           // what fsck -n still said after -y
};

int walk(BentoFs& fs, Ino dir, int depth, int* budget) {
  int errors = 0;
  if (depth > 8 || --*budget < 0) return 0;
  struct Filler : bento::DirFiller {
    std::vector<std::string> names;
    bool wants_entries() const override { return false; }
    bool add(std::string_view n, Ino, uint32_t, uint64_t, const bento::Entry*) override {
      names.emplace_back(n);
      return names.size() < 2000;
    }
  } f;
  auto rd = fs.readdir(req(), dir, 0, 0, f);
  if (!rd.ok()) return 1;
  for (auto& n : f.names) {
    if (n == "." || n == "..") continue;
    auto e = fs.lookup(req(), dir, n);
    if (!e.ok()) {
      errors++;
      continue;
    }
    std::vector<uint8_t> buf(400000);
    if (bento::mode::is_reg(e->attr.mode)) {
      auto r = fs.read(req(), e->ino, 0, 0, buf);
      if (!r.ok()) errors++;
    }
    char names[4096];
    auto l = fs.listxattr(req(), e->ino, names);
    if (!l.ok() && l.error() != ERANGE) errors++;
    if (bento::mode::is_dir(e->attr.mode)) errors += walk(fs, e->ino, depth + 1, budget);
    fs.forget(e->ino, 1);
  }
  return errors;
}

void child(std::vector<uint8_t> img, Outcome* out, int log_fd) {
  alarm(60);
  {
    auto copy = ImageDevice::from_bytes(img);
    FsckOptions n;
    n.replay_journal = false;
    auto r = run_fsck(*copy, n);
    out->fsck_n = r.exit_code;
    std::string p;
    for (size_t i = 0; i < r.problems.size() && i < 3; i++) p += (i ? " | " : "") + r.problems[i];
    snprintf(out->first_problem, sizeof out->first_problem, "%s", p.c_str());
  }
  auto dev = ImageDevice::from_bytes(img);
  {
    dup2(log_fd, 2);
    BentoFs fs;
    bento::InitArgs a;
    if (fs.init(req(), *dev, a).ok()) {
      out->mounted = 1;
      int budget = 300;
      out->errors += walk(fs, bento::kRootIno, 0, &budget);
      auto d = fs.mkdir(req(), bento::kRootIno, "campaign", 0755);
      if (!d.ok()) out->errors++;
      for (int i = 0; d.ok() && i < 24; i++) {
        auto c =
            fs.create(req(), d->ino, "new" + std::to_string(i), 0644, bento::oflag::kReadWrite);
        if (!c.ok()) {
          out->errors++;
          continue;
        }
        auto w = fs.write(req(), c->entry.ino, c->open.fh, 0,
                          bytes(std::string(64 << 10, static_cast<char>('0' + i % 10))));
        if (!w.ok()) out->errors++;
        (void)fs.release(req(), c->entry.ino, c->open.fh, 0);
        fs.forget(c->entry.ino, 1);
      }
      if (fs.sync_now().ok() == false) out->errors++;
      fs.destroy(req());
    }
    out->logged = static_cast<int>(lseek(log_fd, 0, SEEK_CUR));
  }
  FsckOptions y;
  y.repair = true;
  out->fsck_y = run_fsck(*dev, y).exit_code;
  FsckOptions n;
  n.replay_journal = false;
  auto after = run_fsck(*dev, n);
  out->fsck_after = after.exit_code;
  if (!after.problems.empty()) snprintf(out->left, 160, "%s", after.problems[0].c_str());
}

void put(const std::string& path, const uint8_t* p, size_t n) {
  FILE* f = fopen(path.c_str(), "wb");
  if (f == nullptr || fwrite(p, 1, n, f) != n) abort();
  fclose(f);
}

// Seed inputs for the fuzz targets (tests/fs_damage/fuzz/corpus/<target>/), cut from the
// campaign's base image and from a crash image with a committed, unreplayed transaction.
void dump_seeds(const std::string& dir, const std::vector<uint8_t>& img) {
  SuperBlock sb;
  memcpy(&sb, img.data(), sizeof sb);
  Geometry g = Geometry::from(sb);
  auto at = [&](uint64_t b) { return img.data() + b * 4096; };
  put(dir + "/superblock/valid", img.data(), 512);
  int k = 0;
  for (uint64_t ino = 1; ino < g.inode_count && k < 6; ino++) {
    DiskInode di;
    memcpy(&di, at(g.inode_block(ino)) + g.inode_offset(ino), sizeof di);
    if (di.mode.get() == 0) continue;
    put(dir + "/inode/ino" + std::to_string(ino), reinterpret_cast<uint8_t*>(&di), sizeof di);
    if (bento::mode::is_dir(di.mode.get())) {
      // Sealed as the fuzz target's directory (inode 1, generation 0), so that its
      // DIR_CSUM pass reaches the parser behind the checksum.
      std::vector<uint8_t> blocks;
      for (uint32_t i = 0; i < kNumDirect && di.direct[i].get() != 0; i++) {
        const uint8_t* p = at(di.direct[i].get());
        blocks.insert(blocks.end(), p, p + 4096);
        if (g.dir_csum)
          store_le32(blocks.data() + i * 4096 + kDirCsumOffset,
                     dir_block_checksum(g.dir_seed, 1, 0, i, blocks.data() + i * 4096));
      }
      put(dir + "/dir/dir" + std::to_string(ino), blocks.data(), blocks.size());
    }
    if (di.xattr_block.get())
      put(dir + "/xattr/x" + std::to_string(ino), at(di.xattr_block.get()), 4096);
    k++;
  }
  if (g.prov_blocks != 0)
    put(dir + "/prov/area", at(g.prov_start), 4096 * (g.prov_blocks < 5 ? g.prov_blocks : 5));
  // A crash image: one committed transaction left in the journal.
  auto dev = ImageDevice::from_bytes(img);
  BentoFs fs;
  bento::InitArgs a;
  a.options = "commit=600000";
  if (!fs.init(req(), *dev, a).ok()) abort();
  auto c = fs.create(req(), bento::kRootIno, "pending", 0644, bento::oflag::kReadWrite);
  (void)fs.write(req(), c->entry.ino, c->open.fh, 0, bytes("committed, not checkpointed"));
  (void)fs.release(req(), c->entry.ino, c->open.fh, 0);
  (void)fs.commit_now();
  std::vector<uint8_t> crash = dev->durable_bytes();
  fs.destroy(req());
  // The fuzz target's journal area is 64 blocks: say so in the seed's journal superblock.
  uint8_t* js = crash.data() + g.journal_start * 4096;
  store_le64(js + 8, 64);
  store_le32(js + 60, crc32c(js, 60));
  put(dir + "/journal/pending", js, 8 * 4096);
}

struct Tally {
  int images = 0, detected = 0, refused = 0, errors = 0, silent = 0, crashes = 0, converged = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int images = 300, flips = 4;
  uint64_t seed = 1;
  double budget_s = 1e9;
  double max_silent_pct = 0;  // the target (NOTES.md, issue 15): more only to study a regression
  bool verbose = false;
  std::string only_region;
  uint64_t only_seed = 0;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? argv[++i] : (char*)"0"; };
    if (a == "--images")
      images = atoi(next());
    else if (a == "--seed")
      seed = strtoull(next(), nullptr, 10);
    else if (a == "--flips")
      flips = atoi(next());
    else if (a == "--budget-s")
      budget_s = atof(next());
    else if (a == "-v")
      verbose = true;
    else if (a == "--max-silent-pct")
      max_silent_pct = atof(next());
    else if (a == "--region")
      only_region = next();
    else if (a == "--image-seed")
      only_seed = strtoull(next(), nullptr, 10);
    else if (a == "--dump-seeds") {
      dump_seeds(next(), base_image());
      return 0;
    } else {
      fprintf(stderr,
              "usage: %s [--images N] [--seed S] [--flips K] [--budget-s S] "
              "[--max-silent-pct P] [-v] | --dump-seeds DIR | --region NAME --image-seed S\n",
              argv[0]);
      return 2;
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<uint8_t> base = base_image();
  std::vector<Region> regs = regions(base);
  std::vector<Tally> tally(regs.size());
  std::mt19937_64 rng(seed);
  auto* out = static_cast<Outcome*>(
      mmap(nullptr, sizeof(Outcome), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  int done = 0;
  if (!only_region.empty()) {
    images = 1;
    verbose = true;
  }
  for (int i = 0; i < images; i++) {
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > budget_s)
      break;
    size_t ri = static_cast<size_t>(i) % regs.size();
    if (!only_region.empty()) {
      for (ri = 0; ri < regs.size() && only_region != regs[ri].name; ri++) {
      }
      if (ri == regs.size()) {
        fprintf(stderr, "no region %s\n", only_region.c_str());
        return 2;
      }
    }
    const Region& reg = regs[ri];
    if (reg.ranges.empty()) continue;
    std::vector<uint8_t> img = base;
    const uint64_t img_seed = only_region.empty() ? rng() : only_seed;
    std::mt19937_64 r2(img_seed);
    for (int k = 0; k < flips; k++) {
      auto [from, to] = reg.ranges[r2() % reg.ranges.size()];
      uint64_t off = from + r2() % (to - from);
      uint8_t x = static_cast<uint8_t>(r2());
      img[off] ^= x != 0 ? x : 0x80;
    }
    *out = Outcome();
    out->fsck_n = out->fsck_y = out->fsck_after = -1;
    char tmpl[] = "/tmp/bento-campaign-log-XXXXXX";
    int log_fd = mkstemp(tmpl);
    unlink(tmpl);
    pid_t pid = fork();
    if (pid == 0) {
      child(std::move(img), out, log_fd);
      _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (!only_region.empty()) {  // one image: show what the fs logged
      char buf[4096];
      ssize_t n;
      lseek(log_fd, 0, SEEK_SET);
      while ((n = read(log_fd, buf, sizeof buf)) > 0)
        fwrite(buf, 1, static_cast<size_t>(n), stdout);
    }
    close(log_fd);
    done++;
    Tally& t = tally[ri];
    t.images++;
    bool crashed = !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    bool detected = out->fsck_n == 4 || out->fsck_n == 8;
    bool silent = detected && out->mounted && out->errors == 0 && out->logged == 0;
    bool converged = !crashed && out->fsck_after == 0;
    t.crashes += crashed;
    t.detected += detected;
    t.refused += !out->mounted;
    t.errors += out->mounted && (out->errors != 0 || out->logged != 0);
    t.silent += silent;
    t.converged += converged;
    if (crashed || silent || !converged || verbose)
      printf(
          "%-17s seed %-20llu %s fsck-n %d mount %s errors %d log %d fsck-y %d after %d%s%s%s%s\n",
          reg.name, static_cast<unsigned long long>(img_seed),
          crashed ? (WIFSIGNALED(st) ? "CRASH(signal)" : "CRASH(exit)") : "ok", out->fsck_n,
          out->mounted ? "yes" : "no", out->errors, out->logged, out->fsck_y, out->fsck_after,
          silent ? " SILENT" : "", !converged ? " NOT-CONVERGED" : "",
          out->first_problem[0] ? (std::string(" [") + out->first_problem + "]").c_str() : "",
          out->left[0] ? (std::string(" left: [") + out->left + "]").c_str() : "");
  }
  Tally sum;
  printf("\n%-17s %6s %8s %7s %7s %6s %7s %9s\n", "region", "images", "detected", "refused",
         "errors", "silent", "crashes", "converged");
  for (size_t i = 0; i < regs.size(); i++) {
    const Tally& t = tally[i];
    printf("%-17s %6d %8d %7d %7d %6d %7d %9d\n", regs[i].name, t.images, t.detected, t.refused,
           t.errors, t.silent, t.crashes, t.converged);
    sum.images += t.images;
    sum.detected += t.detected;
    sum.refused += t.refused;
    sum.errors += t.errors;
    sum.silent += t.silent;
    sum.crashes += t.crashes;
    sum.converged += t.converged;
  }
  double conv = sum.images ? 100.0 * sum.converged / sum.images : 100.0;
  printf("%-17s %6d %8d %7d %7d %6d %7d %9d (%.1f%%)\n", "total", sum.images, sum.detected,
         sum.refused, sum.errors, sum.silent, sum.crashes, sum.converged, conv);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  printf("%d images in %.1f s (flips per image: %d, seed %llu)\n", done, secs, flips,
         static_cast<unsigned long long>(seed));
  // A time budget (CI's quick run on a loaded host) may stop it early: said, and a run
  // that did not reach every region at least twice proves too little to pass.
  const bool cut = done < images;
  if (cut)
    printf("*** the %.0f s budget stopped the campaign after %d of %d images\n", budget_s, done,
           images);
  const bool enough = !cut || done >= 2 * static_cast<int>(regs.size());
  double silent_pct = sum.images ? 100.0 * sum.silent / sum.images : 0;
  bool pass = sum.crashes == 0 && silent_pct <= max_silent_pct && conv >= 95.0 && enough;
  if (sum.silent != 0)
    printf("silent damaged mounts: %.1f%% of images (allowed here: %.1f%%)\n", silent_pct,
           max_silent_pct);
  printf("targets (0 crashes, 0 silent damaged mounts, >= 95%% converge): %s\n",
         pass ? "MET" : "MISSED");
  return pass ? 0 : 1;
}
