#include <bento/hash_map.h>
#include <bento/memory.h>
#include <bento/str.h>
#include <bento/transfer.h>
#include <bento/vec.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace bento {
namespace {

TEST(Vec, GrowsKeepsOrderAndRemoves) {
  Vec<int> v;
  for (int i = 0; i < 1000; i++) ASSERT_TRUE(v.push_back(i).ok());
  ASSERT_EQ(v.size(), 1000u);
  for (int i = 0; i < 1000; i++) EXPECT_EQ(v[i], i);
  v.erase(0);
  EXPECT_EQ(v[0], 1);
  v.swap_remove(0);
  EXPECT_EQ(v[0], 999);
  EXPECT_EQ(v.size(), 998u);
  ASSERT_TRUE(v.resize(2).ok());
  EXPECT_EQ(v.size(), 2u);
}

TEST(HashMap, MatchesStdMapUnderRandomOperations) {
  HashMap<uint64_t, uint64_t> m;
  std::map<uint64_t, uint64_t> model;
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200000; i++) {
    uint64_t k = rng() % 5000;
    switch (rng() % 3) {
      case 0:
        ASSERT_TRUE(m.insert(k, i).ok());
        model[k] = i;
        break;
      case 1:
        EXPECT_EQ(m.erase(k), model.erase(k) == 1);
        break;
      case 2: {
        uint64_t* v = m.find(k);
        auto it = model.find(k);
        ASSERT_EQ(v != nullptr, it != model.end()) << "key " << k;
        if (v != nullptr) {
          EXPECT_EQ(*v, it->second);
        }
      }
    }
    ASSERT_EQ(m.size(), model.size());
  }
}

TEST(HashMap, StringKeysLookUpByView) {
  HashMap<String, int> m;
  for (int i = 0; i < 100; i++) {
    auto key = String::from("name-" + std::to_string(i));
    ASSERT_TRUE(key.ok());
    ASSERT_TRUE(m.insert(std::move(key).value(), i).ok());
  }
  std::string_view probe = "name-42";
  ASSERT_NE(m.find(probe), nullptr);
  EXPECT_EQ(*m.find(probe), 42);
  EXPECT_TRUE(m.erase(probe));
  EXPECT_EQ(m.find(probe), nullptr);
  EXPECT_EQ(m.size(), 99u);
}

TEST(HashMap, MovedFromMapIsEmptyAndUsable) {
  HashMap<uint64_t, int> a;
  ASSERT_TRUE(a.insert(1, 10).ok());
  HashMap<uint64_t, int> b = std::move(a);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(a.find(uint64_t{1}), nullptr);
  ASSERT_TRUE(a.insert(2, 20).ok());
  EXPECT_EQ(*a.find(uint64_t{2}), 20);
  EXPECT_EQ(*b.find(uint64_t{1}), 10);
  ASSERT_TRUE(b.reserve(1000).ok());
  EXPECT_EQ(*b.find(uint64_t{1}), 10);
}

TEST(HashMap, HashIsStableAcrossBuilds) {
  // Part of on-disk formats: these values must never change.
  EXPECT_EQ(hash_bytes(""), mix64(0xcbf29ce484222325ULL));
  EXPECT_EQ(hash_bytes("a"), mix64(0xaf63dc4c8601ec8cULL));
}

struct StateV1 {
  static constexpr char kKind[] = "test-fs";
  static constexpr uint32_t kVersion = 1;
  int value = 7;
};
struct StateV2 {
  static constexpr char kKind[] = "test-fs";
  static constexpr uint32_t kVersion = 2;
  int value = 0;
  int extra = 0;
};
struct OtherFs {
  static constexpr char kKind[] = "other-fs";
  static constexpr uint32_t kVersion = 1;
  int value = 0;
};

TEST(TransferState, TakesOnlyTheMatchingKindAndVersion) {
  auto payload = make_unique<StateV1>();
  ASSERT_TRUE(payload.ok());
  TransferState st = TransferState::make(std::move(payload).value());
  EXPECT_EQ(st.kind(), "test-fs");
  EXPECT_EQ(st.version(), 1u);
  EXPECT_FALSE(st.take<StateV2>());
  EXPECT_FALSE(st.take<OtherFs>());
  EXPECT_FALSE(st.empty());  // a refused take leaves the state as it was
  UniquePtr<StateV1> got = st.take<StateV1>();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->value, 7);
  EXPECT_TRUE(st.empty());
}

}  // namespace
}  // namespace bento
