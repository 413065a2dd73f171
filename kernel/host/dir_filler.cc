#include "dir_filler.h"

#include <bento/log.h>

#include <cstring>

namespace bento::host {
namespace {

bool is_dot(std::string_view name) {
  return name == "." || name == "..";
}

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= kNameMax &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

}  // namespace

void to_stat(const Attr& in, struct stat* out) {
  std::memset(out, 0, sizeof *out);
  out->st_ino = in.ino;
  out->st_mode = in.mode;
  out->st_nlink = in.nlink;
  out->st_uid = in.uid;
  out->st_gid = in.gid;
  out->st_rdev = in.rdev;
  out->st_size = static_cast<off_t>(in.size);
  out->st_blocks = static_cast<blkcnt_t>(in.blocks);
  out->st_blksize = in.blksize;
  out->st_atim.tv_sec = in.atime.sec;
  out->st_atim.tv_nsec = in.atime.nsec;
  out->st_mtim.tv_sec = in.mtime.sec;
  out->st_mtim.tv_nsec = in.mtime.nsec;
  out->st_ctim.tv_sec = in.ctime.sec;
  out->st_ctim.tv_nsec = in.ctime.nsec;
}

void to_fuse_entry(const Entry& in, fuse_entry_param* out) {
  std::memset(out, 0, sizeof *out);
  out->ino = in.ino;
  out->generation = in.generation;
  to_stat(in.attr, &out->attr);
  if (out->attr.st_ino == 0) out->attr.st_ino = in.ino;
  out->attr_timeout = in.attr_timeout_ms / 1000.0;
  out->entry_timeout = in.entry_timeout_ms / 1000.0;
}

FuseDirFiller::FuseDirFiller(fuse_req_t req, char* buf, size_t cap, bool plus,
                             std::vector<Ino>* sent, std::vector<Ino>* rejected)
    : req_(req), buf_(buf), cap_(cap), plus_(plus), sent_(sent), rejected_(rejected) {
  sent_->clear();
  rejected_->clear();
}

size_t FuseDirFiller::max_entries(size_t cap) {
  // The smallest record is a fuse_dirent with a 1-byte name, padded to 8 bytes (24 bytes).
  return cap / 24 + 1;
}

bool FuseDirFiller::add(std::string_view name, Ino ino, uint32_t mode, uint64_t next_offset,
                        const Entry* entry) {
  if (full_) return false;
  const bool counted = plus_ && entry != nullptr && !is_dot(name);
  if (!valid_name(name)) {
    if (counted) {
      if (rejected_->size() >= kMaxRejected) return false;  // picked up by the next readdir
      rejected_->push_back(entry->ino);
    }
    log(LogLevel::kWarning, "bentofs: readdir: skipping an entry with an invalid name");
    return true;
  }
  // fuse_add_direntry* take a C string.
  char cname[kNameMax + 1];
  std::memcpy(cname, name.data(), name.size());
  cname[name.size()] = '\0';
  const size_t room = cap_ - used_;
  const off_t off = static_cast<off_t>(next_offset);
  size_t need;
  if (plus_) {
    fuse_entry_param e;
    if (entry != nullptr) {
      to_fuse_entry(*entry, &e);
    } else {
      std::memset(&e, 0, sizeof e);
    }
    if (!counted) {
      // "." and ".." (and entries without an Entry) go out with nodeid 0: the kernel
      // neither links them nor counts a lookup.
      e.ino = 0;
      e.attr.st_ino = ino;
      e.attr.st_mode = mode;
    }
    need = fuse_add_direntry_plus(req_, buf_ + used_, room, cname, &e, off);
  } else {
    struct stat st;
    std::memset(&st, 0, sizeof st);
    st.st_ino = ino;
    st.st_mode = mode;
    need = fuse_add_direntry(req_, buf_ + used_, room, cname, &st, off);
  }
  if (need > room) {
    full_ = true;  // nothing was written
    return false;
  }
  used_ += need;
  if (counted && sent_->size() < sent_->capacity()) sent_->push_back(entry->ino);
  return true;
}

}  // namespace bento::host
