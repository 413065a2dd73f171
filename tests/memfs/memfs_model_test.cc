// Randomised model test: random operations on a small name space, applied both to memfs and
// to a simple std::map model; errno values and the resulting tree must agree.
#include <map>
#include <random>
#include <set>

#include "memfs_test_util.h"
#include "path_parts.h"

namespace memfs_test {
namespace {

using path_parts::name_of;
using path_parts::parent_of;

struct MNode {
  bool dir = false;
  std::string data;
  int nlink = 1;
};

class Model {
 public:
  Model() { paths_[""] = 0, nodes_[0] = MNode{true, "", 2}; }

  // 0, ENOENT or ENOTDIR for a directory path.
  int resolve_dir(const std::string& p) const {
    if (p.empty()) return 0;
    std::string cur;
    size_t start = 0;
    for (;;) {
      size_t e = p.find('/', start);
      cur = p.substr(0, e);
      auto it = paths_.find(cur);
      if (it == paths_.end()) return ENOENT;
      if (!nodes_.at(it->second).dir) return ENOTDIR;
      if (e == std::string::npos) return 0;
      start = e + 1;
    }
  }
  const int* find(const std::string& p) const {
    auto it = paths_.find(p);
    return it == paths_.end() ? nullptr : &it->second;
  }
  bool empty_dir(const std::string& p) const {
    for (auto& [k, v] : paths_)
      if (!k.empty() && parent_of(k) == p && k != p) return false;
    return true;
  }

  int create(const std::string& p, bool dir) {
    if (int e = resolve_dir(parent_of(p))) return e;
    if (find(p)) return EEXIST;
    int id = next_++;
    nodes_[id] = MNode{dir, "", dir ? 2 : 1};
    paths_[p] = id;
    return 0;
  }
  int unlink(const std::string& p) {
    if (int e = resolve_dir(parent_of(p))) return e;
    const int* id = find(p);
    if (!id) return ENOENT;
    if (nodes_[*id].dir) return EISDIR;
    drop(p);
    return 0;
  }
  int rmdir(const std::string& p) {
    if (int e = resolve_dir(parent_of(p))) return e;
    const int* id = find(p);
    if (!id) return ENOENT;
    if (!nodes_[*id].dir) return ENOTDIR;
    if (!empty_dir(p)) return ENOTEMPTY;
    paths_.erase(p);
    return 0;
  }
  int link(const std::string& from, const std::string& to) {
    if (int e = resolve_dir(parent_of(from))) return e;
    const int* id = find(from);
    if (!id) return ENOENT;
    if (int e = resolve_dir(parent_of(to))) return e;
    if (nodes_[*id].dir) return EPERM;
    if (find(to)) return EEXIST;
    nodes_[*id].nlink++;
    paths_[to] = *id;
    return 0;
  }
  static bool inside(const std::string& p, const std::string& dir) {
    return p == dir || p.rfind(dir + "/", 0) == 0;
  }
  int rename(const std::string& from, const std::string& to, uint32_t flags) {
    if (int e = resolve_dir(parent_of(from))) return e;
    if (int e = resolve_dir(parent_of(to))) return e;
    const int* sid = find(from);
    if (!sid) return ENOENT;
    const int* did = find(to);
    bool sdir = nodes_[*sid].dir;
    if (flags & rename_flag::kExchange) {
      if (!did) return ENOENT;
      if (*did == *sid) return 0;
      bool ddir = nodes_[*did].dir;
      if (parent_of(from) != parent_of(to)) {
        if (sdir && inside(parent_of(to), from)) return EINVAL;
        if (ddir && inside(parent_of(from), to)) return EINVAL;
      }
      // Swap the two subtrees' names.
      std::map<std::string, int> moved;
      for (auto it = paths_.begin(); it != paths_.end();) {
        if (inside(it->first, from) && it->first != from) {
          moved[to + it->first.substr(from.size())] = it->second;
          it = paths_.erase(it);
        } else if (inside(it->first, to) && it->first != to) {
          moved[from + it->first.substr(to.size())] = it->second;
          it = paths_.erase(it);
        } else {
          ++it;
        }
      }
      int s = *sid, d = *did;
      paths_[from] = d;
      paths_[to] = s;
      for (auto& [k, v] : moved) paths_[k] = v;
      return 0;
    }
    if (did && *did == *sid) return 0;
    if (did && (flags & rename_flag::kNoReplace)) return EEXIST;
    if (sdir) {
      if (inside(parent_of(to), from)) return EINVAL;
      if (did && !nodes_[*did].dir) return ENOTDIR;
      if (did && !empty_dir(to)) return ENOTEMPTY;
    } else if (did && nodes_[*did].dir) {
      return EISDIR;
    }
    int s = *sid;
    if (did) {
      if (nodes_[*did].dir)
        paths_.erase(to);
      else
        drop(to);
    }
    std::map<std::string, int> moved;
    for (auto it = paths_.begin(); it != paths_.end();) {
      if (inside(it->first, from)) {
        moved[to + it->first.substr(from.size())] = it->second;
        it = paths_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [k, v] : moved) paths_[k] = v;
    (void)s;
    return 0;
  }
  MNode* file(const std::string& p) {
    const int* id = find(p);
    if (!id || nodes_[*id].dir) return nullptr;
    return &nodes_[*id];
  }
  const std::map<std::string, int>& paths() const { return paths_; }
  const MNode& node(int id) const { return nodes_.at(id); }

 private:
  void drop(const std::string& p) {
    int id = paths_[p];
    paths_.erase(p);
    if (--nodes_[id].nlink == 0) nodes_.erase(id);
  }
  std::map<std::string, int> paths_;  // "" is the root
  std::map<int, MNode> nodes_;
  int next_ = 1;
};

class ModelTest : public MemfsFixture, public ::testing::WithParamInterface<int> {
 protected:
  // Resolves a directory path to an inode: 0 plus errno on failure.
  std::pair<Ino, int> dir_ino(const std::string& p) {
    Ino cur = kRootIno;
    if (p.empty()) return {cur, 0};
    size_t start = 0;
    for (;;) {
      size_t e = p.find('/', start);
      std::string comp = p.substr(start, e == std::string::npos ? std::string::npos : e - start);
      auto r = fs_.lookup(root_, cur, comp);
      if (!r.ok()) return {0, r.error()};
      fs_.forget(r->ino, 1);
      if (!mode::is_dir(r->attr.mode)) return {0, ENOTDIR};
      cur = r->ino;
      if (e == std::string::npos) return {cur, 0};
      start = e + 1;
    }
  }
  std::pair<Ino, int> any_ino(const std::string& p) {
    auto [dir, err] = dir_ino(parent_of(p));
    if (err) return {0, err};
    auto r = fs_.lookup(root_, dir, name_of(p));
    if (!r.ok()) return {0, r.error()};
    fs_.forget(r->ino, 1);
    return {r->ino, 0};
  }

  void compare_tree(Model& m) {
    // Every model path exists in the fs with the same type, link count and data.
    std::map<Ino, int> ids;  // hard links: same inode <=> same model node
    for (auto& [p, id] : m.paths()) {
      auto [ino, err] = p.empty() ? std::pair<Ino, int>{kRootIno, 0} : any_ino(p);
      ASSERT_EQ(err, 0) << p;
      auto it = ids.find(ino);
      if (it != ids.end()) {
        EXPECT_EQ(it->second, id) << p;
        continue;
      }
      ids[ino] = id;
      Attr a = attr(ino);
      const MNode& n = m.node(id);
      ASSERT_EQ(mode::is_dir(a.mode), n.dir) << p;
      if (n.dir) {
        // Count the fs entries of this directory against the model.
        size_t model_children = 0, subdirs = 0;
        for (auto& [q, qid] : m.paths()) {
          if (q.empty() || q == p || parent_of(q) != p) continue;
          model_children++;
          subdirs += m.node(qid).dir;
        }
        EXPECT_EQ(names(ino).size(), model_children) << p;
        EXPECT_EQ(a.nlink, 2 + subdirs) << p;
      } else {
        EXPECT_EQ(a.nlink, static_cast<uint32_t>(n.nlink)) << p;
        EXPECT_EQ(read_all(ino), n.data) << p;
      }
    }
  }
};

TEST_P(ModelTest, RandomOperationsMatchTheModel) {
  std::mt19937 rng(GetParam());
  Model m;
  const char* comps[] = {"a", "b", "c", "d"};
  auto rand_path = [&] {
    int depth = 1 + rng() % 3;
    std::string p;
    for (int i = 0; i < depth; i++) p += (i ? "/" : "") + std::string(comps[rng() % 4]);
    return p;
  };
  for (int step = 0; step < 1500; step++) {
    std::string p = rand_path();
    int op = rng() % 10;
    SCOPED_TRACE("step " + std::to_string(step) + " op " + std::to_string(op) + " " + p);
    auto [pdir, perr] = dir_ino(parent_of(p));
    switch (op) {
      case 0:
      case 1: {  // create a file
        int want = m.create(p, false);
        int got = perr;
        if (!got) {
          auto c = fs_.create(root_, pdir, name_of(p), 0644,
                              oflag::kWriteOnly | oflag::kCreate | oflag::kExclusive);
          got = c.error();
          if (c.ok()) {
            (void)fs_.release(root_, c->entry.ino, c->open.fh, 0);
            fs_.forget(c->entry.ino, 1);
          }
        }
        ASSERT_EQ(got, want);
        break;
      }
      case 2: {  // mkdir
        int want = m.create(p, true);
        int got = perr;
        if (!got) {
          auto e = fs_.mkdir(root_, pdir, name_of(p), 0755);
          got = e.error();
          if (e.ok()) fs_.forget(e->ino, 1);
        }
        ASSERT_EQ(got, want);
        break;
      }
      case 3: {  // write or truncate an existing file
        MNode* n = m.file(p);
        if (!n) break;
        auto [ino, err] = any_ino(p);
        ASSERT_EQ(err, 0);
        if (rng() % 3 == 0) {
          size_t size = rng() % 20000;
          n->data.resize(size, '\0');
          SetAttr sa;
          sa.valid = SetAttr::kSize;
          sa.size = size;
          ASSERT_TRUE(fs_.setattr(root_, ino, sa, kNoFh).ok());
        } else {
          size_t off = rng() % 12000, len = 1 + rng() % 6000;
          std::string chunk(len, static_cast<char>('a' + rng() % 26));
          if (n->data.size() < off + len) n->data.resize(off + len, '\0');
          n->data.replace(off, len, chunk);
          auto o = fs_.open(root_, ino, oflag::kWriteOnly);
          ASSERT_TRUE(o.ok());
          ASSERT_EQ(fs_.write(root_, ino, o->fh, off, bytes(chunk)).value(), len);
          ASSERT_TRUE(fs_.release(root_, ino, o->fh, 0).ok());
        }
        break;
      }
      case 4: {  // unlink
        int want = m.unlink(p);
        int got = perr ? perr : fs_.unlink(root_, pdir, name_of(p)).error();
        ASSERT_EQ(got, want);
        break;
      }
      case 5: {  // rmdir
        int want = m.rmdir(p);
        int got = perr ? perr : fs_.rmdir(root_, pdir, name_of(p)).error();
        ASSERT_EQ(got, want);
        break;
      }
      case 6: {  // link
        std::string to = rand_path();
        int want = m.link(p, to);
        auto [ino, err] = any_ino(p);
        int got = err;
        if (!got) {
          auto [tdir, terr] = dir_ino(parent_of(to));
          got = terr;
          if (!got) {
            auto e = fs_.link(root_, ino, tdir, name_of(to));
            got = e.error();
            if (e.ok()) fs_.forget(e->ino, 1);
          }
        }
        ASSERT_EQ(got, want) << " to " << to;
        break;
      }
      default: {  // rename, with random flags
        std::string to = rand_path();
        uint32_t flags = 0;
        int f = rng() % 5;
        if (f == 0) flags = rename_flag::kNoReplace;
        if (f == 1) flags = rename_flag::kExchange;
        int want = m.rename(p, to, flags);
        auto [tdir, terr] = dir_ino(parent_of(to));
        int got = perr ? perr : terr;
        if (!got) got = fs_.rename(root_, pdir, name_of(p), tdir, name_of(to), flags).error();
        ASSERT_EQ(got, want) << " to " << to << " flags " << flags;
        break;
      }
    }
    if (step % 100 == 99) {
      compare_tree(m);
      if (HasFatalFailure()) return;
    }
  }
  compare_tree(m);
  // Every inode still in the fs is reachable: nothing leaked (all lookups were forgotten).
  auto st = fs_.statfs(root_, kRootIno);
  std::set<int> live;
  for (auto& [p, id] : m.paths()) live.insert(id);
  EXPECT_EQ(st->files - st->files_free, live.size());
}

INSTANTIATE_TEST_SUITE_P(Seeds, ModelTest, ::testing::Range(1, 9));

}  // namespace
}  // namespace memfs_test
