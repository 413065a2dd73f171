// What the collector's graph rules (ingest.h) need from storage: rows of the lineage graph
// (schema/SCHEMA.md) to add, and the few facts to read back. The rules never see SQL;
// sqlite_store.h implements this over the database, tests may implement it in memory.
// Ids are row ids (0: none). Times are CLOCK_MONOTONIC ns.
#pragma once

#include <climits>
#include <compare>
#include <cstdint>
#include <string>
#include <vector>

namespace bento::collector {

struct ActivityRow {
  int64_t process = 0;
  std::string exe;        // the program as exec'd (filename, made absolute when it can be)
  std::string program;    // the same with symlinks resolved ("" when it could not be)
  std::string argv_json;  // JSON array of strings
  uint64_t exe_ino = 0, exe_dev = 0;
  uint32_t uid = 0, gid = 0, euid = 0;
  uint64_t start_ns = 0;
  std::string origin;  // exec fork observed setuid
  std::string root;    // the chroot directory it ran under (host path), "" for the host's
  // Who logged in (the audit login uid, kept across sudo and su) and the login's session;
  // -1 when unset (a daemon, a boot-time task) or unknown.
  int64_t login_uid = -1, session_id = -1;
};

// Which activity a process ran at time t, and over which interval that answer holds.
struct ActivityAt {
  int64_t id = 0;
  int64_t from = 0, until = INT64_MAX;
};

// Which process a thread id stood for at time t, and over which interval.
struct TaskAt {
  int64_t process = 0;
  int64_t from = 0, until = INT64_MAX;
};

// A file as the copies table names it: (source, ino) on a tracked mount, (dev, ino) outside
// them (source 0).
struct FileIdentity {
  int64_t source = 0;
  uint64_t dev = 0, ino = 0;
  friend auto operator<=>(const FileIdentity&, const FileIdentity&) = default;
};

struct GeneratedRow {
  std::string how;
  uint64_t time = 0, last = 0;
};

struct VersionRef {
  int64_t id = 0;
  int64_t version = 0;
};

// Stored open handle of a tracked mount (restarts continue its write session).
struct StoredHandle {
  uint64_t fh = 0;
  int64_t file = 0;
  uint32_t flags = 0;
  bool writing = false;
  int64_t session_entity = 0;
};

class GraphStore {
 public:
  virtual ~GraphStore() = default;

  // ---- processes, threads, activities
  virtual int64_t find_process(uint32_t pid, uint64_t start_ns) = 0;
  // The first process with that pid that started in [from_ns, until_ns).
  virtual int64_t find_process_between(uint32_t pid, uint64_t from_ns, uint64_t until_ns) = 0;
  // A new process and its main thread's task row.
  virtual int64_t add_process(uint32_t pid, uint64_t start_ns, uint32_t uid, uint32_t gid) = 0;
  virtual void set_process_parent(int64_t child, int64_t parent) = 0;
  virtual int64_t process_parent(int64_t process) = 0;  // 0: none known
  virtual void set_process_exit(int64_t process, uint64_t t, int32_t code) = 0;
  virtual void add_task(uint32_t tid, int64_t process, uint64_t start_ns) = 0;
  virtual void end_task(uint32_t tid, uint64_t t) = 0;
  virtual TaskAt task_at(uint32_t tid, uint64_t t) = 0;
  virtual int64_t add_activity(const ActivityRow& a) = 0;
  virtual ActivityAt activity_at(int64_t process, uint64_t t) = 0;
  // False when unknown.
  virtual bool activity(int64_t id, ActivityRow* out) = 0;
  virtual void end_activity(int64_t id, uint64_t t) = 0;
  virtual void end_process_activities(int64_t process, uint64_t t) = 0;

  // ---- files, versions, names
  // kind: file dir symlink fifo other pipe socket endpoint. created: 0 = made before we saw it.
  virtual int64_t find_file(int64_t source, uint64_t ino, uint32_t gen) = 0;
  virtual int64_t find_file_any_gen(int64_t source, uint64_t ino) = 0;
  virtual int64_t add_file(int64_t source, uint64_t ino, uint32_t gen, const char* kind,
                           uint64_t created_ns) = 0;
  // Outside the tracked mounts: (dev, ino, gen); newest row.
  virtual int64_t find_outside_file(uint64_t dev, uint64_t ino, uint32_t gen) = 0;
  virtual int64_t add_outside_file(uint64_t dev, uint64_t ino, uint32_t gen, const char* kind,
                                   uint64_t created_ns) = 0;
  virtual int64_t find_outside_any_gen(uint64_t dev, uint64_t ino) = 0;
  // The file that has `path` as a current name (newest), 0 when none.
  virtual int64_t find_file_named(const std::string& path) = 0;
  // The same, for a name it has had since `t` or earlier: the file an unlink at `t` removed
  // (not one renamed or stored under the name after it).
  virtual int64_t find_file_named_at(const std::string& path, uint64_t t) = 0;
  virtual int64_t find_pipe(uint64_t ino) = 0;  // newest pipe row with that pipefs inode
  virtual int64_t add_pipe(uint64_t ino, uint64_t created_ns) = 0;
  // Sockets and endpoints: by address text ("tcp 203.0.113.5:443", "unix-socket 1234") and,
  // for a socket, the sending socket's inode: the same address text is another connection
  // when another socket sends under it (a client port used again). The newest row of that
  // text, if it is that socket's (rows of inode 0, endpoints, match any), else 0.
  virtual int64_t find_addr(const std::string& addr, uint64_t sock_ino) = 0;
  virtual int64_t add_addr(const std::string& addr, const char* kind, uint64_t sock_ino,
                           uint64_t created_ns) = 0;
  virtual void set_file_died(int64_t file, uint64_t t) = 0;

  virtual VersionRef latest_version(int64_t file) = 0;  // id 0: none yet
  // The version `file` had at t (the latest one made at or before it); the latest when
  // none was: what a read applied late (it waited for a decision) actually saw.
  virtual VersionRef version_at(int64_t file, uint64_t t) = 0;
  // Version n+1 of `file` (1 when it has none); wasDerivedFrom(version) from the previous,
  // or (emptied: a truncation to 0 or O_TRUNC made it, nothing of the previous content is
  // in it) `replaced`, which lineage does not walk.
  virtual VersionRef add_version(int64_t file, const std::string& path, uint64_t t,
                                 bool emptied = false) = 0;

  // The reads of version `from` at or after `since` (first reads and later ones) saw
  // version `to`, found later to begin then (a terminal's session: Ingest::terminal_session).
  virtual void move_reads(int64_t to, int64_t from, uint64_t since) = 0;

  virtual void add_name(int64_t file, const std::string& path, uint64_t t) = 0;
  // The versions of `file` that have no path yet (an O_TMPFILE file until linked) take it.
  virtual void name_unnamed_versions(int64_t file, const std::string& path) = 0;
  virtual void end_name(int64_t file, const std::string& path, uint64_t t) = 0;
  // Every open name below directory `from` moves below `to`.
  virtual void move_names_below(const std::string& from, const std::string& to, uint64_t t) = 0;
  virtual std::string latest_name(int64_t file) = 0;
  // Whether `file` has ever had a name (latest_name not empty).
  virtual bool ever_named(int64_t file) = 0;
  virtual bool has_open_name(int64_t file, const std::string& path) = 0;
  // The open name `was` of `file`, and the path of its versions named so, become `path`.
  virtual void retitle_open_name(int64_t file, const std::string& was, const std::string& path) = 0;

  // ---- relations (time_ns = first transfer, last_ns = last; see SCHEMA.md)
  // used: one row per (activity, entity); keeps the earliest time (and its how).
  virtual void used(int64_t activity, int64_t entity, uint64_t t, const char* how) = 0;
  // A read (write) of a pipe or FIFO, or a receive (send) on a stream socket, the probes
  // reported (events.h v10, v11: again after news): an instant. The first is the used
  // (generated) row, with `how` ('pipe', 'receive', 'send') and last_ns = t; each later one a
  // row of pipe_transfers (schema v9). open_ended: the probes' last report of it
  // (BENTO_PIPE_IO_OPEN, BENTO_SOCK_LAST): the row lasts until the activity ends (last_ns
  // NULL).
  virtual void instant_transfer(int64_t activity, int64_t entity, uint64_t t, bool write,
                                bool open_ended, const char* how) = 0;
  // The activity's reads of the entity are known exactly: the row's time becomes `t` even if
  // it is later than an open's time (an open without a read moves no data), and its opens
  // of earlier versions of the file before t (`exec 3< f`, f rewritten, then the first
  // read) are dropped: it read none of them.
  virtual void used_exact(int64_t activity, int64_t entity, uint64_t t) = 0;
  // The activity read no version of the file after `last` (it released its last handle).
  virtual void used_last_of_file(int64_t activity, int64_t file, uint64_t last) = 0;
  // Its read of the entity was through fd 0, a file the shell put there (`sort < f`):
  // how 'stdin' (a program read stays one).
  virtual void used_on_stdin(int64_t activity, int64_t entity) = 0;
  // generated: one row per (entity, activity); keeps the earliest time; last_ns only grows.
  virtual void generated(int64_t entity, int64_t activity, uint64_t t, const char* how) = 0;
  virtual void generated_last(int64_t entity, int64_t activity, uint64_t last) = 0;
  // A connection's sending end sent its FIN at `last`: every send on it not yet ended
  // ends there.
  virtual void end_sends(int64_t entity, uint64_t last) = 0;
  // Writes to a file outside the mounts: the activity's still open-ended writes of any of
  // the file's versions (not its mappings) end at `last` (the last open description it
  // wrote through was closed); and a write after such an end opens its row's end again.
  virtual void end_outside_writes(int64_t file, int64_t activity, uint64_t last) = 0;
  virtual void reopen_outside_write(int64_t entity, int64_t activity) = 0;
  // The activities still writing `entity` at t: their row's end is open (no close ended
  // it) and they had not ended by t.
  virtual std::vector<int64_t> open_writers(int64_t entity, uint64_t t) = 0;
  // A generated row as stored (last 0: open-ended): what a write that may still fail found,
  // so that the row can be put back as it was (before null: there was none).
  virtual bool find_generated(int64_t entity, int64_t activity, GeneratedRow* out) = 0;
  virtual void restore_generated(int64_t entity, int64_t activity, const GeneratedRow* before) = 0;
  virtual void informed(int64_t informed, int64_t informant, uint64_t t, const char* how) = 0;
  virtual void invalidated(int64_t entity, int64_t activity, uint64_t t, const char* how) = 0;
  // A mark of a call that moves no data (actions table). Optional ids may be 0.
  virtual void action(int64_t activity, uint64_t t, const char* what, int64_t entity,
                      int64_t other_activity, const std::string& detail_json) = 0;
  virtual void gap(int64_t source, uint64_t from_ns, uint64_t to_ns, uint64_t records,
                   const std::string& detail_json) = 0;
  // A file an activity wrote only with copies of `from`'s bytes (copies table): one row per
  // file copied.
  virtual void copy(int64_t activity, const FileIdentity& written, const FileIdentity& from) = 0;
  // Thread tid of `activity` read (wrote) version `entity` (thread_io table, schema v10).
  virtual void thread_io(int64_t activity, int64_t entity, uint32_t tid, bool write,
                         uint64_t t) = 0;

  // ---- the fs log's audit trail (events table)
  struct EventRow {
    int64_t source = 0;
    uint64_t seq = 0, ts_ns = 0, wall_ns = 0;
    const char* type = "";
    uint32_t tid = 0, uid = 0;
    int64_t activity = 0;
    uint64_t ino = 0;
    std::string name, name2;
  };
  virtual void event(const EventRow& e) = 0;

  // ---- open handles of a mount (write-behind by the rules)
  virtual void store_handle(int64_t source, const StoredHandle& h) = 0;
  virtual void drop_handle(int64_t source, uint64_t fh) = 0;
  virtual std::vector<StoredHandle> load_handles(int64_t source) = 0;
};

}  // namespace bento::collector
