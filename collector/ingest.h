// The collector's graph rules: how probe events (bpf/include/bento_bpf/events.h) and fs
// provenance records (fs/format/prov_log.h) become rows of the lineage graph. No SQL and no
// /proc here: rows go to a GraphStore, machine facts come from HostFacts, so the rules are
// tested on synthetic inputs. schema/SCHEMA.md ("How facts become rows") is this file's
// specification, and query-cli/LINEAGE.md says how the times it stores are used.
//
// Times. Every data-flow edge keeps when the transfer happened: used/generated rows hold
// the first transfer (time_ns) and, where it is known, the last (last_ns): a handle's
// release carries the time of its last write, so a process that wrote a file and read
// another afterwards is not taken to have written the first from the second.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "format/prov_log.h"
#include "graph_store.h"
#include "host_facts.h"

namespace bento::collector {

class Ingest {
 public:
  Ingest(GraphStore& store, HostFacts& host);

  // A tracked mount: its source id, mountpoint and the last record stored before a restart
  // (its open handles are loaded from the store).
  void add_mount(int64_t source, const std::string& mountpoint, uint64_t last_seq);

  // A probe event. False: malformed (the caller counts it).
  bool on_probe_event(const void* data, size_t size);
  // One fs record. False: stored before a restart (seq <= last_seq), skipped.
  bool on_fs_record(int64_t source, const bentofs::prov::Record& r);

  // Without the probes' PIPE_IO events, an exec whose fds 0-2 are pipes is taken to read
  // stdin's pipe and write stdout's and stderr's (a shell pipeline's stages).
  void set_exec_std_pipes(bool on) { exec_std_pipes_ = on; }

  // Writes the handles that changed since the last call (the open_handles table) and
  // drops outside-file opens that stayed pending too long. Called before each commit.
  void end_batch();
  // After a failed commit: forget what may describe rows that were never stored.
  void forget_after_rollback();
  // Which activity each thread stands for is asked again (after retention pruned rows).
  void forget_attribution() { tid_activity_.clear(); }

  uint64_t tree_walks() const { return tree_walks_; }
  uint64_t last_seq(int64_t source) const;

 private:
  // ---- per mount
  struct Handle {
    int64_t file = 0;
    uint32_t flags = 0;
    bool writing = false;          // counted in its file's write session
    std::vector<int64_t> writers;  // activities that wrote through it (their last write)
    uint64_t opened = 0;           // when it was opened (0: before a restart)
  };
  struct Mount {
    std::string mountpoint;
    uint64_t dev = 0;  // st_dev of the mountpoint: how probe events name this mount
    uint64_t last_seq = 0;
    std::map<uint64_t, Handle> handles;               // fh
    std::set<uint64_t> dirty_handles;                 // changed since the last end_batch()
    std::set<uint64_t> stored_handles;                // rows in open_handles
    std::map<uint64_t, std::string> dirs;             // dir ino -> path
    std::multimap<uint64_t, std::string> seen_files;  // ino -> path (tree walk)
    bool walked = false;                              // this tracking session's tree walk is done
  };
  // A file's write session: every handle writing it at once produces one version.
  struct Session {
    int64_t entity = 0;
    int handles = 0;
    struct Writer {
      int handles = 0;    // handles through which this activity wrote, still open
      uint64_t last = 0;  // latest last-write of those already closed
    };
    std::unordered_map<int64_t, Writer> writers;  // activity
  };

  // ---- attribution (ingest.cc)
  int64_t process_for(uint32_t pid, uint64_t start_ns, uint32_t uid, uint32_t gid);
  // The activity a thread stood for at time t (probes; /proc for older processes).
  int64_t activity_for_tid(uint32_t tid, uint32_t uid, uint32_t gid, uint64_t t);
  int64_t observed_activity(uint32_t tid, uint32_t uid, uint32_t gid, uint64_t t, int64_t* process,
                            int64_t* task_start);

  // ---- files, versions, names (ingest.cc)
  int64_t mount_file(int64_t source, uint64_t ino, uint32_t gen, const char* kind, uint64_t t);
  int64_t current_entity(int64_t file, uint64_t t, const std::string& path = "");
  int64_t new_version(int64_t file, uint64_t t, const std::string& path = "");
  // rename, link, chmod, chown, truncate, unlink of a file that lives on: a new version
  // by the actor (or, inside a write session, a mark on the session's version).
  void metadata_change(int64_t file, int64_t act, uint64_t t, const char* how,
                       const std::string& path = "");
  void walk_tree(Mount& m);
  std::string dir_path(Mount& m, uint64_t ino);
  std::string path_of(Mount& m, uint64_t parent, const char* name, size_t len);
  void rename_subtree(Mount& m, const std::string& from, const std::string& to, uint64_t t);
  int64_t source_for_dev(uint64_t dev) const;

  // ---- handles and write sessions (ingest.cc)
  void begin_writing(Mount& m, uint64_t fh, Handle& h, int64_t act, uint64_t t, const char* how);
  void add_writer(Handle& h, int64_t act);
  // last_write: CLOCK_MONOTONIC of the handle's last write (0: unknown -> `t`).
  void end_handle(Mount& m, std::map<uint64_t, Handle>::iterator it, uint64_t t,
                  uint64_t last_write);

  // ---- fs records (ingest_fs_log.cc)
  void fs_create(int64_t source, Mount& m, const bentofs::prov::Record& r, int64_t act);
  void fs_rename(int64_t source, Mount& m, const bentofs::prov::Record& r, int64_t act);
  void fs_remove(int64_t source, Mount& m, const bentofs::prov::Record& r, int64_t act);
  void fs_open(int64_t source, Mount& m, const bentofs::prov::Record& r, int64_t act);
  void fs_write(int64_t source, Mount& m, const bentofs::prov::Record& r, int64_t act);

  // ---- probe events (ingest_probes.cc)
  bool on_fork(const void* data, size_t size);
  bool on_exec(const void* data, size_t size);
  bool on_exit(const void* data, size_t size);
  bool on_pipe_io(const void* data, size_t size);
  bool on_open(const void* data, size_t size);
  bool on_fd_pass(const void* data, size_t size);
  bool on_pipe(const void* data, size_t size);
  bool on_dup(const void* data, size_t size);
  bool on_close(const void* data, size_t size);
  // The entity an fd event names (dev, ino), if the graph has it already (0 otherwise).
  int64_t known_entity(uint64_t dev, uint64_t ino, uint64_t t);
  void remember_file_id(uint64_t file_id, uint64_t dev, uint64_t ino);

  // Opens outside the tracked mounts wait here until their activity touches a tracked
  // mount or a pipe: a compiler that never does is not lineage of anything we track, and
  // its hundreds of header reads would swamp the database on a busy machine.
  struct PendingOpen {
    uint64_t dev, ino, t;
    uint32_t flags;
    std::string path;
  };
  // Marks of fd calls (dup, close, pipe) wait the same way: dev 0 names a pipe.
  struct PendingAction {
    uint64_t t;
    const char* what;
    uint64_t dev, ino;
    bool known;  // dev/ino name a file (else the mark has no entity)
    std::string detail;
  };
  struct Pending {
    std::vector<PendingOpen> opens;
    std::vector<PendingAction> actions;
    uint64_t newest = 0;
    size_t size() const { return opens.size() + actions.size(); }
  };
  void outside_open(int64_t act, const PendingOpen& o);
  void fd_action(int64_t act, const PendingAction& a);
  // Stores `a` now if the activity is kept, else keeps it pending.
  void fd_action_or_wait(int64_t act, PendingAction a);
  void make_relevant(int64_t act);

  GraphStore& store_;
  HostFacts& host_;
  std::map<int64_t, Mount> mounts_;                // source id
  std::unordered_map<int64_t, Session> sessions_;  // file id

  // Which activity a thread id stood for over [from, until): saves queries per record.
  struct TidActivity {
    int64_t activity, from, until;
  };
  std::unordered_map<uint32_t, TidActivity> tid_activity_;
  std::unordered_map<uint64_t, int64_t> fd_senders_;  // file_id in flight -> sending activity
  // What an fd's file_id names (OPEN/PIPE/DUP/FD_RECV events): how a CLOSE finds its file.
  std::unordered_map<uint64_t, std::pair<uint64_t, uint64_t>> file_ids_;  // -> dev, ino
  std::unordered_map<int64_t, Pending> pending_;
  std::unordered_set<int64_t> relevant_;  // activities that touched a mount or a pipe
  size_t pending_total_ = 0;
  uint64_t newest_ns_ = 0;  // the latest probe event time seen
  uint64_t tree_walks_ = 0;
  bool exec_std_pipes_ = true;
};

}  // namespace bento::collector
