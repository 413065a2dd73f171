#include <bento/result.h>
#include <bento/str.h>
#include <gtest/gtest.h>

namespace bento {
namespace {

Result<int> half(int v) {
  if (v % 2 != 0) return Err(EINVAL);
  return v / 2;
}

Result<int> quarter(int v) {
  BENTO_ASSIGN_OR_RETURN(int h, half(v));
  return half(h);
}

Status check_even(int v) {
  BENTO_TRY(half(v));
  return Status::Ok();
}

TEST(Result, CarriesValueOrErrno) {
  EXPECT_EQ(*half(8), 4);
  EXPECT_EQ(half(3).error(), EINVAL);
  EXPECT_EQ(*quarter(8), 2);
  EXPECT_EQ(quarter(6).error(), EINVAL);  // 6/2 = 3 is odd
  EXPECT_TRUE(check_even(2).ok());
  EXPECT_EQ(check_even(1).error(), EINVAL);
}

TEST(Result, MovesOwnedValues) {
  Result<String> r = String::from("hello");
  ASSERT_TRUE(r.ok());
  Result<String> moved = std::move(r);
  EXPECT_EQ(moved->view(), "hello");
  Result<String> err = Err(ENOMEM);
  err = std::move(moved);
  EXPECT_EQ(err->view(), "hello");
}

}  // namespace
}  // namespace bento
