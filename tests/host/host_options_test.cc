#include "host_options.h"

#include <gtest/gtest.h>

#include <vector>

namespace bento::host {
namespace {

bool parse(std::vector<std::string> args, HostOptions* o, std::string* err) {
  args.insert(args.begin(), "bentofs");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_host_options(static_cast<int>(argv.size()), argv.data(), o, err);
}

TEST(HostOptions, ParsesEverything) {
  HostOptions o;
  std::string err;
  ASSERT_TRUE(parse({"img", "/mnt", "--module", "x.so", "-f", "-o", "ro,noatime,journal=off",
                     "-oallow_other", "--cache-mb=16", "--threads", "4"},
                    &o, &err))
      << err;
  EXPECT_EQ(o.image, "img");
  EXPECT_EQ(o.mountpoint, "/mnt");
  EXPECT_EQ(o.module, "x.so");
  EXPECT_TRUE(o.foreground);
  EXPECT_TRUE(o.read_only);
  EXPECT_EQ(o.fuse_options, (std::vector<std::string>{"ro", "allow_other"}));
  EXPECT_EQ(o.fs_options, "noatime,journal=off");
  EXPECT_EQ(o.cache_mb, 16u);
  EXPECT_EQ(o.threads, 4u);
}

// Regression (issue 19): relatime, strictatime, lazytime... reached libfuse, which refused
// to mount. They go to the module; fstab-only options (noauto, nofail, x-systemd.*) go
// nowhere.
TEST(HostOptions, AtimeAndFstabOptionsNeverReachLibfuse) {
  HostOptions o;
  std::string err;
  ASSERT_TRUE(parse({"img", "/mnt", "-o",
                     "relatime,strictatime,nodiratime,lazytime,noatime,atime,norelatime,"
                     "defaults,noauto,nofail,_netdev,x-systemd.automount,nosuid,commit=5"},
                    &o, &err))
      << err;
  EXPECT_EQ(o.fuse_options, (std::vector<std::string>{"nosuid"}));
  EXPECT_EQ(o.fs_options,
            "relatime,strictatime,nodiratime,lazytime,noatime,atime,norelatime,commit=5");
}

// The transport is the host's choice: neither libfuse nor the module sees it, and the
// last of uring/no_uring wins (fstab defaults then a command-line override).
TEST(HostOptions, UringSelectsTheTransportOnly) {
  HostOptions o;
  std::string err;
  EXPECT_FALSE(o.uring);
  ASSERT_TRUE(parse({"img", "/mnt", "-o", "uring,journal=off"}, &o, &err)) << err;
  EXPECT_TRUE(o.uring);
  EXPECT_EQ(o.fs_options, "journal=off");
  for (const auto& f : o.fuse_options) EXPECT_EQ(f.find("uring"), std::string::npos) << f;
  HostOptions p;
  ASSERT_TRUE(parse({"img", "/mnt", "-o", "uring", "-o", "no_uring"}, &p, &err)) << err;
  EXPECT_FALSE(p.uring);
  EXPECT_EQ(p.fs_options, "");
}

TEST(HostOptions, UsageErrors) {
  HostOptions o;
  std::string err;
  EXPECT_FALSE(parse({"img"}, &o, &err));
  EXPECT_NE(err.find("required"), std::string::npos);
  err.clear();
  EXPECT_FALSE(parse({"img", "/mnt", "--threads", "0"}, &o, &err));
  EXPECT_NE(err.find("--threads"), std::string::npos);
  err.clear();
  EXPECT_FALSE(parse({"img", "/mnt", "--bogus"}, &o, &err));
  EXPECT_NE(err.find("unknown option --bogus"), std::string::npos);
  err.clear();
  EXPECT_FALSE(parse({"img", "/mnt", "--module"}, &o, &err));
  EXPECT_NE(err.find("needs a value"), std::string::npos);
}

TEST(HostOptions, ChecksImageAndMountpoint) {
  std::string canon, err;
  EXPECT_FALSE(check_image("/nonexistent/img", false, &canon, &err));
  EXPECT_NE(err.find("No such file or directory"), std::string::npos) << err;
  EXPECT_FALSE(check_image("/tmp", false, &canon, &err));
  EXPECT_NE(err.find("not a regular file or block device"), std::string::npos) << err;
  EXPECT_FALSE(check_mountpoint("/nonexistent/mnt", &canon, &err));
  EXPECT_NE(err.find("No such file or directory"), std::string::npos) << err;
  EXPECT_FALSE(check_mountpoint("/etc/hostname", &canon, &err));
  EXPECT_NE(err.find("not a directory"), std::string::npos) << err;
  EXPECT_TRUE(check_mountpoint("/tmp/", &canon, &err)) << err;
  EXPECT_EQ(canon, "/tmp");
}

}  // namespace
}  // namespace bento::host
