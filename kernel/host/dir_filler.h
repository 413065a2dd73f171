// DirFiller over libfuse's reply buffer (fuse_add_direntry / fuse_add_direntry_plus).
//
// Buffer-full semantics matter for lookup counting: in "plus" mode the file system
// counts one lookup for every entry add() accepts, so add() returns false — and writes
// nothing — for an entry that does not fit. Entries the kernel would reject (empty name,
// longer than kNameMax, containing '/' or NUL) are accepted but not sent; in plus mode
// their lookups are listed in rejected() so that the caller can forget them.
#pragma once

#include <bento/fs_types.h>

#include <cstddef>
#include <string_view>
#include <vector>

#include "fuse_headers.h"

namespace bento::host {

class FuseDirFiller final : public DirFiller {
 public:
  // `sent` and `rejected` collect (plus mode) the inodes whose lookup the fs counted;
  // they are cleared here and must have capacity for max_entries(cap) and kMaxRejected.
  FuseDirFiller(fuse_req_t req, char* buf, size_t cap, bool plus, std::vector<Ino>* sent,
                std::vector<Ino>* rejected);

  bool wants_entries() const override { return plus_; }
  bool add(std::string_view name, Ino ino, uint32_t mode, uint64_t next_offset,
           const Entry* entry) override;

  size_t used() const { return used_; }
  // Upper bound on the entries that fit in `cap` bytes (for reserving `sent`).
  static size_t max_entries(size_t cap);
  static constexpr size_t kMaxRejected = 64;

 private:
  fuse_req_t req_;
  char* buf_;
  size_t cap_;
  size_t used_ = 0;
  bool plus_;
  bool full_ = false;
  std::vector<Ino>* sent_;
  std::vector<Ino>* rejected_;
};

// Entry -> fuse_entry_param (timeouts ms -> seconds).
void to_fuse_entry(const Entry& in, fuse_entry_param* out);
// Attr -> struct stat.
void to_stat(const Attr& in, struct stat* out);

}  // namespace bento::host
