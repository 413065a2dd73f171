// Bounded text for log lines and info files, without printf: the fs sources are
// freestanding. Text past the buffer is counted, not written, so a caller that formats
// into a caller's buffer can report the size it needed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bentofs {

class TextOut {
 public:
  TextOut(char* buf, size_t cap) : buf_(buf), cap_(cap) {}

  TextOut& str(std::string_view s) {
    for (char c : s) put(c);
    return *this;
  }
  // The decimal form of v.
  TextOut& num(uint64_t v) {
    char digits[20];
    size_t k = 0;
    do {
      digits[k++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (k > 0) put(digits[--k]);
    return *this;
  }

  // Bytes the text needs; more than the buffer's size if it was cut.
  size_t needed() const { return at_; }
  // What was written.
  std::string_view view() const { return {buf_, at_ < cap_ ? at_ : cap_}; }

 private:
  void put(char c) {
    if (at_ < cap_) buf_[at_] = c;
    ++at_;
  }

  char* buf_;
  size_t cap_;
  size_t at_ = 0;
};

}  // namespace bentofs
