// FuseDirFiller's buffer-full semantics, which lookup counting depends on.
#include "dir_filler.h"

#include <gtest/gtest.h>

#include <vector>

namespace bento::host {
namespace {

Entry entry_for(Ino ino) {
  Entry e;
  e.ino = ino;
  e.attr.ino = ino;
  e.attr.mode = mode::kRegular | 0644;
  e.attr_timeout_ms = 1500;
  e.entry_timeout_ms = 250;
  return e;
}

// fuse_add_direntry{,_plus} do not use the request: a null one is fine here.
TEST(FuseDirFiller, PlusModeStopsAtFullAndCountsOnlyAccepted) {
  std::vector<char> buf(1024);
  std::vector<Ino> sent, rejected;
  sent.reserve(FuseDirFiller::max_entries(buf.size()));
  rejected.reserve(FuseDirFiller::kMaxRejected);
  FuseDirFiller f(nullptr, buf.data(), buf.size(), true, &sent, &rejected);
  EXPECT_TRUE(f.wants_entries());
  EXPECT_TRUE(f.add(".", 1, mode::kDirectory | 0755, 1, nullptr));
  Entry dotdot = entry_for(1);
  EXPECT_TRUE(f.add("..", 1, mode::kDirectory | 0755, 2, &dotdot));
  int accepted = 0;
  Ino ino = 100;
  for (;; ino++) {
    Entry e = entry_for(ino);
    if (!f.add("file-" + std::to_string(ino), ino, e.attr.mode, ino, &e)) break;
    accepted++;
  }
  EXPECT_GT(accepted, 0);
  // The refused entry left the buffer untouched and is not counted.
  EXPECT_EQ(sent.size(), static_cast<size_t>(accepted));
  EXPECT_EQ(sent.back(), ino - 1);
  EXPECT_LE(f.used(), buf.size());
  size_t used = f.used();
  // Once full, always full (even for an entry that would fit).
  Entry small = entry_for(5);
  EXPECT_FALSE(f.add("x", 5, small.attr.mode, 9999, &small));
  EXPECT_EQ(f.used(), used);
  EXPECT_EQ(sent.size(), static_cast<size_t>(accepted));
}

TEST(FuseDirFiller, PlainModeNeverCounts) {
  std::vector<char> buf(256);
  std::vector<Ino> sent, rejected;
  sent.reserve(FuseDirFiller::max_entries(buf.size()));
  rejected.reserve(FuseDirFiller::kMaxRejected);
  FuseDirFiller f(nullptr, buf.data(), buf.size(), false, &sent, &rejected);
  EXPECT_FALSE(f.wants_entries());
  int n = 0;
  while (f.add("name" + std::to_string(n), 10 + n, mode::kRegular, n + 1, nullptr)) n++;
  EXPECT_GT(n, 3);
  EXPECT_TRUE(sent.empty());
  EXPECT_LE(f.used(), buf.size());
}

TEST(FuseDirFiller, InvalidNamesAreSkippedAndTheirLookupsReturned) {
  std::vector<char> buf(4096);
  std::vector<Ino> sent, rejected;
  sent.reserve(FuseDirFiller::max_entries(buf.size()));
  rejected.reserve(FuseDirFiller::kMaxRejected);
  FuseDirFiller f(nullptr, buf.data(), buf.size(), true, &sent, &rejected);
  Entry a = entry_for(7), b = entry_for(8), c = entry_for(9);
  EXPECT_TRUE(f.add("a/b", 7, a.attr.mode, 1, &a));
  EXPECT_TRUE(f.add(std::string(300, 'n'), 8, b.attr.mode, 2, &b));
  EXPECT_TRUE(f.add("ok", 9, c.attr.mode, 3, &c));
  EXPECT_EQ(rejected, (std::vector<Ino>{7, 8}));
  EXPECT_EQ(sent, (std::vector<Ino>{9}));
}

TEST(FuseEntry, TimeoutsInSeconds) {
  fuse_entry_param p;
  to_fuse_entry(entry_for(42), &p);
  EXPECT_EQ(p.ino, 42u);
  EXPECT_DOUBLE_EQ(p.attr_timeout, 1.5);
  EXPECT_DOUBLE_EQ(p.entry_timeout, 0.25);
  EXPECT_EQ(p.attr.st_ino, 42u);
}

}  // namespace
}  // namespace bento::host
