// TextOut: the fs's printf-free formatter for log lines and the prov log's info file.
#include "core/text_out.h"

#include <gtest/gtest.h>

namespace bentofs {
namespace {

TEST(TextOut, FormatsNumbersAndText) {
  char buf[64];
  TextOut out(buf, sizeof buf);
  out.str("head=").num(0).str(" tail=").num(18446744073709551615ull);
  EXPECT_EQ(out.view(), "head=0 tail=18446744073709551615");
  EXPECT_EQ(out.needed(), out.view().size());
}

// A caller's buffer that is too small gets the prefix that fits and learns the size needed.
TEST(TextOut, CutTextIsCountedNotWritten) {
  char buf[8] = {'#', '#', '#', '#', '#', '#', '#', '#'};
  TextOut out(buf, 6);
  out.str("version=").num(12345);
  EXPECT_EQ(out.view(), "versio");
  EXPECT_EQ(out.needed(), 13u);
  EXPECT_EQ(buf[6], '#');
}

}  // namespace
}  // namespace bentofs
