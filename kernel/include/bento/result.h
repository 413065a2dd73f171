// Errno-style results across the Bento API: no exceptions ever cross it.
//
// Status is 0 or a positive errno value (the Linux values: the same numbers in the kernel
// and in userspace). Result<T> is a T or a positive errno. Both are [[nodiscard]].
#pragma once

#include <linux/errno.h>

#include <new>
#include <type_traits>
#include <utility>

namespace bento {

class [[nodiscard]] Status {
 public:
  constexpr Status() = default;
  static constexpr Status Ok() { return Status(); }
  static constexpr Status Error(int err) { return Status(err); }

  constexpr bool ok() const { return err_ == 0; }
  constexpr explicit operator bool() const { return ok(); }
  // Positive errno, 0 when ok.
  constexpr int error() const { return err_; }

  friend constexpr bool operator==(Status a, Status b) { return a.err_ == b.err_; }

 private:
  constexpr explicit Status(int err) : err_(err) {}
  int err_ = 0;
};

// Returns an error Status: `return Err(ENOENT);` converts to Status or any Result<T>.
struct Err {
  int error;
  constexpr explicit Err(int e) : error(e) {}
  constexpr operator Status() const { return Status::Error(error); }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& v) : err_(0) { new (&value_) T(v); }
  Result(T&& v) : err_(0) { new (&value_) T(std::move(v)); }
  Result(Err e) : err_(e.error) {}
  Result(Status s) : err_(s.ok() ? EINVAL : s.error()) {}  // an ok Status carries no value
  Result(Result&& o) noexcept : err_(o.err_) {
    if (err_ == 0) new (&value_) T(std::move(o.value_));
  }
  Result(const Result& o) : err_(o.err_) {
    if (err_ == 0) new (&value_) T(o.value_);
  }
  Result& operator=(Result&& o) noexcept {
    if (this != &o) {
      reset();
      err_ = o.err_;
      if (err_ == 0) new (&value_) T(std::move(o.value_));
    }
    return *this;
  }
  Result& operator=(const Result& o) {
    if (this != &o) {
      reset();
      err_ = o.err_;
      if (err_ == 0) new (&value_) T(o.value_);
    }
    return *this;
  }
  ~Result() { reset(); }

  bool ok() const { return err_ == 0; }
  explicit operator bool() const { return ok(); }
  int error() const { return err_; }
  Status status() const { return ok() ? Status::Ok() : Status::Error(err_); }

  // Precondition: ok().
  T& value() & { return value_; }
  const T& value() const& { return value_; }
  T&& value() && { return std::move(value_); }
  T* operator->() { return &value_; }
  const T* operator->() const { return &value_; }
  T& operator*() & { return value_; }
  const T& operator*() const& { return value_; }

 private:
  void reset() {
    if (err_ == 0) value_.~T();
    err_ = EINVAL;
  }
  union {
    T value_;
  };
  int err_;
};

inline Status to_status(Status s) {
  return s;
}
template <typename T>
Status to_status(const Result<T>& r) {
  return r.status();
}

}  // namespace bento

// Propagates an error: BENTO_TRY(status_expr); or auto v = BENTO_TRY_VALUE(result_expr);
#define BENTO_TRY(expr)                                                          \
  do {                                                                           \
    ::bento::Status bento_try_status_ = ::bento::to_status(expr);                \
    if (!bento_try_status_.ok()) return ::bento::Err(bento_try_status_.error()); \
  } while (0)

#define BENTO_CONCAT_INNER(a, b) a##b
#define BENTO_CONCAT(a, b) BENTO_CONCAT_INNER(a, b)
// Usage: BENTO_ASSIGN_OR_RETURN(auto bh, dev.bread(n));
#define BENTO_ASSIGN_OR_RETURN(lhs, expr)                               \
  auto BENTO_CONCAT(bento_result_, __LINE__) = (expr);                  \
  if (!BENTO_CONCAT(bento_result_, __LINE__).ok())                      \
    return ::bento::Err(BENTO_CONCAT(bento_result_, __LINE__).error()); \
  lhs = std::move(BENTO_CONCAT(bento_result_, __LINE__)).value()
