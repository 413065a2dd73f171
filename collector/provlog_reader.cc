#include "provlog_reader.h"

#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace bento::provlog {

namespace prov = bentofs::prov;

Reader::~Reader() {
  if (fd_ >= 0) ::close(fd_);
}

bool Reader::open_mount(const std::string& mountpoint, std::string* error) {
  std::string path = mountpoint + "/" + prov::kProvLogFileName;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    int e = errno;
    if (e == ENOENT) {
      *error = mountpoint +
               " has no provenance log (not a Bento-fs mount, an image made "
               "without a log area, or not root)";
    } else if (e == EACCES || e == EPERM) {
      *error = "reading the provenance log of " + mountpoint + " needs root";
    } else {
      *error = path + ": " + std::strerror(e);
    }
    return false;
  }
  is_mount_ = true;
  return true;
}

bool Reader::open_file(const std::string& path, std::string* error) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

std::map<std::string, uint64_t> Reader::info(std::string* error) const {
  std::map<std::string, uint64_t> m;
  if (!is_mount_) return m;
  char buf[1024];
  ssize_t n = ::fgetxattr(fd_, prov::kXattrInfo, buf, sizeof buf - 1);
  if (n < 0) {
    *error = std::string("reading the log's counters: ") + std::strerror(errno);
    return m;
  }
  buf[n] = '\0';
  for (char* line = std::strtok(buf, "\n"); line != nullptr; line = std::strtok(nullptr, "\n")) {
    char* eq = std::strchr(line, '=');
    if (eq == nullptr) continue;
    *eq = '\0';
    m[line] = std::strtoull(eq + 1, nullptr, 10);
  }
  return m;
}

bool Reader::read(uint64_t* cursor, const std::function<void(const prov::Record&, uint64_t)>& cb,
                  const std::function<void(uint64_t, const std::string&)>& bad, size_t* records,
                  std::string* error) {
  *records = 0;
  // The log file is direct I/O: the kernel pins every page of the buffer asked for, however
  // little comes back. Ask for what recent reads suggest is there (64 KiB, doubling while
  // reads come back full, up to 1 MiB): pinning was a third of provd's CPU.
  ssize_t n = ::pread(fd_, buf_.data(), want_, static_cast<off_t>(*cursor));
  if (n >= static_cast<ssize_t>(want_ - prov::kLogBlockSize))
    want_ = std::min(want_ * 2, buf_.size());
  else if (n < static_cast<ssize_t>(want_ / 4))
    want_ = std::max(want_ / 2, kMinRead);
  if (n < 0) {
    if (errno == ERANGE) {
      *error = "offset " + std::to_string(*cursor) +
               " is below the log's head: those records were acknowledged and dropped";
    } else {
      *error = std::string("reading the provenance log: ") + std::strerror(errno);
    }
    return false;
  }
  size_t at = 0;
  while (at < static_cast<size_t>(n)) {
    prov::Record r;
    uint32_t len = 0;
    prov::DecodeError e =
        prov::decode_record(buf_.data() + at, static_cast<size_t>(n) - at, &r, &len);
    if (e == prov::DecodeError::kShort && is_mount_ == false) break;  // a copy cut mid-record
    if (e == prov::DecodeError::kShort || e == prov::DecodeError::kBadLen) {
      // The fs returns whole records only: the stream is damaged from here on.
      *error = std::string("provenance log damaged at offset ") + std::to_string(*cursor + at) +
               ": " + prov::decode_error_name(e);
      *cursor += at;
      return false;
    }
    if (e != prov::DecodeError::kOk) {
      bad(*cursor + at, prov::decode_error_name(e));
    } else if (r.type != prov::RecordType::kPad) {
      cb(r, *cursor + at);
      ++*records;
    }
    at += len;
  }
  *cursor += at;
  return true;
}

bool Reader::ack(uint64_t offset, std::string* error) {
  std::string v = std::to_string(offset);
  if (::fsetxattr(fd_, prov::kXattrAck, v.data(), v.size(), 0) != 0) {
    *error = "acknowledging the provenance log up to " + v + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool Reader::sync(std::string* error) {
  if (::fsync(fd_) != 0) {
    *error = std::string("committing the provenance log: ") + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace bento::provlog
