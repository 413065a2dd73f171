#include "module_loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "fs_instance.h"
#include "test_paths.h"

namespace bento::host {
namespace {

using test::memfs_so;
using test::test_module;

std::string load_error(const std::string& path) {
  ModuleLoadResult r = load_module(path);
  EXPECT_EQ(r.module, nullptr) << path << " loaded";
  return r.error;
}

TEST(ModuleLoader, MissingFile) {
  std::string e = load_error("/nonexistent/dir/fs.so");
  EXPECT_NE(e.find("/nonexistent/dir/fs.so"), std::string::npos) << e;
  EXPECT_NE(e.find("No such file or directory"), std::string::npos) << e;
}

TEST(ModuleLoader, Directory) {
  std::string e = load_error("/tmp");
  EXPECT_NE(e.find("not a regular file"), std::string::npos) << e;
}

TEST(ModuleLoader, NotElf) {
  char path[] = "/tmp/bento-notelf-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "hello, I am text\n", 17), 17);
  close(fd);
  std::string e = load_error(path);
  unlink(path);
  EXPECT_NE(e.find("not a shared object"), std::string::npos) << e;
}

TEST(ModuleLoader, ElfButNotLoadable) {
  // An executable is ELF but not something dlopen() accepts: the dlerror text is passed on.
  std::string e = load_error("/bin/true");
  EXPECT_NE(e.find("cannot load"), std::string::npos) << e;
}

TEST(ModuleLoader, MissingSymbol) {
  std::string e = load_error(test_module("no_symbol"));
  EXPECT_NE(e.find("not a Bento module"), std::string::npos) << e;
  EXPECT_NE(e.find("bento_module_info"), std::string::npos) << e;
}

TEST(ModuleLoader, ApiMismatch) {
  std::string e = load_error(test_module("bad_api"));
  EXPECT_NE(e.find("built for API 99, this host speaks " + std::to_string(kApiVersion)),
            std::string::npos)
      << e;
}

TEST(ModuleLoader, CreateReturnsNull) {
  ModuleLoadResult r = load_module(test_module("null_create"));
  ASSERT_NE(r.module, nullptr) << r.error;
  std::string err;
  FsInstance inst = FsInstance::create(r.module, &err);
  EXPECT_FALSE(inst);
  EXPECT_NE(err.find("create() returned null"), std::string::npos) << err;
}

TEST(ModuleLoader, LoadsMemfsTwiceAsIndependentCopies) {
  ModuleLoadResult a = load_module(memfs_so());
  ASSERT_NE(a.module, nullptr) << a.error;
  EXPECT_FALSE(a.module->loaded_from_copy());
  ModuleLoadResult b = load_module(memfs_so());
  ASSERT_NE(b.module, nullptr) << b.error;
  EXPECT_TRUE(b.module->loaded_from_copy());
  EXPECT_NE(&a.module->info(), &b.module->info()) << "the second load reused the first's code";
  EXPECT_EQ(a.module->name(), b.module->name());
  std::string err;
  FsInstance ia = FsInstance::create(a.module, &err);
  FsInstance ib = FsInstance::create(b.module, &err);
  ASSERT_TRUE(ia);
  ASSERT_TRUE(ib);
  // Unloading the first copy must leave the second working.
  ia.reset();
  a.module.reset();
  (void)ib->capabilities();  // a virtual call into the surviving copy
  ib.reset();
  // Once both are gone the path loads directly again.
  b.module.reset();
  ModuleLoadResult c = load_module(memfs_so());
  ASSERT_NE(c.module, nullptr);
  EXPECT_FALSE(c.module->loaded_from_copy());
}

}  // namespace
}  // namespace bento::host
