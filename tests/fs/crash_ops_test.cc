// Crash consistency per operation: every single operation and every ordered pair of
// operations (create+write, overwrite, append, truncate, rename, link, unlink, mkdir, rmdir,
// symlink, chmod...) runs on a small synced tree, followed by a durability point (fsync,
// fdatasync, fsyncdir or a full sync). The block writes are recorded, and every distinct
// crash image (every prefix of the write stream) is rebuilt: fsck must find nothing worse
// than a journal to replay, it must mount, and the whole tree must equal one of the states
// the sequence passed through (before A, after A, after A+B) -- never a mixture, never torn
// content -- and at least the state made durable before the crash point.
#include <sys/stat.h>

#include <chrono>
#include <map>

#include "fs_test_util.h"

namespace bentofs::test {
namespace {

using namespace bento;

// ---- the model: paths -> objects (hard links share an object) ----

struct Obj {
  char type = 'f';  // f file, d directory, l symlink
  uint32_t perm = 0;
  std::string data;  // file content or symlink target
  std::map<std::string, std::string> xattrs;
};

// Extended attributes as one comparable string.
std::string xattr_text(const std::map<std::string, std::string>& x) {
  std::string out;
  for (auto& [k, v] : x) out += k + "=" + v + ";";
  return out;
}

struct Model {
  std::map<std::string, int> paths;  // every path but the root
  std::map<int, Obj> objs;
  int next_id = 1;

  bool has(const std::string& p) const { return paths.count(p) != 0; }
  Obj& at(const std::string& p) { return objs.at(paths.at(p)); }
  bool is(const std::string& p, char type) const {
    auto it = paths.find(p);
    return it != paths.end() && objs.at(it->second).type == type;
  }
  void add(const std::string& p, Obj o) {
    objs[next_id] = std::move(o);
    paths[p] = next_id++;
  }
  bool empty_dir(const std::string& p) const {
    auto it = paths.upper_bound(p + "/");
    return it == paths.end() || it->first.compare(0, p.size() + 1, p + "/") != 0;
  }
  // Renames p and, for a directory, everything under it.
  void move(const std::string& from, const std::string& to) {
    std::map<std::string, int> out;
    for (auto& [p, id] : paths) {
      if (p == from)
        out[to] = id;
      else if (p.compare(0, from.size() + 1, from + "/") == 0)
        out[to + p.substr(from.size())] = id;
      else if (p != to)
        out[p] = id;
    }
    paths = std::move(out);
  }
};

uint64_t fnv(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

struct NodeInfo {
  char type;
  uint32_t perm, nlink;
  std::string data;
  uint64_t ident;  // object id (model) or inode (fs)
  std::string xattrs = {};
};

// One line per path: type, permissions, link count, size, content hash and, for files, the
// first path of its hard-link group (so link identity is compared too).
std::string signature(const std::map<std::string, NodeInfo>& nodes) {
  std::map<uint64_t, std::string> first;
  for (auto& [p, n] : nodes)
    if (n.type == 'f') first.emplace(n.ident, p);
  std::string out;
  char buf[128];
  for (auto& [p, n] : nodes) {
    snprintf(buf, sizeof(buf), " %c %04o n%u s%zu h%016llx x%016llx", n.type, n.perm, n.nlink,
             n.data.size(), static_cast<unsigned long long>(fnv(n.data)),
             static_cast<unsigned long long>(fnv(n.xattrs)));
    out += p + buf;
    if (n.type == 'f') out += " =" + first[n.ident];
    out += "\n";
  }
  return out;
}

std::string signature(const Model& m) {
  std::map<std::string, NodeInfo> nodes;
  std::map<int, uint32_t> links;
  for (auto& [p, id] : m.paths) links[id]++;
  for (auto& [p, id] : m.paths) {
    const Obj& o = m.objs.at(id);
    uint32_t nlink = links[id];
    if (o.type == 'd') {
      nlink = 2;
      for (auto it = m.paths.upper_bound(p + "/");
           it != m.paths.end() && it->first.compare(0, p.size() + 1, p + "/") == 0; ++it)
        if (it->first.find('/', p.size() + 1) == std::string::npos &&
            m.objs.at(it->second).type == 'd')
          nlink++;
    }
    nodes[p] = {o.type, o.perm, nlink, o.data, static_cast<uint64_t>(id), xattr_text(o.xattrs)};
  }
  return signature(nodes);
}

// Reads the whole tree of a mounted fs; fails the test on an unreadable node.
void walk(BentoFs& fs, const Request& r, Ino dir, const std::string& prefix,
          std::map<std::string, NodeInfo>* out) {
  VecFiller f;
  ASSERT_TRUE(fs.readdir(r, dir, 0, 0, f).ok()) << prefix;
  for (auto& it : f.items) {
    if (it.name == "." || it.name == "..") continue;
    std::string p = prefix.empty() ? it.name : prefix + "/" + it.name;
    auto e = fs.lookup(r, dir, it.name);
    ASSERT_TRUE(e.ok()) << p << ": " << e.error();
    const Attr& a = e->attr;
    NodeInfo n{'f', a.mode & 07777, a.nlink, "", e->ino};
    if (S_ISDIR(a.mode)) {
      n.type = 'd';
      (*out)[p] = n;
      walk(fs, r, e->ino, p, out);
      if (::testing::Test::HasFatalFailure()) return;
      continue;
    }
    if (S_ISLNK(a.mode)) {
      n.type = 'l';
      n.data.resize(4096);
      auto l = fs.readlink(r, e->ino, {n.data.data(), n.data.size()});
      ASSERT_TRUE(l.ok()) << p;
      n.data.resize(*l);
    } else {
      ASSERT_TRUE(S_ISREG(a.mode)) << p;
      n.data.resize(a.size + 4096);
      auto rd =
          fs.read(r, e->ino, 0, 0, {reinterpret_cast<uint8_t*>(n.data.data()), n.data.size()});
      ASSERT_TRUE(rd.ok()) << p << ": " << rd.error();
      n.data.resize(*rd);
      ASSERT_EQ(*rd, a.size) << p << ": size and content disagree";
      std::map<std::string, std::string> x;
      std::string names(8192, '\0');
      auto ln = fs.listxattr(r, e->ino, {names.data(), names.size()});
      ASSERT_TRUE(ln.ok()) << p;
      for (size_t at = 0; at < *ln;) {
        std::string name(names.data() + at);
        std::string v(70000, '\0');
        auto g = fs.getxattr(r, e->ino, name, {reinterpret_cast<uint8_t*>(v.data()), v.size()});
        ASSERT_TRUE(g.ok()) << p << " " << name;
        v.resize(*g);
        x[name] = v;
        at += name.size() + 1;
      }
      n.xattrs = xattr_text(x);
    }
    (*out)[p] = n;
  }
}

std::string fs_signature(BentoFs& fs, const Request& r) {
  std::map<std::string, NodeInfo> nodes;
  walk(fs, r, kRootIno, "", &nodes);
  return signature(nodes);
}

std::string pattern(int seed, size_t len) {
  std::string s(len, '\0');
  for (size_t i = 0; i < len; i++)
    s[i] = static_cast<char>('A' + (seed * 7 + i * 13 + i / 4096 * 5) % 58);
  return s;
}

// ---- operations: applied to the fs and to the model ----

// Where the durability point after an operation goes.
struct SyncTarget {
  Ino ino = 0;
  bool dir = false;   // fsyncdir
  bool data = false;  // only data changed: fdatasync is enough
};

struct Ctx {
  BentoFs* fs;
  Request r;
  Model* m;
  int seed;
  SyncTarget sync;
  // States an operation made of several calls passes through (create, then write): a
  // commit may land between the calls (group commit), so each is a legal crash state.
  std::vector<std::string> mids;
};

Ino resolve(Ctx& c, const std::string& path) {
  Ino ino = kRootIno;
  size_t pos = 0;
  while (!path.empty() && pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    auto e = c.fs->lookup(c.r, ino, path.substr(pos, end - pos));
    EXPECT_TRUE(e.ok()) << path;
    if (!e.ok()) return 0;
    ino = e->ino;
    pos = end + 1;
  }
  return ino;
}
// First regular file of `prefer` in the model, else the first regular file at all.
std::string pick_file(const Model& m, std::initializer_list<const char*> prefer, int not_id = -1) {
  for (const char* p : prefer)
    if (m.is(p, 'f') && m.paths.at(p) != not_id) return p;
  for (auto& [p, id] : m.paths)
    if (m.objs.at(id).type == 'f' && id != not_id) return p;
  ADD_FAILURE() << "no regular file left";
  return "";
}
std::string free_name(const Model& m, const std::string& stem) {
  for (int i = 0;; i++)
    if (!m.has(stem + std::to_string(i))) return stem + std::to_string(i);
}

void write_file(Ctx& c, const std::string& path, uint64_t off, const std::string& data) {
  Ino ino = resolve(c, path);
  auto o = c.fs->open(c.r, ino, oflag::kReadWrite);
  ASSERT_TRUE(o.ok()) << path;
  auto w = c.fs->write(c.r, ino, o->fh, off,
                       {reinterpret_cast<const uint8_t*>(data.data()), data.size()});
  ASSERT_TRUE(w.ok() && *w == data.size()) << path;
  ASSERT_TRUE(c.fs->release(c.r, ino, o->fh, 0).ok());
  std::string& d = c.m->at(path).data;
  if (d.size() < off + data.size()) d.resize(off + data.size(), '\0');
  d.replace(off, data.size(), data);
  c.sync = {ino, false, true};
}

void set_size(Ctx& c, const std::string& path, uint64_t size) {
  Ino ino = resolve(c, path);
  SetAttr sa;
  sa.valid = SetAttr::kSize;
  sa.size = size;
  ASSERT_TRUE(c.fs->setattr(c.r, ino, sa, kNoFh).ok()) << path;
  c.m->at(path).data.resize(size, '\0');
  c.sync = {ino, false, true};
}

void op_create(Ctx& c) {
  std::string name = free_name(*c.m, "n");
  std::string data = pattern(c.seed, 5000);
  auto cr = c.fs->create(c.r, kRootIno, name, 0644, oflag::kReadWrite);
  ASSERT_TRUE(cr.ok()) << name;
  c.m->add(name, {'f', cr->entry.attr.mode & 07777, ""});
  c.mids.push_back(signature(*c.m));
  auto w = c.fs->write(c.r, cr->entry.ino, cr->open.fh, 0,
                       {reinterpret_cast<const uint8_t*>(data.data()), data.size()});
  ASSERT_TRUE(w.ok() && *w == data.size());
  ASSERT_TRUE(c.fs->release(c.r, cr->entry.ino, cr->open.fh, 0).ok());
  c.m->at(name).data = data;
  c.sync = {cr->entry.ino, false, false};
}
void op_overwrite(Ctx& c) {
  write_file(c, pick_file(*c.m, {"a", "d/e", "b", "c"}), 1000, pattern(c.seed, 2500));
}
void op_append(Ctx& c) {
  std::string p = pick_file(*c.m, {"b", "c", "a", "d/e"});
  write_file(c, p, c.m->at(p).data.size(), pattern(c.seed, 5000));
}
void op_shrink(Ctx& c) {
  std::string p = pick_file(*c.m, {"a", "d/e", "b", "c"});
  set_size(c, p, c.m->at(p).data.size() / 3);
}
void op_grow(Ctx& c) {
  std::string p = pick_file(*c.m, {"c", "b", "a"});
  set_size(c, p, c.m->at(p).data.size() + 9000);
}
void op_rename(Ctx& c) {
  std::string from = pick_file(*c.m, {"c", "a", "b", "d/e"});
  std::string to = free_name(*c.m, "d/r");
  Ino d = resolve(c, "d");
  ASSERT_TRUE(
      c.fs->rename(c.r, resolve(c, parent_of(from)), name_of(from), d, name_of(to), 0).ok());
  c.m->move(from, to);
  c.sync = {d, true, false};
}
void op_rename_over(Ctx& c) {
  std::string from = pick_file(*c.m, {"b", "c", "d/e"});
  std::string to = pick_file(*c.m, {"a", "c", "d/e", "b"}, c.m->paths.at(from));
  Ino tp = resolve(c, parent_of(to));
  ASSERT_TRUE(
      c.fs->rename(c.r, resolve(c, parent_of(from)), name_of(from), tp, name_of(to), 0).ok())
      << from << " -> " << to;
  c.m->move(from, to);
  c.sync = {tp, true, false};
}
void op_link(Ctx& c) {
  std::string from = pick_file(*c.m, {"a", "c", "b"});
  std::string to = free_name(*c.m, "d/h");
  Ino ino = resolve(c, from);
  ASSERT_TRUE(c.fs->link(c.r, ino, resolve(c, "d"), name_of(to)).ok());
  c.m->paths[to] = c.m->paths.at(from);
  c.sync = {ino, false, false};
}
void op_unlink(Ctx& c) {
  std::string p = pick_file(*c.m, {"c", "d/bl", "a", "b"});
  Ino dir = resolve(c, parent_of(p));
  ASSERT_TRUE(c.fs->unlink(c.r, dir, name_of(p)).ok()) << p;
  c.m->paths.erase(p);
  c.sync = {dir, true, false};
}
void op_mkdir(Ctx& c) {
  std::string name = free_name(*c.m, "m");
  auto e = c.fs->mkdir(c.r, kRootIno, name, 0755);
  ASSERT_TRUE(e.ok());
  c.m->add(name, {'d', e->attr.mode & 07777, ""});
  c.sync = {kRootIno, true, false};
}
void op_rmdir(Ctx& c) {
  std::string p;
  for (auto& [q, id] : c.m->paths)
    if (q != "d" && c.m->objs.at(id).type == 'd' && c.m->empty_dir(q)) {
      p = q;
      break;
    }
  ASSERT_FALSE(p.empty()) << "no empty directory left";
  Ino dir = resolve(c, parent_of(p));
  ASSERT_TRUE(c.fs->rmdir(c.r, dir, name_of(p)).ok()) << p;
  c.m->paths.erase(p);
  c.sync = {dir, true, false};
}
void op_rename_dir(Ctx& c) {
  std::string p;
  for (auto& [q, id] : c.m->paths)
    if (q != "d" && q.find('/') == std::string::npos && c.m->objs.at(id).type == 'd') {
      p = q;
      break;
    }
  ASSERT_FALSE(p.empty()) << "no directory left";
  std::string to = free_name(*c.m, "d/x");
  Ino d = resolve(c, "d");
  ASSERT_TRUE(c.fs->rename(c.r, kRootIno, p, d, name_of(to), 0).ok()) << p;
  c.m->move(p, to);
  c.sync = {d, true, false};
}
void op_symlink(Ctx& c) {
  std::string name = free_name(*c.m, "y");
  std::string target = "d/e" + std::to_string(c.seed);
  auto e = c.fs->symlink(c.r, target, kRootIno, name);
  ASSERT_TRUE(e.ok());
  c.m->add(name, {'l', e->attr.mode & 07777, target});
  c.sync = {kRootIno, true, false};
}
void op_punch(Ctx& c) {
  std::string p = pick_file(*c.m, {"a", "d/e", "b", "c"});
  Ino ino = resolve(c, p);
  std::string& d = c.m->at(p).data;
  const uint64_t off = 1000, len = 4500;  // a partial block, a whole one, a partial one
  ASSERT_TRUE(
      c.fs->fallocate(c.r, ino, kNoFh, falloc::kPunchHole | falloc::kKeepSize, off, len).ok());
  for (uint64_t i = off; i < off + len && i < d.size(); i++) d[i] = '\0';
  c.sync = {ino, false, true};
}
void op_collapse(Ctx& c) {
  std::string p;
  for (const char* q : {"d/e", "a", "b", "c"})
    if (c.m->is(q, 'f') && c.m->at(q).data.size() > 4096) {
      p = q;
      break;
    }
  ASSERT_FALSE(p.empty()) << "no file of more than one block";
  Ino ino = resolve(c, p);
  ASSERT_TRUE(c.fs->fallocate(c.r, ino, kNoFh, falloc::kCollapseRange, 0, 4096).ok()) << p;
  c.m->at(p).data.erase(0, 4096);
  c.sync = {ino, false, false};
}
void op_xattr_set(Ctx& c) {
  std::string p = pick_file(*c.m, {"a", "c", "b", "d/e"});
  Ino ino = resolve(c, p);
  // One small value and one that spans stream blocks.
  for (auto [name, len] : {std::pair<const char*, size_t>{"user.tag", 300}, {"user.big", 9000}}) {
    std::string v = pattern(c.seed + static_cast<int>(len), len);
    ASSERT_TRUE(
        c.fs->setxattr(c.r, ino, name, {reinterpret_cast<const uint8_t*>(v.data()), v.size()}, 0)
            .ok());
    c.m->at(p).xattrs[name] = v;
    if (len == 300) c.mids.push_back(signature(*c.m));
  }
  c.sync = {ino, false, false};
}
void op_xattr_remove(Ctx& c) {
  std::string p;
  for (auto& [q, id] : c.m->paths)
    if (c.m->objs.at(id).type == 'f' && !c.m->objs.at(id).xattrs.empty()) {
      p = q;
      break;
    }
  ASSERT_FALSE(p.empty()) << "no file with extended attributes left";
  Obj& o = c.m->at(p);
  Ino ino = resolve(c, p);
  std::string name = o.xattrs.begin()->first;
  ASSERT_TRUE(c.fs->removexattr(c.r, ino, name).ok()) << p << " " << name;
  o.xattrs.erase(name);
  c.sync = {ino, false, false};
}
void op_chmod(Ctx& c) {
  std::string p = c.m->has("a") ? "a" : c.m->has("c") ? "c" : "d";
  Obj& o = c.m->at(p);
  uint32_t perm = o.perm == 0600 ? 0640 : 0600;
  Ino ino = resolve(c, p);
  SetAttr sa;
  sa.valid = SetAttr::kMode;
  sa.mode = perm;
  ASSERT_TRUE(c.fs->setattr(c.r, ino, sa, kNoFh).ok()) << p;
  o.perm = perm;
  c.sync = {ino, false, false};
}

struct Op {
  const char* name;
  void (*fn)(Ctx&);
};
const Op kOps[] = {
    {"create", op_create},
    {"overwrite", op_overwrite},
    {"append", op_append},
    {"shrink", op_shrink},
    {"grow", op_grow},
    {"rename", op_rename},
    {"rename-over", op_rename_over},
    {"link", op_link},
    {"unlink", op_unlink},
    {"mkdir", op_mkdir},
    {"rmdir", op_rmdir},
    {"rename-dir", op_rename_dir},
    {"symlink", op_symlink},
    {"chmod", op_chmod},
    // Issue 19: space and attribute operations (run as singles, with each other and with
    // a few of the above: see the test).
    {"punch-hole", op_punch},
    {"collapse-range", op_collapse},
    {"xattr-set", op_xattr_set},
    {"xattr-remove", op_xattr_remove},
};
constexpr int kNumOps = sizeof(kOps) / sizeof(kOps[0]);
constexpr int kFirstNewOp = 14;

// The base tree: distinct contents, a directory with a file, a hard link, a symlink and two
// empty directories; synced and unmounted, so the image is clean.
std::vector<uint8_t> base_image(Model* m) {
  FormatOptions fo;
  TestFs t(2048, fo);
  auto file = [&](Ino dir, const std::string& path, size_t len, int seed) {
    auto e = t.create(dir, name_of(path));
    std::string data = pattern(seed, len);
    t.write(e.ino, 0, data);
    m->add(path, {'f', e.attr.mode & 07777, data});
    return e.ino;
  };
  file(kRootIno, "a", 6000, 1001);
  Ino b = file(kRootIno, "b", 3000, 1002);
  for (auto [name, len] : {std::pair<const char*, size_t>{"user.base", 100}, {"user.wide", 6000}}) {
    std::string v = pattern(static_cast<int>(len), len);
    EXPECT_TRUE(
        t.fs->setxattr(t.r, b, name, {reinterpret_cast<const uint8_t*>(v.data()), v.size()}, 0)
            .ok());
    m->at("b").xattrs[name] = v;
  }
  file(kRootIno, "c", 100, 1003);
  auto d = t.fs->mkdir(t.r, kRootIno, "d", 0755);
  EXPECT_TRUE(d.ok());
  m->add("d", {'d', d->attr.mode & 07777, ""});
  file(d->ino, "d/e", 9000, 1004);
  EXPECT_TRUE(t.fs->link(t.r, b, d->ino, "bl").ok());
  m->paths["d/bl"] = m->paths.at("b");
  auto s = t.fs->symlink(t.r, "a", kRootIno, "s");
  EXPECT_TRUE(s.ok());
  m->add("s", {'l', s->attr.mode & 07777, "a"});
  for (const char* n : {"w", "x"}) {
    auto e = t.fs->mkdir(t.r, kRootIno, n, 0755);
    EXPECT_TRUE(e.ok());
    m->add(n, {'d', e->attr.mode & 07777, ""});
  }
  EXPECT_TRUE(t.fs->sync_now().ok());
  EXPECT_EQ(fs_signature(*t.fs, t.r), signature(*m));
  t.unmount();
  return t.dev->durable_bytes();
}

struct Totals {
  int sequences = 0;
  size_t records = 0, images = 0;
};

// Runs ops (one or two) with durability points, then checks every distinct crash image.
void run_sequence(const std::vector<uint8_t>& base, const Model& base_model,
                  const std::vector<int>& ops, int seq, Totals* tot) {
  std::string label;
  for (int i : ops) label += std::string(label.empty() ? "" : "+") + kOps[i].name;
  SCOPED_TRACE(label);
  auto dev = ImageDevice::from_bytes(base);
  Request r = root_req();
  BentoFs fs;
  InitArgs a;
  // Commits happen only when asked (a waiting fsync may still cause one extra group
  // commit, hence the intermediate states of multi-call operations).
  a.options = "commit=600000,noatime";  // reads of the checks write nothing
  ASSERT_TRUE(fs.init(r, *dev, a).ok());
  dev->start_recording();

  Model m = base_model;
  // The states the tree passes through, in order: the base, then after each call.
  std::vector<std::string> states{signature(m)};
  std::vector<size_t> started{0};  // records before the operation making state k began
  std::vector<size_t> durable{0};  // records when state k had been made durable
  std::string syncs;
  for (size_t k = 0; k < ops.size(); k++) {
    size_t start = dev->recorded();
    Ctx c{&fs, r, &m, seq * 10 + static_cast<int>(k), {}, {}};
    kOps[ops[k]].fn(c);
    if (::testing::Test::HasFatalFailure()) return;
    for (auto& mid : c.mids) {
      states.push_back(mid);
      started.push_back(start);
      durable.push_back(SIZE_MAX);
    }
    states.push_back(signature(m));
    started.push_back(start);
    durable.push_back(SIZE_MAX);
    // Durability point after the last op, and after the first of every other pair.
    bool last = k + 1 == ops.size();
    if (!last && (ops[0] + ops[1]) % 2 == 0) continue;
    if ((seq + static_cast<int>(k)) % 5 == 4) {
      ASSERT_TRUE(fs.sync_now().ok());
      syncs += " sync";
    } else if (c.sync.dir) {
      ASSERT_TRUE(fs.fsyncdir(r, c.sync.ino, 0, false).ok());
      syncs += " fsyncdir";
    } else {
      bool datasync = c.sync.data && (seq + static_cast<int>(k)) % 2 == 1;
      ASSERT_TRUE(fs.fsync(r, c.sync.ino, 0, datasync).ok());
      syncs += datasync ? " fdatasync" : " fsync";
    }
    durable.back() = dev->recorded();
  }
  SCOPED_TRACE("durability:" + syncs);
  ASSERT_EQ(fs_signature(fs, r), states.back()) << "live fs differs from the model";
  const size_t total = dev->recorded();
  ASSERT_EQ(durable.back(), total);
  fs.destroy(r);

  // Every distinct crash image: the image changes only at a write record, so check the
  // last prefix before each write (and the whole stream) -- the strictest crash point
  // with that image.
  std::vector<uint8_t> img = dev->image_after(0);
  size_t applied = 0;
  for (size_t n = 0; n <= total; n++) {
    if (n < total && dev->record_is_flush(n)) continue;
    dev->apply_records(&img, applied, n);
    applied = n;
    SCOPED_TRACE("crash after record " + std::to_string(n) + " of " + std::to_string(total));
    size_t lo = 0, hi = 0;
    for (size_t k = 1; k < states.size(); k++) {
      if (durable[k] <= n) lo = k;
      if (started[k] < n) hi = k;
    }
    hi = std::max(hi, lo);
    {
      auto d = ImageDevice::from_bytes(img);
      auto rep = run_fsck(*d, {});
      ASSERT_LE(rep.exit_code, 1) << "prefix " << n << "/" << total << ": "
                                  << (rep.problems.empty() ? "" : rep.problems[0]);
    }
    auto d = ImageDevice::from_bytes(img);
    BentoFs cfs;
    ASSERT_TRUE(cfs.init(r, *d, {}).ok()) << "prefix " << n << "/" << total;
    std::string got = fs_signature(cfs, r);
    cfs.destroy(r);
    if (::testing::Test::HasFatalFailure()) return;
    bool ok = false;
    for (size_t k = lo; k <= hi; k++) ok = ok || got == states[k];
    if (!ok) {
      std::string want;
      for (size_t k = lo; k <= hi; k++) want += "-- state " + std::to_string(k) + ":\n" + states[k];
      FAIL() << "prefix " << n << "/" << total << ": the tree is none of states " << lo << ".."
             << hi << "\n-- crash image:\n"
             << got << want;
    }
    tot->images++;
  }
  tot->records += total;
  tot->sequences++;
}

// Regression: the root has no lookup count in process (FUSE never looks it up), so its
// in-memory object is dropped after each call; fsyncdir used to find a fresh object that
// did not know the rename's transaction and returned without committing.
TEST(BentoFsCrashOps, FsyncAfterTheInodeLeftTheCacheCommits) {
  TestFs t(2048);
  t.create(kRootIno, "old");
  ASSERT_TRUE(t.fs->sync_now().ok());
  t.unmount();
  t.mount("commit=600000");
  ASSERT_TRUE(t.fs->rename(t.r, kRootIno, "old", kRootIno, "new", 0).ok());
  ASSERT_TRUE(t.fs->fsyncdir(t.r, kRootIno, 0, false).ok());
  auto crash = ImageDevice::from_bytes(t.dev->durable_bytes());
  BentoFs fs;
  ASSERT_TRUE(fs.init(t.r, *crash, {}).ok());
  EXPECT_TRUE(fs.lookup(t.r, kRootIno, "new").ok());
  EXPECT_EQ(fs.lookup(t.r, kRootIno, "old").error(), ENOENT);
  fs.destroy(t.r);
}

TEST(BentoFsCrashOps, SingleOpsAndPairsAreAtomicAndDurable) {
  auto t0 = std::chrono::steady_clock::now();
  Model base_model;
  std::vector<uint8_t> base = base_image(&base_model);
  ASSERT_FALSE(HasFatalFailure());
  Totals tot;
  int seq = 0;
  for (int i = 0; i < kNumOps; i++) {
    run_sequence(base, base_model, {i}, seq++, &tot);
    ASSERT_FALSE(HasFatalFailure());
  }
  // Pairs: every pair of the original operations; the newer ones with each other and with
  // overwrite, shrink and rename-over, both ways round.
  auto paired = [](int i, int j) {
    auto old_partner = [](int k) { return k == 1 || k == 3 || k == 6; };
    if (i < kFirstNewOp && j < kFirstNewOp) return true;
    if (i >= kFirstNewOp && j >= kFirstNewOp) return true;
    return old_partner(i < kFirstNewOp ? i : j);
  };
  int pairs = 0;
  for (int i = 0; i < kNumOps; i++)
    for (int j = 0; j < kNumOps; j++) {
      if (!paired(i, j)) continue;
      run_sequence(base, base_model, {i, j}, seq++, &tot);
      pairs++;
      ASSERT_FALSE(HasFatalFailure());
    }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  printf("crash-ops: %d sequences (%d ops, %d pairs), %zu records, %zu crash images, %.1f s\n",
         tot.sequences, kNumOps, pairs, tot.records, tot.images, secs);
  EXPECT_EQ(tot.sequences, kNumOps + pairs);
}

}  // namespace
}  // namespace bentofs::test
