// The collector's core: joins the probes' process facts and the file systems' provenance
// records into the lineage graph (schema/SCHEMA.md). Single-threaded; the caller batches
// work between begin() and commit(). provd.cc drives it; tests feed it directly.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bento/lineage/database.h"
#include "format/prov_log.h"

namespace bento::collector {

class Collector {
 public:
  explicit Collector(lineage::Database& db);

  // A tracked mount: its source row (created if new). *cursor/*last_seq: where to resume.
  int64_t fs_source(const std::string& mountpoint, uint64_t* cursor, uint64_t* last_seq);
  int64_t probes_source();

  void begin();
  // Also stores each source's read position. A failed commit rolls the transaction back
  // and forgets every cached row id (they may name rows that were never stored).
  bool commit(std::string* error);

  // A probe event (bpf/include/bento_bpf/events.h). False: malformed (counted, skipped).
  bool on_probe_event(const void* data, size_t size);
  // One fs record; `next_offset` is the log offset after it (the cursor stored with it).
  // Records with seq <= the source's last_seq were stored before a restart: skipped.
  void on_fs_record(int64_t source, const bentofs::prov::Record& r, uint64_t next_offset);
  void on_fs_malformed(int64_t source, uint64_t next_offset);
  void set_lost(int64_t source, uint64_t lost);
  // meta(key) = value, in the running transaction (provd's status for `prov status`).
  void set_meta(const std::string& key, const std::string& value);

  uint64_t records_ingested() const { return ingested_; }
  // Walks of a mount's tree (names of what existed before tracking): at most one per
  // tracking session of each mount.
  uint64_t tree_walks() const { return tree_walks_; }
  // Without the probes' PIPE_IO events, an exec whose fds 0-2 are pipes is taken to read
  // stdin's pipe and write stdout's and stderr's (a shell pipeline's stages). With them,
  // only actual reads and writes count: set this false.
  void set_exec_std_pipes(bool on) { exec_std_pipes_ = on; }

 private:
  struct Handle {
    int64_t file = 0;
    uint32_t flags = 0;
    bool writing = false;  // counted in its file's write session
  };
  struct Source {
    std::string mountpoint;
    uint64_t last_seq = 0;
    std::map<uint64_t, Handle> handles;                // fh
    std::set<uint64_t> dirty_handles, stored_handles;  // vs the open_handles table
    std::map<uint64_t, std::string> dirs;              // dir ino -> path
    std::multimap<uint64_t, std::string> seen_files;   // ino -> path (tree walk)
    bool walked = false;                               // this tracking session's tree walk is done
    uint64_t dev = 0;  // st_dev of the mountpoint: how probe events name this mount
    // Read position, written to `sources` once per transaction (commit()).
    uint64_t cursor = 0, pending_records = 0;
    bool progressed = false;
  };
  // Which activity a thread id stood for over [from, until): saves two queries per record.
  struct TidActivity {
    int64_t activity, from, until;
  };
  struct PairHash {
    size_t operator()(const std::pair<int64_t, int64_t>& p) const {
      return std::hash<int64_t>()(p.first * 1000003 ^ p.second);
    }
  };

  int64_t process_for(uint32_t pid, uint64_t start_ns, bool create, uint32_t uid, uint32_t gid);
  int64_t current_activity(int64_t process, uint64_t t);
  int64_t new_activity(int64_t process, const std::string& exe, const std::string& argv_json,
                       uint64_t exe_ino, uint64_t exe_dev, uint32_t uid, uint32_t gid,
                       uint32_t euid, uint64_t t, const char* origin, int64_t informant,
                       const char* how);
  // The activity a thread id stood for at time t (probes; /proc for older processes).
  int64_t activity_for_tid(uint32_t tid, uint32_t uid, uint32_t gid, uint64_t t);
  int64_t file_for(int64_t source, uint64_t ino, uint32_t gen, const char* kind, uint64_t t,
                   bool create);
  int64_t pipe_file(uint64_t ino, uint64_t t);
  // A file outside the tracked mounts (probes' OPEN events): (dev, ino), named by `path`.
  int64_t outside_file(uint64_t dev, uint64_t ino, const std::string& path, uint64_t t);
  // The tracked mount whose st_dev is `dev`, or 0.
  int64_t source_for_dev(uint64_t dev) const;
  // Events on fds (bpf events.h): pipes, fd passing, opens outside the mounts.
  bool on_fd_event(const void* data, size_t size);
  int64_t current_entity(int64_t file, uint64_t t, const std::string& path);
  int64_t new_version(int64_t file, uint64_t t, const std::string& path);
  void generated(int64_t entity, int64_t activity, uint64_t t, const char* how);
  void used(int64_t activity, int64_t entity, uint64_t t, const char* how);
  void informed(int64_t informed, int64_t informant, uint64_t t, const char* how);
  void invalidated(int64_t entity, int64_t activity, uint64_t t, const char* how);
  void walk_tree(Source& s);
  std::string dir_path(Source& s, uint64_t ino);
  std::string path_of(Source& s, uint64_t parent, const char* name, size_t len);
  void name_add(int64_t file, const std::string& path, uint64_t t);
  void name_end(int64_t file, const std::string& path, uint64_t t);
  std::string path_of_file(int64_t file);
  void rename_subtree(Source& s, const std::string& from, const std::string& to, uint64_t t);

  lineage::Stmt& st(const char* sql);
  void forget_caches();
  void store_handles(int64_t source, Source& s);
  void load_handles(int64_t source, Source& s);
  void end_handle(Source& s, std::map<uint64_t, Handle>::iterator it);

  lineage::Database& db_;
  std::map<const char*, std::unique_ptr<lineage::Stmt>> stmts_;
  std::map<int64_t, Source> sources_;
  std::map<int64_t, int> write_sessions_;      // file -> handles writing
  std::map<int64_t, int64_t> session_entity_;  // file -> entity of the running session
  // Row ids already known, so the hot path does not ask SQLite again (all written by us).
  std::unordered_map<uint32_t, TidActivity> tid_activity_;
  std::map<std::pair<uint32_t, uint64_t>, int64_t> process_ids_;            // (pid, start_ns)
  std::map<std::tuple<int64_t, uint64_t, uint32_t>, int64_t> file_ids_;     // source, ino, gen
  std::unordered_map<int64_t, std::pair<int64_t, int64_t>> latest_entity_;  // file -> id, version
  std::unordered_set<std::pair<int64_t, int64_t>, PairHash> used_seen_, generated_seen_;
  std::map<std::pair<uint64_t, uint64_t>, int64_t> outside_ids_;  // (dev, ino) -> file
  std::unordered_map<uint64_t, int64_t> fd_senders_;  // file_id in flight -> sending activity
  // Opens outside the tracked mounts wait here until their activity touches a tracked
  // mount or a pipe: a compiler that never does is not lineage of anything we track, and
  // storing its hundreds of header reads would swamp the database on a busy machine.
  struct PendingOpen {
    uint64_t dev, ino, t;
    uint32_t flags;
    std::string path;
  };
  std::unordered_map<int64_t, std::vector<PendingOpen>> pending_opens_;
  std::unordered_set<int64_t> relevant_;  // activities that touched a mount or a pipe
  size_t pending_total_ = 0;
  uint64_t newest_ns_ = 0;  // the latest probe event time seen
  void outside_open(int64_t activity, const PendingOpen& o);
  void make_relevant(int64_t activity);
  uint64_t ingested_ = 0;
  uint64_t tree_walks_ = 0;
  int64_t probes_id_ = 0;
  bool exec_std_pipes_ = true;
};

}  // namespace bento::collector
