// An owned byte string on the kernel-services allocator (names, symlink targets, xattr
// values). Not NUL-terminated unless c_str() is asked for; copying is explicit (clone()).
#pragma once

#include <bento/result.h>
#include <bento/vec.h>

#include <cstdint>
#include <span>
#include <string_view>

namespace bento {

class String {
 public:
  String() = default;
  String(String&&) noexcept = default;
  String& operator=(String&&) noexcept = default;

  static Result<String> from(std::string_view s) {
    String out;
    BENTO_TRY(out.assign(s));
    return out;
  }
  Result<String> clone() const { return from(view()); }

  Status assign(std::string_view s) {
    bytes_.clear();
    BENTO_TRY(bytes_.reserve(s.size() + 1));
    for (char c : s) (void)bytes_.push_back(c);  // cannot fail: reserved
    return Status::Ok();
  }
  Status append(std::string_view s) {
    BENTO_TRY(bytes_.reserve(bytes_.size() + s.size() + 1));
    for (char c : s) (void)bytes_.push_back(c);
    return Status::Ok();
  }

  std::string_view view() const { return {bytes_.data(), bytes_.size()}; }
  std::span<const uint8_t> bytes() const {
    return {reinterpret_cast<const uint8_t*>(bytes_.data()), bytes_.size()};
  }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  bool operator==(std::string_view s) const { return view() == s; }
  bool operator==(const String& o) const { return view() == o.view(); }

 private:
  Vec<char> bytes_;
};

}  // namespace bento
