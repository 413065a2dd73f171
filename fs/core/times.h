// Nanosecond timestamps between the on-disk DiskTime and bento::Timespec.
#pragma once

#include <bento/time.h>

#include "format/inode.h"

namespace bentofs {

inline void set_time(DiskTime& t, bento::Timespec ts) {
  t.sec.set(static_cast<uint64_t>(ts.sec));
  t.nsec.set(ts.nsec);
  t.pad.set(0);
}
inline bento::Timespec get_time(const DiskTime& t) {
  return {static_cast<int64_t>(t.sec.get()), t.nsec.get()};
}

}  // namespace bentofs
