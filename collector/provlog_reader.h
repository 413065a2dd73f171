// Reading a mount's provenance log through its hidden file (fs/format/prov_log.h "On the
// wire"): whole committed records from a cursor, acknowledgement, and the log's counters.
// Shared by `prov log` and the collector.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "format/prov_log.h"

namespace bento::provlog {

class Reader {
 public:
  Reader() = default;
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // The mount's log (MOUNT/.bento-provlog). False + *error when it cannot be opened (not
  // root, not a Bento-fs mount, an image without a log area).
  bool open_mount(const std::string& mountpoint, std::string* error);
  // A raw copy of the log bytes (forensics, tests): records from offset 0; no ack/info.
  bool open_file(const std::string& path, std::string* error);

  // head/tail/durable/capacity/next_seq/refused/tracking/gap_records/gap_mutating as the
  // fs reports them (the gap keys: fs with record format 2).
  std::map<std::string, uint64_t> info(std::string* error) const;

  // Reads what is committed from *cursor on and calls cb(record, its offset) for each
  // record (pads skipped); advances *cursor past what it consumed. A malformed record is
  // reported through bad(offset, reason) and skipped when its length is usable; otherwise
  // reading stops there (returns false with *error). Returns true when it made progress or
  // reached the end.
  bool read(uint64_t* cursor, const std::function<void(const bentofs::prov::Record&, uint64_t)>& cb,
            const std::function<void(uint64_t, const std::string&)>& bad, size_t* records,
            std::string* error);
  // Tells the fs that everything before offset is stored elsewhere (frees log space).
  bool ack(uint64_t offset, std::string* error);
  // Forces the fs to commit pending records (fsync on the log file).
  bool sync(std::string* error);

 private:
  int fd_ = -1;
  bool is_mount_ = false;
  static constexpr size_t kMinRead = 64 << 10;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(1 << 20);
  size_t want_ = kMinRead;  // bytes the next read asks for
};

}  // namespace bento::provlog
