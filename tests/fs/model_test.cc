// Randomised model test: seeded random operation sequences drive Bento-fs in-process through
// the File Operations API; every result (value or errno) is compared with
//   (a) a simple in-memory model (std::map path -> shared node: dirs, regular files with
//       contents, symlinks, hard links sharing a node, link counts, sizes, modes), and
//   (b) the same operation done with real syscalls on a private tmpfs (mounted under a temp
//       dir when root, else a directory in /dev/shm; if neither works, (b) is skipped with a
//       loud message).
// Periodically the fs is remounted (destroy + init on the same image) and the whole tree is
// compared; at the end fsck must be clean.
//
// Reproduce one seed: BENTO_MODEL_SEED=<n> [BENTO_MODEL_OPS=<count>] bento_fs_test
//   --gtest_filter='*Model*'   (the seed is printed with every failure).
//
// How paths are resolved, identically in all three: every component but the last is looked
// up from the root without following symlinks (Bento: lookup + "is it a directory";
// tmpfs: openat(O_PATH|O_NOFOLLOW|O_DIRECTORY); model: map walk), giving ENOENT/ENOTDIR.
// The last component is then handed to the operation. Symlink targets all start with a name
// that never exists ("zz_none/"), so nothing in the harness ever resolves through them.
//
// Allowed differences between tmpfs and the model/Bento (everything else must be equal):
//  D1 link(directory, existing name): Bento checks "source is a directory" (EPERM) before
//     "name exists" (EEXIST); Linux's linkat does filename_create (EEXIST) before vfs_link's
//     EPERM. Both errors apply; POSIX does not order them.
//  D2 truncate of a symlink by path: Bento's setattr sees the symlink inode (EINVAL); a
//     real truncate(2) is resolved by the VFS, which follows the (dangling) target (ENOENT).
//     The kernel never sends setattr(size) on a symlink to a file system.
//  D3 st_size of directories is not compared (tmpfs counts entries, Bento reports its
//     directory blocks); readdir order is not compared (names are sorted); timestamps and
//     st_blocks are not compared.
// Operations whose result is decided by the VFS rather than the fs are not generated:
// reads through write-only handles and ftruncate through read-only ones (EBADF/EINVAL come
// from the kernel's file table), chmod of symlinks (Linux has no lchmod), O_TRUNC with
// O_RDONLY (unspecified by POSIX). The test runs as root with umask 0 (Bento does not apply
// umask; FUSE does), so permission checks never deny.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "fs_test_util.h"

namespace bentofs::test {
namespace {

using namespace bento;

// ---------------------------------------------------------------------------------------
// The model.

enum class Kind { kDir, kReg, kSym };

struct Node {
  Kind kind;
  std::string data;    // file contents or symlink target
  uint32_t perm;       // st_mode & 07777
  uint32_t links = 0;  // names (non-directories); directories compute theirs
};
using NodeP = std::shared_ptr<Node>;

std::vector<std::string> split(const std::string& p) {
  std::vector<std::string> out;
  if (p.empty()) return out;
  size_t start = 0;
  for (;;) {
    size_t e = p.find('/', start);
    out.push_back(p.substr(start, e == std::string::npos ? std::string::npos : e - start));
    if (e == std::string::npos) return out;
    start = e + 1;
  }
}
// p is dir or below it.
bool inside(const std::string& p, const std::string& dir) {
  if (dir.empty()) return true;
  return p == dir || p.rfind(dir + "/", 0) == 0;
}

class Model {
 public:
  explicit Model(uint32_t root_perm) {
    paths_[""] = std::make_shared<Node>(Node{Kind::kDir, "", root_perm});
  }
  NodeP get(const std::string& p) const {
    auto it = paths_.find(p);
    return it == paths_.end() ? nullptr : it->second;
  }
  // Errors resolving every component of p's parent: ENOENT, ENOTDIR or 0.
  int resolve_parent(const std::string& p) const {
    std::string par = parent_of(p);
    if (par.empty()) return 0;
    std::string cur;
    for (auto& c : split(par)) {
      cur = cur.empty() ? c : cur + "/" + c;
      NodeP n = get(cur);
      if (!n) return ENOENT;
      if (n->kind != Kind::kDir) return ENOTDIR;
    }
    return 0;
  }
  std::vector<std::string> children(const std::string& dir) const {
    std::vector<std::string> out;
    for (auto it = paths_.upper_bound(dir); it != paths_.end(); ++it) {
      const std::string& k = it->first;
      if (!inside(k, dir)) {
        if (!dir.empty() && k.compare(0, dir.size(), dir) != 0) break;
        continue;
      }
      if (k != dir && parent_of(k) == dir) out.push_back(name_of(k));
    }
    return out;
  }
  bool empty_dir(const std::string& dir) const { return children(dir).empty(); }
  uint32_t nlink(const std::string& p, const NodeP& n) const {
    if (n->kind != Kind::kDir) return n->links;
    uint32_t sub = 0;
    for (auto& c : children(p)) sub += get(p.empty() ? c : p + "/" + c)->kind == Kind::kDir;
    return 2 + sub;
  }
  void add(const std::string& p, NodeP n) {
    if (n->kind != Kind::kDir) n->links++;
    paths_[p] = std::move(n);
  }
  void drop(const std::string& p) {
    NodeP n = get(p);
    if (n->kind != Kind::kDir) n->links--;
    paths_.erase(p);
  }
  // Renames every path at or below from to the same path below to.
  std::map<std::string, NodeP> take_subtree(const std::string& from) {
    std::map<std::string, NodeP> out;
    for (auto it = paths_.begin(); it != paths_.end();) {
      if (!it->first.empty() && inside(it->first, from)) {
        out[it->first.substr(from.size())] = it->second;
        it = paths_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }
  void put_subtree(const std::string& to, const std::map<std::string, NodeP>& sub) {
    for (auto& [rest, n] : sub) paths_[to + rest] = n;
  }
  const std::map<std::string, NodeP>& paths() const { return paths_; }

 private:
  std::map<std::string, NodeP> paths_;  // "" is the root
};

// ---------------------------------------------------------------------------------------
// tmpfs side.

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

class Tmpfs {
 public:
  // Mounts a private tmpfs under a fresh temp dir when possible, else uses /dev/shm.
  bool setup() {
    char tmpl[] = "/tmp/bento-model-XXXXXX";
    if (mkdtemp(tmpl) != nullptr) {
      if (mount("tmpfs", tmpl, "tmpfs", MS_NOSUID | MS_NODEV, "size=512m,mode=0755") == 0) {
        base_ = tmpl;
        mounted_ = true;
        root_ = base_;
      } else {
        rmdir(tmpl);
      }
    }
    if (root_.empty()) {
      struct statfs sf;
      char shm[] = "/dev/shm/bento-model-XXXXXX";
      if (statfs("/dev/shm", &sf) == 0 && sf.f_type == 0x01021994 /* TMPFS_MAGIC */ &&
          mkdtemp(shm) != nullptr) {
        root_ = shm;
        base_ = shm;
        chmod(shm, 0755);
      }
    }
    if (root_.empty()) return false;
    rootfd_ = Fd(open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    return rootfd_.fd >= 0;
  }
  ~Tmpfs() {
    rootfd_ = Fd();
    if (root_.empty()) return;
    if (mounted_) {
      umount2(base_.c_str(), MNT_DETACH);
      rmdir(base_.c_str());
    } else {
      std::string cmd = "rm -rf '" + base_ + "'";
      (void)system(cmd.c_str());
    }
  }
  bool ok() const { return rootfd_.fd >= 0; }
  const std::string& root() const { return root_; }

  // The parent directory of p, walked without following symlinks: fd or errno.
  int parent(const std::string& p, Fd* out) const {
    Fd cur(dup(rootfd_.fd));
    for (auto& c : split(parent_of(p))) {
      int n = openat(cur.fd, c.c_str(), O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
      if (n < 0) return errno;
      cur = Fd(n);
    }
    *out = std::move(cur);
    return 0;
  }

 private:
  std::string base_, root_;
  bool mounted_ = false;
  Fd rootfd_;
};

int err_of(long r) {
  return r < 0 ? errno : 0;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// ---------------------------------------------------------------------------------------
// The test.

struct Handle {
  NodeP node;
  std::string path;  // at open time (for messages)
  Ino ino = 0;
  Fh fh = 0;
  Fd fd;
  uint32_t flags = 0;
};

class BentoFsModelTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    has_tmpfs_ = tmp_.setup();
    if (!has_tmpfs_) {
      fprintf(stderr,
              "\n*** WARNING: BentoFsModelTest cannot mount a tmpfs nor use /dev/shm: the "
              "comparison with real syscalls (b) is SKIPPED; only the model is checked. ***\n\n");
    }
    old_umask_ = umask(0);
    t_ = std::make_unique<TestFs>(32768);  // 128 MiB
    auto root = t_->fs->getattr(t_->r, kRootIno, 0);
    ASSERT_TRUE(root.ok());
    m_ = std::make_unique<Model>(root->mode & 07777);
    if (has_tmpfs_) {
      ASSERT_EQ(chmod(tmp_.root().c_str(), root->mode & 07777), 0);
    }
    auto st = t_->fs->statfs(t_->r, kRootIno);
    ASSERT_TRUE(st.ok());
    inodes_used0_ = st->files - st->files_free;
  }
  void TearDown() override {
    handles_.clear();
    if (t_) t_->unmount();
    umask(old_umask_);
  }

  BentoFs& fs() { return *t_->fs; }
  const Request& r() { return t_->r; }

  // ---- Bento path resolution (lookups from the root, each forgotten at once) ----
  int b_parent(const std::string& p, Ino* out) {
    Ino cur = kRootIno;
    for (auto& c : split(parent_of(p))) {
      auto e = fs().lookup(r(), cur, c);
      if (!e.ok()) return e.error();
      fs().forget(e->ino, 1);
      if (!mode::is_dir(e->attr.mode)) return ENOTDIR;
      cur = e->ino;
    }
    *out = cur;
    return 0;
  }
  // Looks up p itself; the lookup count is kept only if keep.
  int b_lookup(const std::string& p, Entry* out, bool keep = false) {
    if (p.empty()) {
      auto a = fs().getattr(r(), kRootIno, 0);
      if (!a.ok()) return a.error();
      out->ino = kRootIno;
      out->attr = *a;
      return 0;
    }
    Ino dir;
    if (int e = b_parent(p, &dir)) return e;
    auto e = fs().lookup(r(), dir, name_of(p));
    if (!e.ok()) return e.error();
    if (!keep) fs().forget(e->ino, 1);
    *out = *e;
    return 0;
  }

  // ---- random choices ----
  uint32_t rnd(uint32_t n) { return n == 0 ? 0 : rng_() % n; }
  std::string rand_path(bool allow_long) {
    static const char* comps[] = {"a", "b", "c", "d"};
    int depth = 1 + rnd(3);
    std::string p;
    for (int i = 0; i < depth; i++) p += (i ? "/" : "") + std::string(comps[rnd(4)]);
    if (allow_long && rnd(40) == 0)
      p = parent_of(p) + (parent_of(p).empty() ? "" : "/") + std::string(kNameMax + 1, 'L');
    return p;
  }
  // A name for something new: usually a random name in an existing directory (so the
  // operation can succeed), else any path (missing parents, existing names).
  std::string pick_new(bool allow_long) {
    if (rnd(5) < 3) {
      std::vector<std::string> dirs;
      for (auto& [p, n] : m_->paths())
        if (n->kind == Kind::kDir) dirs.push_back(p);
      const std::string& d = dirs[rnd(dirs.size())];
      if (split(d).size() < 4) {
        std::string name = std::string(1, "abcdef"[rnd(6)]);
        if (allow_long && rnd(40) == 0) name = std::string(kNameMax + 1, 'L');
        return d.empty() ? name : d + "/" + name;
      }
    }
    return rand_path(allow_long);
  }
  // Half of the time an existing path (of the wanted kind when given).
  std::string pick_path(bool allow_long, int kind = -1) {
    if (rnd(2) == 0) {
      std::vector<std::string> c;
      for (auto& [p, n] : m_->paths())
        if (!p.empty() && (kind < 0 || static_cast<int>(n->kind) == kind)) c.push_back(p);
      if (!c.empty()) return c[rnd(c.size())];
    }
    return rand_path(allow_long);
  }
  std::string rand_data(size_t n) {
    std::string s(n, '\0');
    uint32_t x = rng_();
    for (size_t i = 0; i < n; i++) {
      x = x * 1103515245u + 12345u;
      s[i] = static_cast<char>('A' + (x >> 16) % 58);
    }
    return s;
  }
  uint64_t total_data() const {
    uint64_t sum = 0;
    std::set<Node*> seen;
    for (auto& [p, n] : m_->paths())
      if (seen.insert(n.get()).second) sum += n->data.size();
    return sum;
  }
  uint64_t rand_offset(uint64_t size) {
    uint32_t k = rnd(100);
    if (k < 3 && total_data() < (24u << 20)) return rnd(5u << 20);  // double-indirect range
    if (k < 20) return rnd(300000);
    return rnd(static_cast<uint32_t>(size + 8192));
  }

  // ---- comparisons ----
  // tmpfs result vs the model's, allowing the documented differences.
  void check_tmpfs(int want, int got, bool allowed = false) {
    if (!has_tmpfs_) return;
    if (allowed) return;
    ASSERT_EQ(got, want) << "tmpfs disagrees with the model (errno " << strerror(got) << " vs "
                         << strerror(want) << ")";
  }

  // Applies model write semantics.
  static void model_write(Node& n, uint64_t off, const std::string& d) {
    if (n.data.size() < off + d.size()) n.data.resize(off + d.size(), '\0');
    n.data.replace(off, d.size(), d);
  }

  std::string b_read_all(Ino ino, uint64_t size) {
    std::string out;
    std::string buf(1 << 20, '\0');
    uint64_t off = 0;
    for (;;) {
      auto n = fs().read(r(), ino, 0, off, {reinterpret_cast<uint8_t*>(buf.data()), buf.size()});
      EXPECT_TRUE(n.ok()) << n.error();
      if (!n.ok() || *n == 0) break;
      out.append(buf.data(), *n);
      off += *n;
      if (off > size + (1 << 20)) break;
    }
    return out;
  }
  static std::string t_read(int fd, uint64_t off, size_t len, int* err) {
    std::string out(len, '\0');
    size_t got = 0;
    *err = 0;
    while (got < len) {
      ssize_t n = pread(fd, out.data() + got, len - got, off + got);
      if (n < 0) {
        *err = errno;
        break;
      }
      if (n == 0) break;
      got += n;
    }
    out.resize(got);
    return out;
  }

  std::vector<std::pair<std::string, uint32_t>> b_list(Ino dir, int* err) {
    std::vector<std::pair<std::string, uint32_t>> out;
    auto od = fs().opendir(r(), dir, 0);
    if (!od.ok()) {
      *err = od.error();
      return out;
    }
    uint64_t off = 0;
    *err = 0;
    for (int guard = 0; guard < 10000; guard++) {
      VecFiller f(1 + rnd(8));
      Status s = fs().readdir(r(), dir, od->fh, off, f);
      if (!s.ok()) {
        *err = s.error();
        break;
      }
      if (f.items.empty()) break;
      for (auto& i : f.items) out.push_back({i.name, i.mode & mode::kTypeMask});
      off = f.items.back().next;
    }
    EXPECT_TRUE(fs().releasedir(r(), dir, od->fh).ok());
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::vector<std::pair<std::string, uint32_t>> t_list(int dfd, int* err) {
    std::vector<std::pair<std::string, uint32_t>> out;
    DIR* d = fdopendir(dfd);
    if (d == nullptr) {
      *err = errno;
      close(dfd);
      return out;
    }
    *err = 0;
    while (struct dirent* de = readdir(d)) {
      uint32_t type = static_cast<uint32_t>(de->d_type) << 12;
      out.push_back({de->d_name, type});
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<std::pair<std::string, uint32_t>> m_list(const std::string& p) {
    std::vector<std::pair<std::string, uint32_t>> out = {{".", mode::kDirectory},
                                                         {"..", mode::kDirectory}};
    for (auto& c : m_->children(p)) {
      NodeP n = m_->get(p.empty() ? c : p + "/" + c);
      out.push_back({c, n->kind == Kind::kDir   ? mode::kDirectory
                        : n->kind == Kind::kReg ? mode::kRegular
                                                : mode::kSymlink});
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static uint32_t type_bits(Kind k) {
    return k == Kind::kDir ? mode::kDirectory : k == Kind::kReg ? mode::kRegular : mode::kSymlink;
  }

  // Whole tree: every model path in Bento (and tmpfs) with type, mode, nlink, size, data,
  // listing; hard links <=> same inode, in both.
  void compare_tree() {
    std::map<Node*, Ino> b_ino;
    std::map<Ino, Node*> b_node;
    std::map<Node*, ino_t> t_ino;
    std::map<ino_t, Node*> t_node;
    for (auto& [p, n] : m_->paths()) {
      SCOPED_TRACE("tree path '" + p + "'");
      Entry e;
      ASSERT_EQ(b_lookup(p, &e), 0);
      auto [bi, bnew] = b_ino.insert({n.get(), e.ino});
      ASSERT_EQ(bi->second, e.ino) << "hard links must share the inode";
      auto [bn, bnew2] = b_node.insert({e.ino, n.get()});
      ASSERT_EQ(bn->second, n.get()) << "distinct files share an inode";
      Attr a = e.attr;
      ASSERT_EQ(a.mode & mode::kTypeMask, type_bits(n->kind));
      EXPECT_EQ(a.mode & 07777, n->perm);
      EXPECT_EQ(a.nlink, m_->nlink(p, n));
      if (n->kind == Kind::kReg && bnew) {
        ASSERT_EQ(a.size, n->data.size());
        ASSERT_TRUE(b_read_all(e.ino, a.size) == n->data) << "contents differ";
      } else if (n->kind == Kind::kSym) {
        EXPECT_EQ(a.size, n->data.size());
        std::string buf(kPathMax, '\0');
        auto len = fs().readlink(r(), e.ino, {buf.data(), buf.size()});
        ASSERT_TRUE(len.ok());
        EXPECT_EQ(buf.substr(0, *len), n->data);
      } else if (n->kind == Kind::kDir) {
        int err;
        auto l = b_list(e.ino, &err);
        ASSERT_EQ(err, 0);
        EXPECT_EQ(l, m_list(p));
      }
      if (!has_tmpfs_) continue;
      struct stat st;
      std::string full = tmp_.root() + (p.empty() ? "" : "/" + p);
      ASSERT_EQ(lstat(full.c_str(), &st), 0) << full;
      auto [ti, tnew] = t_ino.insert({n.get(), st.st_ino});
      ASSERT_EQ(ti->second, st.st_ino) << "tmpfs: hard links must share the inode";
      auto [tn, tnew2] = t_node.insert({st.st_ino, n.get()});
      ASSERT_EQ(tn->second, n.get());
      ASSERT_EQ(st.st_mode & S_IFMT, type_bits(n->kind));
      EXPECT_EQ(st.st_mode & 07777, n->perm);
      EXPECT_EQ(st.st_nlink, m_->nlink(p, n));
      if (n->kind == Kind::kReg && tnew) {
        ASSERT_EQ(static_cast<uint64_t>(st.st_size), n->data.size());
        Fd fd(open(full.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        int err;
        ASSERT_TRUE(t_read(fd.fd, 0, n->data.size() + 10, &err) == n->data);
      } else if (n->kind == Kind::kSym) {
        std::string buf(kPathMax, '\0');
        ssize_t len = readlink(full.c_str(), buf.data(), buf.size());
        ASSERT_GE(len, 0);
        EXPECT_EQ(buf.substr(0, len), n->data);
      } else if (n->kind == Kind::kDir) {
        int err;
        auto l = t_list(open(full.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), &err);
        ASSERT_EQ(err, 0);
        EXPECT_EQ(l, m_list(p));
      }
    }
  }

  // Releases every handle (the kernel would before an unmount).
  void release_all() {
    for (auto& h : handles_) {
      ASSERT_TRUE(fs().release(r(), h.ino, h.fh, 0).ok());
      fs().forget(h.ino, 1);
    }
    handles_.clear();
  }
  // After all handles are gone: every inode in use is reachable by a name (no leak).
  void check_inode_count() {
    auto st = fs().statfs(r(), kRootIno);
    ASSERT_TRUE(st.ok());
    std::set<Node*> live;
    for (auto& [p, n] : m_->paths())
      if (!p.empty()) live.insert(n.get());
    EXPECT_EQ(st->files - st->files_free, inodes_used0_ + live.size()) << "inode leak";
  }

  // ---- operations; each compares Bento and tmpfs against the model ----
  void op_create() {
    std::string p = rnd(3) ? pick_new(true) : pick_path(true);
    uint32_t variant = rnd(3);  // 0 plain, 1 O_EXCL, 2 O_TRUNC
    uint32_t acc = rnd(2) ? oflag::kReadWrite : oflag::kWriteOnly;
    uint32_t flags = acc | oflag::kCreate | (variant == 1 ? oflag::kExclusive : 0) |
                     (variant == 2 ? oflag::kTruncate : 0);
    static const uint32_t perms[] = {0644, 0600, 0755, 0444, 0640};
    uint32_t perm = perms[rnd(5)];
    SCOPED_TRACE("create " + p + " flags " + std::to_string(flags));
    // Model.
    int want = m_->resolve_parent(p);
    NodeP node;
    if (!want) {
      if (name_of(p).size() > kNameMax) {
        want = ENAMETOOLONG;
      } else if (NodeP n = m_->get(p)) {
        if (variant == 1)
          want = EEXIST;
        else if (n->kind == Kind::kDir)
          want = EISDIR;
        else if (n->kind == Kind::kSym)
          want = ELOOP;
        else
          node = n;
      } else {
        node = std::make_shared<Node>(Node{Kind::kReg, "", perm});
        m_->add(p, node);
      }
      if (node && variant == 2) node->data.clear();
    }
    // Bento.
    Ino dir;
    int got = b_parent(p, &dir);
    CreateReply cr;
    if (!got) {
      auto c = fs().create(r(), dir, name_of(p), perm, flags);
      got = c.error();
      if (c.ok()) cr = *c;
    }
    ASSERT_EQ(got, want);
    // tmpfs.
    Fd fd;
    if (has_tmpfs_) {
      Fd pfd;
      int tgot = tmp_.parent(p, &pfd);
      if (!tgot) {
        int oflags = (acc == oflag::kReadWrite ? O_RDWR : O_WRONLY) | O_CREAT | O_NOFOLLOW |
                     O_CLOEXEC | (variant == 1 ? O_EXCL : 0) | (variant == 2 ? O_TRUNC : 0);
        fd = Fd(openat(pfd.fd, name_of(p).c_str(), oflags, perm));
        tgot = fd.fd < 0 ? errno : 0;
      }
      check_tmpfs(want, tgot);
      if (HasFatalFailure()) return;
    }
    if (want) return;
    ASSERT_EQ(cr.entry.attr.mode & mode::kTypeMask, mode::kRegular);
    ASSERT_EQ(cr.entry.attr.size, node->data.size());
    keep_or_release(node, p, cr.entry.ino, cr.open.fh, std::move(fd), flags);
  }

  void keep_or_release(NodeP node, const std::string& p, Ino ino, Fh fh, Fd fd, uint32_t flags) {
    if (node->kind == Kind::kReg && handles_.size() < 6 && rnd(2) == 0) {
      Handle h;
      h.node = node;
      h.path = p;
      h.ino = ino;
      h.fh = fh;
      h.fd = std::move(fd);
      h.flags = flags;
      handles_.push_back(std::move(h));
      return;
    }
    ASSERT_TRUE(fs().release(r(), ino, fh, 0).ok());
    fs().forget(ino, 1);
  }

  void op_mkdir() {
    std::string p = pick_new(true);
    // No set-id bits: the VFS strips them from mkdir's mode before any fs sees it (set-gid
    // comes from the parent, or from chmod).
    static const uint32_t perms[] = {0755, 0700, 01777, 0750, 0711};
    uint32_t perm = perms[rnd(5)];
    SCOPED_TRACE("mkdir " + p);
    int want = m_->resolve_parent(p);
    if (!want) {
      if (name_of(p).size() > kNameMax) {
        want = ENAMETOOLONG;
      } else if (m_->get(p)) {
        want = EEXIST;
      } else {
        // New directories inherit the parent's set-gid bit.
        uint32_t inherit = m_->get(parent_of(p))->perm & S_ISGID;
        m_->add(p, std::make_shared<Node>(Node{Kind::kDir, "", perm | inherit}));
      }
    }
    Ino dir;
    int got = b_parent(p, &dir);
    if (!got) {
      auto e = fs().mkdir(r(), dir, name_of(p), perm);
      got = e.error();
      if (e.ok()) fs().forget(e->ino, 1);
    }
    ASSERT_EQ(got, want);
    if (has_tmpfs_) {
      Fd pfd;
      int tgot = tmp_.parent(p, &pfd);
      if (!tgot) tgot = err_of(mkdirat(pfd.fd, name_of(p).c_str(), perm));
      check_tmpfs(want, tgot);
    }
  }

  void op_remove(bool dir) {
    std::string p = pick_path(true, dir ? static_cast<int>(Kind::kDir) : -1);
    SCOPED_TRACE(std::string(dir ? "rmdir " : "unlink ") + p);
    int want = m_->resolve_parent(p);
    if (!want) {
      NodeP n = m_->get(p);
      if (name_of(p).size() > kNameMax)
        want = ENAMETOOLONG;
      else if (!n)
        want = ENOENT;
      else if (dir && n->kind != Kind::kDir)
        want = ENOTDIR;
      else if (!dir && n->kind == Kind::kDir)
        want = EISDIR;
      else if (dir && !m_->empty_dir(p))
        want = ENOTEMPTY;
      else
        m_->drop(p);
    }
    Ino pd;
    int got = b_parent(p, &pd);
    if (!got)
      got = (dir ? fs().rmdir(r(), pd, name_of(p)) : fs().unlink(r(), pd, name_of(p))).error();
    ASSERT_EQ(got, want);
    if (has_tmpfs_) {
      Fd pfd;
      int tgot = tmp_.parent(p, &pfd);
      if (!tgot) tgot = err_of(unlinkat(pfd.fd, name_of(p).c_str(), dir ? AT_REMOVEDIR : 0));
      check_tmpfs(want, tgot);
    }
  }

  void op_rename() {
    std::string from = pick_path(false), to = rnd(2) ? pick_new(false) : pick_path(false);
    // Sometimes aim into the source's own subtree.
    if (rnd(8) == 0 && m_->get(from) && m_->get(from)->kind == Kind::kDir)
      to = from + "/" + std::string(1, "abcd"[rnd(4)]) +
           (rnd(2) ? "/" + std::string(1, "abcd"[rnd(4)]) : "");
    uint32_t flags = 0;
    uint32_t f = rnd(6);
    if (f == 0) flags = rename_flag::kNoReplace;
    if (f == 1) flags = rename_flag::kExchange;
    SCOPED_TRACE("rename " + from + " -> " + to + " flags " + std::to_string(flags));
    // Model, in Linux's order of checks (do_renameat2, then vfs_rename).
    int want = m_->resolve_parent(from);
    if (!want) want = m_->resolve_parent(to);
    if (!want) {
      NodeP s = m_->get(from), d = m_->get(to);
      std::string p1 = parent_of(from), p2 = parent_of(to);
      bool sdir = s && s->kind == Kind::kDir, ddir = d && d->kind == Kind::kDir;
      bool xchg = flags & rename_flag::kExchange;
      if (!s)
        want = ENOENT;
      else if (d && (flags & rename_flag::kNoReplace))
        want = EEXIST;
      else if (!d && xchg)
        want = ENOENT;
      else if (sdir && p1 != p2 && inside(p2, from))
        want = EINVAL;  // source is an ancestor of the new parent
      else if (ddir && p1 != p2 && inside(p1, to))
        want = xchg ? EINVAL : ENOTEMPTY;  // target is an ancestor of the old parent
      else if (d == s)
        want = 0;  // same inode (same name, or two hard links): nothing happens
      else if (!xchg && d && sdir && !ddir)
        want = ENOTDIR;
      else if (!xchg && d && !sdir && ddir)
        want = EISDIR;
      else if (!xchg && ddir && !m_->empty_dir(to))
        want = ENOTEMPTY;
      else if (xchg) {
        auto a = m_->take_subtree(from);
        auto b = m_->take_subtree(to);
        m_->put_subtree(to, a);
        m_->put_subtree(from, b);
      } else {
        if (d) m_->drop(to);
        auto a = m_->take_subtree(from);
        m_->put_subtree(to, a);
      }
    }
    Ino d1, d2;
    int got = b_parent(from, &d1);
    if (!got) got = b_parent(to, &d2);
    if (!got) got = fs().rename(r(), d1, name_of(from), d2, name_of(to), flags).error();
    ASSERT_EQ(got, want);
    if (has_tmpfs_) {
      Fd f1, f2;
      int tgot = tmp_.parent(from, &f1);
      if (!tgot) tgot = tmp_.parent(to, &f2);
      if (!tgot)
        tgot = err_of(syscall(SYS_renameat2, f1.fd, name_of(from).c_str(), f2.fd,
                              name_of(to).c_str(), flags));
      check_tmpfs(want, tgot);
    }
  }

  void op_link() {
    std::string from = pick_path(false, rnd(3) ? static_cast<int>(Kind::kReg) : -1),
                to = pick_new(true);
    SCOPED_TRACE("link " + from + " -> " + to);
    int want = m_->resolve_parent(from);
    NodeP s = m_->get(from);
    if (!want && !s) want = ENOENT;
    if (!want) want = m_->resolve_parent(to);
    bool d1_allowed = false;
    if (!want) {
      if (name_of(to).size() > kNameMax) {
        want = ENAMETOOLONG;
      } else if (s->kind == Kind::kDir) {
        want = EPERM;
        d1_allowed = m_->get(to) != nullptr;  // D1: tmpfs says EEXIST
      } else if (m_->get(to)) {
        want = EEXIST;
      } else {
        m_->add(to, s);
      }
    }
    Entry e;
    int got = b_lookup(from, &e);
    Ino td;
    if (!got) got = b_parent(to, &td);
    if (!got) {
      auto l = fs().link(r(), e.ino, td, name_of(to));
      got = l.error();
      if (l.ok()) {
        fs().forget(l->ino, 1);
        EXPECT_EQ(l->attr.nlink, s->links);
      }
    }
    ASSERT_EQ(got, want);
    if (has_tmpfs_) {
      Fd f1, f2;
      // linkat resolves the old path completely before the new one.
      struct stat st;
      int tgot = tmp_.parent(from, &f1);
      if (!tgot) tgot = err_of(fstatat(f1.fd, name_of(from).c_str(), &st, AT_SYMLINK_NOFOLLOW));
      if (!tgot) tgot = tmp_.parent(to, &f2);
      if (!tgot) tgot = err_of(linkat(f1.fd, name_of(from).c_str(), f2.fd, name_of(to).c_str(), 0));
      check_tmpfs(want, tgot, d1_allowed && tgot == EEXIST);
    }
  }

  void op_symlink() {
    std::string p = pick_new(true);
    std::string target;
    uint32_t k = rnd(20);
    if (k == 0) {
      target = "";  // ENOENT
    } else if (k == 1) {
      target = "zz_none/" + std::string(kPathMax - 8, 't');  // 4096 bytes: ENAMETOOLONG
    } else if (k < 4) {
      target = "zz_none/" + rand_data(100 + rnd(kPathMax - 8 - 100));  // up to 4095
    } else {
      target = "zz_none/" + rand_data(1 + rnd(30));
    }
    SCOPED_TRACE("symlink " + p + " target length " + std::to_string(target.size()));
    int want = m_->resolve_parent(p);
    if (!want) {
      if (target.empty())
        want = ENOENT;
      else if (target.size() >= kPathMax)
        want = ENAMETOOLONG;
      else if (name_of(p).size() > kNameMax)
        want = ENAMETOOLONG;
      else if (m_->get(p))
        want = EEXIST;
      else
        m_->add(p, std::make_shared<Node>(Node{Kind::kSym, target, 0777}));
    }
    Ino dir;
    int got = b_parent(p, &dir);
    if (!got) {
      auto e = fs().symlink(r(), target, dir, name_of(p));
      got = e.error();
      if (e.ok()) fs().forget(e->ino, 1);
    }
    ASSERT_EQ(got, want);
    if (has_tmpfs_) {
      Fd pfd;
      int tgot = tmp_.parent(p, &pfd);
      if (!tgot) tgot = err_of(symlinkat(target.c_str(), pfd.fd, name_of(p).c_str()));
      check_tmpfs(want, tgot);
    }
  }

  void op_readlink() {
    std::string p = pick_path(false, static_cast<int>(Kind::kSym));
    NodeP n = m_->get(p);
    size_t bufsize = kPathMax;
    if (n && rnd(3) == 0) bufsize = 1 + rnd(n->data.size() + 5);
    SCOPED_TRACE("readlink " + p + " buf " + std::to_string(bufsize));
    int want = m_->resolve_parent(p);
    std::string expect;
    if (!want) {
      if (!n)
        want = ENOENT;
      else if (n->kind != Kind::kSym)
        want = EINVAL;
      else
        expect = n->data.substr(0, bufsize);
    }
    Entry e;
    int got = b_lookup(p, &e);
    std::string buf(bufsize, '\0');
    if (!got) {
      auto l = fs().readlink(r(), e.ino, {buf.data(), buf.size()});
      got = l.error();
      if (l.ok()) {
        EXPECT_EQ(buf.substr(0, *l), expect);
      }
    }
    ASSERT_EQ(got, want);
    if (has_tmpfs_) {
      Fd pfd;
      int tgot = tmp_.parent(p, &pfd);
      if (!tgot) {
        ssize_t l = readlinkat(pfd.fd, name_of(p).c_str(), buf.data(), buf.size());
        tgot = l < 0 ? errno : 0;
        if (l >= 0) {
          EXPECT_EQ(buf.substr(0, l), expect);
        }
      }
      check_tmpfs(want, tgot);
    }
  }

  void op_getattr() {
    std::string p = pick_path(true);
    SCOPED_TRACE("getattr " + p);
    int want = m_->resolve_parent(p);
    NodeP n = m_->get(p);
    if (!want) {
      if (name_of(p).size() > kNameMax)
        want = ENAMETOOLONG;
      else if (!n)
        want = ENOENT;
    }
    Entry e;
    int got = b_lookup(p, &e);
    ASSERT_EQ(got, want);
    if (!want) {
      EXPECT_EQ(e.attr.mode & mode::kTypeMask, type_bits(n->kind));
      EXPECT_EQ(e.attr.mode & 07777, n->perm);
      EXPECT_EQ(e.attr.nlink, m_->nlink(p, n));
      if (n->kind != Kind::kDir) {
        EXPECT_EQ(e.attr.size, n->data.size());
      }  // D3
      auto a = fs().getattr(r(), e.ino, 0);
      ASSERT_TRUE(a.ok());
      EXPECT_EQ(a->mode, e.attr.mode);
      EXPECT_EQ(a->nlink, e.attr.nlink);
      EXPECT_EQ(a->size, e.attr.size);
    }
    if (has_tmpfs_) {
      Fd pfd;
      int tgot = tmp_.parent(p, &pfd);
      struct stat st;
      if (!tgot) tgot = err_of(fstatat(pfd.fd, name_of(p).c_str(), &st, AT_SYMLINK_NOFOLLOW));
      check_tmpfs(want, tgot);
      if (!want && !tgot) {
        EXPECT_EQ(st.st_mode & S_IFMT, type_bits(n->kind));
        EXPECT_EQ(st.st_mode & 07777, n->perm);
        EXPECT_EQ(st.st_nlink, m_->nlink(p, n));
        if (n->kind != Kind::kDir) {
          EXPECT_EQ(static_cast<uint64_t>(st.st_size), n->data.size());
        }
      }
    }
  }

  void op_readdir() {
    std::string p = rnd(4) == 0 ? "" : pick_path(false, static_cast<int>(Kind::kDir));
    SCOPED_TRACE("readdir '" + p + "'");
    int want = m_->resolve_parent(p);
    NodeP n = m_->get(p);
    if (!want) {
      if (!n)
        want = ENOENT;
      else if (n->kind != Kind::kDir)
        want = ENOTDIR;
    }
    Entry e;
    int got = b_lookup(p, &e);
    std::vector<std::pair<std::string, uint32_t>> l;
    if (!got) l = b_list(e.ino, &got);
    ASSERT_EQ(got, want);
    if (!want) {
      EXPECT_EQ(l, m_list(p));
    }
    if (has_tmpfs_) {
      Fd pfd;
      int tgot = tmp_.parent(p, &pfd);
      if (!tgot) {
        int dfd = p.empty() ? open(tmp_.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                            : openat(pfd.fd, name_of(p).c_str(),
                                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
          tgot = errno;
        else
          l = t_list(dfd, &tgot);
      }
      check_tmpfs(want, tgot);
      if (!want && !tgot) {
        EXPECT_EQ(l, m_list(p));
      }
    }
  }

  // Write or truncate by path (open, write, release), like the kernel would.
  void op_write_path() {
    std::string p = pick_path(false, static_cast<int>(Kind::kReg));
    NodeP n = m_->get(p);
    uint64_t off = rand_offset(n ? n->data.size() : 0);
    std::string data = rand_data(1 + rnd(rnd(4) == 0 ? 70000 : 9000));
    SCOPED_TRACE("write " + p + " at " + std::to_string(off) + " len " +
                 std::to_string(data.size()));
    int want = m_->resolve_parent(p);
    if (!want) {
      if (!n)
        want = ENOENT;
      else if (n->kind == Kind::kDir)
        want = EISDIR;
      else if (n->kind == Kind::kSym)
        want = ELOOP;
      else
        model_write(*n, off, data);
    }
    Entry e;
    int got = b_lookup(p, &e);
    if (!got) {
      auto o = fs().open(r(), e.ino, oflag::kWriteOnly);
      got = o.error();
      if (o.ok()) {
        auto w = fs().write(r(), e.ino, o->fh, off, bytes(data));
        got = w.error();
        if (w.ok()) {
          EXPECT_EQ(*w, data.size());
        }
        EXPECT_TRUE(fs().release(r(), e.ino, o->fh, 0).ok());
      }
    }
    ASSERT_EQ(got, want);
    if (has_tmpfs_) {
      Fd pfd;
      int tgot = tmp_.parent(p, &pfd);
      if (!tgot) {
        Fd fd(openat(pfd.fd, name_of(p).c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
        tgot = fd.fd < 0 ? errno : 0;
        if (!tgot) {
          ssize_t w = pwrite(fd.fd, data.data(), data.size(), off);
          tgot = w < 0 ? errno : 0;
          if (w >= 0) {
            EXPECT_EQ(static_cast<size_t>(w), data.size());
          }
        }
      }
      check_tmpfs(want, tgot);
    }
  }

  void op_truncate_path() {
    std::string p = pick_path(false, static_cast<int>(Kind::kReg));
    NodeP n = m_->get(p);
    uint64_t cur = n ? n->data.size() : 0;
    uint64_t size = rnd(2) ? rnd(static_cast<uint32_t>(cur + 1)) : rand_offset(cur);
    SCOPED_TRACE("truncate " + p + " to " + std::to_string(size));
    int want = m_->resolve_parent(p);
    bool d2 = false;
    if (!want) {
      if (!n) {
        want = ENOENT;
      } else if (n->kind == Kind::kDir) {
        want = EISDIR;
      } else if (n->kind == Kind::kSym) {
        want = EINVAL;
        d2 = true;  // D2: truncate(2) follows the dangling symlink: ENOENT
      } else {
        n->data.resize(size, '\0');
      }
    }
    Entry e;
    int got = b_lookup(p, &e);
    if (!got) {
      SetAttr sa;
      sa.valid = SetAttr::kSize;
      sa.size = size;
      auto a = fs().setattr(r(), e.ino, sa, kNoFh);
      got = a.error();
      if (a.ok()) {
        EXPECT_EQ(a->size, size);
      }
    }
    ASSERT_EQ(got, want);
    if (has_tmpfs_) {
      Fd pfd;
      int tgot = tmp_.parent(p, &pfd);
      if (!tgot) tgot = err_of(truncate((tmp_.root() + "/" + p).c_str(), size));
      check_tmpfs(want, tgot, d2 && tgot == ENOENT);
    }
  }

  void op_chmod() {
    std::string p = pick_path(false);
    NodeP n = m_->get(p);
    if (n && n->kind == Kind::kSym) return;  // no lchmod on Linux
    uint32_t perm = rnd(07777 + 1);
    if (n && n->kind == Kind::kDir) perm |= 0700;  // keep it usable (root would anyway)
    SCOPED_TRACE("chmod " + p + " " + std::to_string(perm));
    int want = m_->resolve_parent(p);
    if (!want) {
      if (!n)
        want = ENOENT;
      else
        n->perm = perm;
    }
    Entry e;
    int got = b_lookup(p, &e);
    if (!got) {
      SetAttr sa;
      sa.valid = SetAttr::kMode;
      sa.mode = perm;
      auto a = fs().setattr(r(), e.ino, sa, kNoFh);
      got = a.error();
      if (a.ok()) {
        EXPECT_EQ(a->mode & 07777, perm);
      }
    }
    ASSERT_EQ(got, want);
    if (has_tmpfs_) {
      Fd pfd;
      int tgot = tmp_.parent(p, &pfd);
      if (!tgot) tgot = err_of(fchmodat(pfd.fd, name_of(p).c_str(), perm, 0));
      check_tmpfs(want, tgot);
    }
  }

  void op_read_path() {
    std::string p = pick_path(false, static_cast<int>(Kind::kReg));
    NodeP n = m_->get(p);
    uint64_t size = n ? n->data.size() : 0;
    uint64_t off = rnd(static_cast<uint32_t>(size + 5000));
    size_t len = 1 + rnd(20000);
    SCOPED_TRACE("read " + p + " at " + std::to_string(off) + " len " + std::to_string(len));
    int want = m_->resolve_parent(p);
    std::string expect;
    if (!want) {
      if (!n)
        want = ENOENT;
      else if (n->kind == Kind::kSym)
        want = ELOOP;
      else if (n->kind == Kind::kDir)
        want = EISDIR;  // open succeeds, read fails
      else if (off < size)
        expect = n->data.substr(off, len);
    }
    Entry e;
    int got = b_lookup(p, &e);
    if (!got) {
      auto o = fs().open(r(), e.ino, oflag::kReadOnly);
      got = o.error();
      if (o.ok()) {
        std::string buf(len, '\0');
        auto rd = fs().read(r(), e.ino, o->fh, off, {reinterpret_cast<uint8_t*>(buf.data()), len});
        got = rd.error();
        if (rd.ok()) {
          EXPECT_TRUE(buf.substr(0, *rd) == expect) << "data differs";
        }
        EXPECT_TRUE(fs().release(r(), e.ino, o->fh, 0).ok());
      }
    }
    ASSERT_EQ(got, want);
    if (has_tmpfs_) {
      Fd pfd;
      int tgot = tmp_.parent(p, &pfd);
      if (!tgot) {
        Fd fd(openat(pfd.fd, name_of(p).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        tgot = fd.fd < 0 ? errno : 0;
        if (!tgot) {
          std::string d = t_read(fd.fd, off, len, &tgot);
          if (!tgot) {
            EXPECT_TRUE(d == expect) << "tmpfs data differs";
          }
        }
      }
      check_tmpfs(want, tgot);
    }
  }

  // open() by path, keeping the handle (regular files) for later handle operations.
  void op_open() {
    std::string p = pick_path(false);
    uint32_t a = rnd(3);
    uint32_t acc = a == 0 ? oflag::kReadOnly : a == 1 ? oflag::kWriteOnly : oflag::kReadWrite;
    uint32_t flags = acc;
    if (acc != oflag::kReadOnly && rnd(5) == 0) flags |= oflag::kTruncate;
    if (acc != oflag::kReadOnly && rnd(6) == 0) flags |= oflag::kAppend;
    SCOPED_TRACE("open " + p + " flags " + std::to_string(flags));
    NodeP n = m_->get(p);
    int want = m_->resolve_parent(p);
    if (!want) {
      if (!n)
        want = ENOENT;
      else if (n->kind == Kind::kSym)
        want = ELOOP;
      else if (n->kind == Kind::kDir && acc != oflag::kReadOnly)
        want = EISDIR;
      else if (flags & oflag::kTruncate)
        n->data.clear();
    }
    Entry e;
    int got = b_lookup(p, &e, /*keep=*/true);
    Fh fh = 0;
    if (!got) {
      auto o = fs().open(r(), e.ino, flags);
      got = o.error();
      if (o.ok())
        fh = o->fh;
      else
        fs().forget(e.ino, 1);
    }
    ASSERT_EQ(got, want);
    Fd fd;
    if (has_tmpfs_) {
      Fd pfd;
      int tgot = tmp_.parent(p, &pfd);
      if (!tgot) {
        int of = (a == 0   ? O_RDONLY
                  : a == 1 ? O_WRONLY
                           : O_RDWR) |
                 O_NOFOLLOW | O_CLOEXEC | ((flags & oflag::kTruncate) ? O_TRUNC : 0) |
                 ((flags & oflag::kAppend) ? O_APPEND : 0);
        fd = Fd(openat(pfd.fd, name_of(p).c_str(), of));
        tgot = fd.fd < 0 ? errno : 0;
      }
      check_tmpfs(want, tgot);
      if (HasFatalFailure()) {
        if (!want) (void)fs().release(r(), e.ino, fh, 0);
        return;
      }
    }
    if (!want) keep_or_release(n, p, e.ino, fh, std::move(fd), flags);
  }

  // An operation through a random open handle.
  void op_handle() {
    if (handles_.empty()) return;
    size_t i = rnd(handles_.size());
    Handle& h = handles_[i];
    Node& n = *h.node;
    std::string what = "handle of " + h.path + (n.links == 0 ? " (unlinked)" : "");
    switch (rnd(6)) {
      case 0:
      case 1: {  // write (O_APPEND: at the end whatever the offset)
        uint64_t off = rand_offset(n.data.size());
        std::string data = rand_data(1 + rnd(9000));
        SCOPED_TRACE("pwrite " + what + " at " + std::to_string(off) + " len " +
                     std::to_string(data.size()) + " flags " + std::to_string(h.flags));
        int want = 0;
        if (!oflag::writes(h.flags))
          want = EBADF;
        else
          model_write(n, (h.flags & oflag::kAppend) ? n.data.size() : off, data);
        auto w = fs().write(r(), h.ino, h.fh, off, bytes(data));
        ASSERT_EQ(w.error(), want);
        if (w.ok()) {
          EXPECT_EQ(*w, data.size());
        }
        if (has_tmpfs_) {
          ssize_t tw = pwrite(h.fd.fd, data.data(), data.size(), off);
          check_tmpfs(want, tw < 0 ? errno : 0);
        }
        break;
      }
      case 2: {  // read (only through readable handles: the VFS refuses the others)
        if (!oflag::reads(h.flags)) break;
        uint64_t off = rnd(static_cast<uint32_t>(n.data.size() + 5000));
        size_t len = 1 + rnd(20000);
        SCOPED_TRACE("pread " + what + " at " + std::to_string(off) + " len " +
                     std::to_string(len));
        std::string expect = off < n.data.size() ? n.data.substr(off, len) : "";
        std::string buf(len, '\0');
        auto rd = fs().read(r(), h.ino, h.fh, off, {reinterpret_cast<uint8_t*>(buf.data()), len});
        ASSERT_TRUE(rd.ok()) << rd.error();
        EXPECT_TRUE(buf.substr(0, *rd) == expect) << "data differs";
        if (has_tmpfs_) {
          int err;
          std::string d = t_read(h.fd.fd, off, len, &err);
          check_tmpfs(0, err);
          EXPECT_TRUE(d == expect) << "tmpfs data differs";
        }
        break;
      }
      case 3: {  // ftruncate (writable handles only, as the VFS requires)
        if (!oflag::writes(h.flags)) break;
        uint64_t size =
            rnd(2) ? rnd(static_cast<uint32_t>(n.data.size() + 1)) : rand_offset(n.data.size());
        SCOPED_TRACE("ftruncate " + what + " to " + std::to_string(size));
        n.data.resize(size, '\0');
        SetAttr sa;
        sa.valid = SetAttr::kSize;
        sa.size = size;
        auto a = fs().setattr(r(), h.ino, sa, h.fh);
        ASSERT_TRUE(a.ok()) << a.error();
        EXPECT_EQ(a->size, size);
        if (has_tmpfs_) check_tmpfs(0, err_of(ftruncate(h.fd.fd, size)));
        break;
      }
      case 4: {  // fstat
        SCOPED_TRACE("fstat " + what);
        auto a = fs().getattr(r(), h.ino, h.fh);
        ASSERT_TRUE(a.ok()) << a.error();
        EXPECT_EQ(a->size, n.data.size());
        EXPECT_EQ(a->nlink, n.links);
        EXPECT_EQ(a->mode & 07777, n.perm);
        if (has_tmpfs_) {
          struct stat st;
          ASSERT_EQ(fstat(h.fd.fd, &st), 0);
          EXPECT_EQ(static_cast<uint64_t>(st.st_size), n.data.size());
          EXPECT_EQ(st.st_nlink, n.links);
          EXPECT_EQ(st.st_mode & 07777, n.perm);
        }
        break;
      }
      default: {  // release (and the kernel's forget of the open's lookup)
        SCOPED_TRACE("release " + what);
        ASSERT_TRUE(fs().release(r(), h.ino, h.fh, 0).ok());
        fs().forget(h.ino, 1);
        handles_.erase(handles_.begin() + i);
        break;
      }
    }
  }

  void run(uint32_t seed, int ops) {
    rng_.seed(seed);
    for (int step = 0; step < ops; step++) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " step " + std::to_string(step) +
                   " (reproduce: BENTO_MODEL_SEED=" + std::to_string(seed) + ")");
      uint32_t op = rnd(100);
      if (op < 12)
        op_create();
      else if (op < 18)
        op_mkdir();
      else if (op < 26)
        op_remove(false);
      else if (op < 31)
        op_remove(true);
      else if (op < 41)
        op_rename();
      else if (op < 45)
        op_link();
      else if (op < 49)
        op_symlink();
      else if (op < 52)
        op_readlink();
      else if (op < 60)
        op_write_path();
      else if (op < 64)
        op_truncate_path();
      else if (op < 67)
        op_chmod();
      else if (op < 71)
        op_read_path();
      else if (op < 75)
        op_getattr();
      else if (op < 79)
        op_readdir();
      else if (op < 84)
        op_open();
      else
        op_handle();
      if (HasFailure()) return;
      if (step % 250 == 249) {
        compare_tree();
        if (HasFailure()) return;
      }
      if (step % 700 == 699) {
        release_all();
        t_->remount();
        if (HasFailure()) return;
        compare_tree();
        check_inode_count();
        if (HasFailure()) return;
      }
    }
    release_all();
    compare_tree();
    check_inode_count();
    auto rep = t_->fsck();
    EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
    t_->remount();
    compare_tree();
  }

  Tmpfs tmp_;
  bool has_tmpfs_ = false;
  mode_t old_umask_ = 022;
  std::unique_ptr<TestFs> t_;
  std::unique_ptr<Model> m_;
  std::vector<Handle> handles_;
  std::mt19937 rng_;
  uint64_t inodes_used0_ = 0;
};

TEST_P(BentoFsModelTest, RandomOpsMatchModelAndTmpfs) {
  uint32_t seed = static_cast<uint32_t>(GetParam());
  int ops = 2000;
  if (const char* s = getenv("BENTO_MODEL_SEED")) {
    if (GetParam() != 1) GTEST_SKIP() << "BENTO_MODEL_SEED set: only the first instance runs";
    seed = static_cast<uint32_t>(atoi(s));
  }
  if (const char* o = getenv("BENTO_MODEL_OPS")) ops = atoi(o);
  run(seed, ops);
  if (HasFailure()) ADD_FAILURE() << "model test failed with seed " << seed;
}

INSTANTIATE_TEST_SUITE_P(Seeds, BentoFsModelTest, ::testing::Range(1, 11));

}  // namespace
}  // namespace bentofs::test
