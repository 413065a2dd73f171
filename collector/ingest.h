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
#include <deque>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "format/prov_log.h"
#include "graph_store.h"
#include "host_facts.h"

struct bento_event_header;  // bento_bpf/events.h
struct bento_dir_ref;
struct bento_exec_event;
struct bento_pipe_io_event;

namespace bento::collector {

// Whether a path passed by a process names its descriptors or /proc: only that process
// could resolve it (ingest_programs.cc).
bool process_relative_path(std::string_view filename);

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
  // provd --scope all: every activity is kept in full as it happens (nothing waits).
  void set_keep_all(bool on) { keep_all_ = on; }
  // A mount's log holds every record stamped before `t` (CLOCK_MONOTONIC) and all of them
  // have been read: nothing older is coming. The log serves committed records only, so
  // that is the time before a sync (fsync on the log) after which a read found no more.
  void log_drained(int64_t source, uint64_t t) {
    log_read_to_[source] = std::max(log_read_to_[source], t);
  }
  // Probe events about tracked files wait for their mount's log (defer()): the caller
  // should make the log complete up to now (sync it) soon.
  bool waits_for_logs() const { return !deferred_.empty() || !deferred_writes_.empty(); }
  // The last batch: the logs are drained to now, so probe writes to a mount apply without
  // their margin (kMountWriteMargin): the calls they stamp have returned.
  void stopping() { stopping_ = true; }

  // Writes the handles that changed since the last call (the open_handles table) and
  // drops outside-file opens that stayed pending too long. Called before each commit.
  void end_batch();
  // After a failed commit: forget what may describe rows that were never stored.
  void forget_after_rollback();
  // Which activity each thread stands for is asked again (after retention pruned rows).
  void forget_attribution() { tid_activity_.clear(); }

  uint64_t tree_walks() const { return tree_walks_; }
  // Events that could not wait for their activity's decision (memory caps): each such
  // activity is marked if it is kept later (an "inputs-lost" action), so no answer that
  // shows it pretends to be complete.
  uint64_t dropped_waiting() const { return dropped_total_; }
  uint64_t last_seq(int64_t source) const;

 private:
  // ---- per mount
  struct Handle {
    int64_t file = 0;
    uint32_t flags = 0;
    bool writing = false;          // counted in its file's write session
    std::vector<int64_t> writers;  // activities that wrote through it (their last write)
    // Activities that created or truncated through it (when), which may never write: at the
    // release, one that wrote nothing into the session ends its step where it began.
    std::vector<std::pair<int64_t, uint64_t>> openers;
    uint64_t opened = 0;  // when it was opened (0: before a restart)
    // Activities that opened it for reading or read through it (at most kHeldReaders).
    std::vector<int64_t> readers;
  };
  static constexpr size_t kHeldReaders = 8;
  struct Mount {
    std::string mountpoint;
    uint64_t dev = 0;  // st_dev of the mountpoint: how probe events name this mount
    uint64_t last_seq = 0;
    std::map<uint64_t, Handle> handles;               // fh
    std::set<uint64_t> dirty_handles;                 // changed since the last end_batch()
    std::set<uint64_t> stored_handles;                // rows in open_handles
    std::map<uint64_t, std::string> dirs;             // dir ino -> path
    std::multimap<uint64_t, std::string> seen_files;  // ino -> path (tree walk)
    std::unordered_map<int64_t, int> reading;         // file -> its handles with readers
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
  void name_if_never_named(int64_t file, const std::string& path);
  // The file's newest version, or its first, made at t (emptied: holding nothing of a
  // version stored before it later, new_version).
  int64_t current_entity(int64_t file, uint64_t t, const std::string& path = "",
                         bool emptied = false);
  int64_t entity_at(int64_t file, uint64_t t, const std::string& path = "");  // as read at t
  // emptied: made by a truncation to 0 (or O_TRUNC): not derived from the previous version.
  int64_t new_version(int64_t file, uint64_t t, const std::string& path = "", bool emptied = false);
  // rename, link, chmod, chown, truncate, unlink of a file that lives on: a new version
  // by the actor (or, inside a write session, a mark on the session's version). A file
  // with no version yet (there before the record) first gets the one it had, named
  // `before` (a rename's old name; else `path`).
  void metadata_change(int64_t file, int64_t act, uint64_t t, const char* how,
                       const std::string& path = "", bool emptied = false,
                       const std::string& before = "");
  void walk_tree(Mount& m);
  std::string dir_path(Mount& m, uint64_t ino);
  std::string path_of(Mount& m, uint64_t parent, const char* name, size_t len);
  void rename_subtree(Mount& m, const std::string& from, const std::string& to, uint64_t t);
  int64_t source_for_dev(uint64_t dev) const;
  bool under_tracked_mount(const std::string& path) const;

  // ---- handles and write sessions (ingest.cc)
  void begin_writing(Mount& m, uint64_t fh, Handle& h, int64_t act, uint64_t t, const char* how,
                     bool emptied = false, const std::string& path = std::string());
  void add_writer(Handle& h, int64_t act);
  void add_reader(Mount& m, Handle& h, int64_t act);
  // Version v of `file` begins at t: the readers of its handles open now may read it.
  void held_readers(Mount& m, int64_t file, int64_t v, uint64_t t, int64_t writer);
  // A truncation to 0 of `file` at t while handles write it (logrotate's copytruncate,
  // `: > log` beside a daemon holding it): the session's version ends there.
  void end_session_emptied(Mount& m, int64_t file, uint64_t t);
  // last_write: CLOCK_MONOTONIC of the handle's last write (0: unknown -> `t`).
  void end_handle(Mount& m, std::map<uint64_t, Handle>::iterator it, uint64_t t,
                  uint64_t last_write);

  // ---- fs records (ingest_fs_log.cc)
  void fs_create(int64_t source, Mount& m, const bentofs::prov::Record& r, int64_t act);
  void fs_rename(int64_t source, Mount& m, const bentofs::prov::Record& r, int64_t act);
  void fs_remove(int64_t source, Mount& m, const bentofs::prov::Record& r, int64_t act);
  void fs_open(int64_t source, Mount& m, const bentofs::prov::Record& r, int64_t act);
  void fs_write(int64_t source, Mount& m, const bentofs::prov::Record& r, int64_t act);

  // ---- probe events: processes and fds (ingest_probes.cc)
  bool on_fork(const void* data, size_t size);
  bool on_exec(const void* data, size_t size);
  void name_on_host(const bento_event_header* h, const bento_exec_event* e,
                    const std::string& filename, int64_t prev, ActivityRow* row);
  void name_in_namespace(const bento_exec_event* e, const std::string& filename, ActivityRow* row);
  bool on_exit(const void* data, size_t size);
  bool on_cred(const void* data, size_t size);
  bool on_kill(const void* data, size_t size);
  bool on_proc_memory(const void* data, size_t size);
  bool on_fd_pass(const void* data, size_t size);
  bool on_pipe(const void* data, size_t size);
  bool on_pipe_io(const void* data, size_t size);
  bool on_dup(const void* data, size_t size);
  bool on_close(const void* data, size_t size);
  // The entity an fd event names (dev, ino), if the graph has it already (0 otherwise).
  int64_t known_entity(uint64_t dev, uint64_t ino, uint64_t t);
  void remember_file_id(uint64_t file_id, uint64_t dev, uint64_t ino);

  // ---- probe events: files outside the mounts, mappings (ingest_files.cc)
  bool on_open(const void* data, size_t size);
  bool on_listing(const void* data, size_t size);
  bool on_file_io(const void* data, size_t size);
  bool on_mmap(const void* data, size_t size, bool end);
  bool on_file_copy(const void* data, size_t size);
  // The program an exec'd image runs (ingest_programs.cc).
  void note_program(int64_t act, const bento_exec_event* e, const ActivityRow& row);
  void note_stdin_program(int64_t act, const bento_exec_event* e);
  bool runs_stdin(int64_t act, uint64_t dev, uint64_t ino, int fd) const;
  bool is_script_open(int64_t act, const std::string& path);
  void note_program_written(uint64_t dev, uint64_t ino, const std::string& path);
  bool on_truncate(const void* data, size_t size);
  bool on_path(const void* data, size_t size);
  void unlink_outside(int64_t act, uint64_t t, const std::string& path);
  // Unlinks of outside paths the graph did not have yet, by activities not kept (`rm
  // /tmp/x` touches no mount): path -> (activity, time). A file stored later under that
  // name (its writer kept once a reader copies it into the mount) takes the first unlink
  // after its version began, so it is not shown as still there (ingest_files.cc).
  std::unordered_map<std::string, std::vector<std::pair<int64_t, uint64_t>>> late_unlinks_;
  void note_late_unlink(int64_t act, uint64_t t, const std::string& path);
  void apply_late_unlink(int64_t file, const std::string& path, uint64_t since);
  void rename_outside(int64_t file, int64_t act, uint64_t t, const std::string& from,
                      const std::string& to);
  // An outside file (dev, ino, generation), created on first sight, named `path` now.
  int64_t outside_file(uint64_t dev, uint64_t ino, uint32_t gen, const std::string& path,
                       uint64_t t);
  // The file an event names, on a mount or outside; 0 when not in the graph and `create`
  // is false.
  int64_t file_of(uint64_t dev, uint64_t ino, uint32_t gen, const std::string& path, uint64_t t,
                  bool create);
  std::string absolute(uint32_t pid, const std::string& path, const std::string& dir) const;
  // A path in fs form on dev (a task in another mount namespace, events.h) as the host
  // sees it; where the host mounts no part of that file system holding it, the fs path
  // behind a "<fs MAJ:MIN>" prefix (it names the file, but is no path on the host).
  std::string host_path(uint64_t dev, const std::string& fs_path);
  // What an outside file opened by pid's fd with no path (a memfd) is called.
  std::string pathless_name(uint32_t pid, int fd, uint64_t dev, uint64_t ino);
  // The path an inherited fd names, from pid or, when pid has let it go (it exited before
  // provd read its event), from the same fd of the processes that forked it: a command's
  // stdout that a script's shell redirected to a log before tracking began.
  std::string inherited_fd_path(uint32_t pid, int fd, uint64_t dev, uint64_t ino);
  std::unordered_map<uint32_t, uint32_t> parent_pid_;  // pid -> its parent's (forks seen)
  // A path a task passed (truncate, rename, link, unlink) placed from its directory, as
  // the host names it; "" when it cannot be: in another mount namespace an absolute path
  // may cross the namespace's own mounts (its /tmp a private directory), so it is left
  // unknown rather than taken for the host's file of that name.
  std::string passed_path(const bento_event_header* h, const char* path, size_t cap,
                          const bento_dir_ref& dir);

  // ---- probe events: sockets (ingest_sockets.cc)
  bool on_sock(const void* data, size_t size);
  bool on_socketpair(const void* data, size_t size);

  // ---- scope (ingest_scope.cc): which activities the database keeps
  //
  // Kept in full: an activity that touched a tracked mount, and every activity it got
  // data from through a pipe or socket (its causes), recursively. Of the images that
  // started one (up the fork chain), only the program is stored (ingest_programs.cc), and
  // of the one that forked it, what it read before the fork (what the command line may
  // hold: `find | xargs tar`), with those reads' causes in full.
  // Kept forward: an activity that got data from a kept one (where the data went): its
  // outputs are stored (pipes and sockets it wrote, files it opened for writing), not its
  // inputs. Until then what an activity did waits here; it is dropped once the fs logs
  // have been read past it by a margin after its activity ended (a running process can
  // still touch a mount and become relevant at any time: a notebook that read a download
  // an hour ago), so a lagging collector loses nothing. Memory is bounded (make_room()).
  struct PendingItem {
    enum Kind : uint8_t {
      kOpen,
      kAction,
      kChannel,
      kFileRead,
      kFileWrite,
      kMapping,
      kTruncate,  // outside the mounts; flags O_TRUNC: to length 0
      kRename,    // outside the mounts: path the new name, detail the old one
      kUnlink,    // outside the mounts: path the name removed
      kListing    // outside the mounts: path the directory listed
    } kind;
    bool output = false;  // an open for writing, a write to a channel
    uint32_t flags = 0, gen = 0;
    uint64_t t = 0, dev = 0, ino = 0;
    const char* what = "";
    std::string path;    // opens: the path; channels: the channel's key
    std::string detail;  // actions
    bool known = false;  // actions: dev/ino name a file
    // mappings: the process and the address that name it until its end
    uint32_t pid = 0;
    uint64_t proc_start = 0, addr = 0;
    bool ends_reported = false;
    bool deferred = false;  // already waited for the mount's log
    bool made = false;      // kOpen: the open created the file (the probes' `created`)
    bool by_fd = false;     // kTruncate: ftruncate (the caller may write on through the fd)
    // actions: the call closed the last open description the activity wrote this file
    // through (outside the mounts): its writes of the file end here (end_outside_write).
    bool ends_write = false;
    uint64_t end_dev = 0, end_ino = 0;
    // kFileRead, kOpen: the program file its image runs (note_program), or the script its
    // interpreter was given (script_rule.h), or the pipe it runs from its stdin: stored for
    // an ancestor of a kept activity too.
    bool program = false;
    bool on_stdin = false;    // kFileRead: through fd 0, the file it had there at the exec
    bool instant = false;     // a device's read (each report an instant) or pty master's write
    bool open_ended = false;  // kChannel: a pipe's last report (BENTO_PIPE_IO_OPEN)
    int64_t owner = 0;        // kOpen of /proc/PID/environ or mem: PID's activity then,
    uint64_t owner_from = 0;  // since when
    // A read by the image that forked a kept program, from before the fork: it may be in
    // that program's command line (apply_passed_reads); its writers are kept in full.
    bool passed = false;
    // What a process takes data in by: a read of a file, a channel or a listing, not of a
    // program (apply_program_items stores those) nor of a device (those are instants).
    bool data_read() const {
      switch (kind) {
        case kFileRead:
          return !program && !instant;
        case kOpen:
          return !output;
        case kChannel:
          return !output && !program;
        case kListing:
          return true;
        default:
          return false;
      }
    }
  };
  struct Pending {
    std::vector<PendingItem> items;
    uint64_t newest = 0;
    uint64_t ended = 0;  // when its activity ended (exit, exec); 0: still running
    bool held = false;   // may hold program items or device reads (apply_program_items)
    bool reads = false;  // may hold data reads (apply_passed_reads)
  };
  // Its activity ended at t: what it waits for may expire from then (expire_pending()).
  void pending_ended(int64_t act, uint64_t t);
  // A pipe or socket flow: who wrote and read it before either end was kept.
  struct Channel {
    enum Kind : uint8_t { kPipe, kSocket, kEndpoint } kind = kPipe;
    uint64_t ino = 0;  // pipes: the pipefs inode; sockets: the sending socket's inode
    uint64_t dev = 0;  // a FIFO's file system (0: an anonymous pipe, on pipefs)
    uint32_t gen = 0;  // a FIFO's inode generation (events.h v12)
    std::string addr;  // sockets and endpoints: what the entity is called; a FIFO's path
    std::vector<std::pair<int64_t, uint64_t>> writers, readers;  // (activity, time) waiting
    std::set<int64_t> program_readers;  // readers that run what they read (channel_io)
    std::set<std::pair<int64_t, uint64_t>> open_readers;  // (reader, t): open-ended reads
    // Writers stored already while not kept in full (kept forward): a fully kept reader
    // later makes them its causes too (at most 64).
    std::vector<std::pair<int64_t, uint64_t>> forward_writers;
    uint64_t newest = 0;
    int64_t file = 0;    // its files row, once stored
    bool fresh = false;  // pipes: made while the probes watched (a PIPE event)
    uint64_t born = 0;
    // TCP: when the sending end sent its FIN (SOCK_END): its sends end there (0: open).
    uint64_t ended = 0;
    // A stream socket's or an AF_UNIX datagram socket's flow (events.h v11,
    // BENTO_SOCK_INSTANT): its sends and receives are instants, as a pipe's are. A UDP
    // flow's sends only (its receives are reported once: they last).
    bool instants = false, instant_sends = false;
  };
  enum Keep : uint8_t { kNotKept = 0, kForward = 1, kFull = 2 };
  Keep kept(int64_t act) const;
  void make_relevant(int64_t act);  // kept in full (a tracked mount, or a cause of one)
  void make_forward(int64_t act);   // kept forward (data from a kept one reached it)
  void keep(int64_t act, Keep level);
  void wait(int64_t act, PendingItem item);
  void apply(int64_t act, const PendingItem& item);
  // A transfer on a channel: stored now if its activity is kept (for a read: in full),
  // else waiting; storing it may keep the activities at the other end.
  // program: a read of the program an interpreter runs from its stdin (`curl URL | sh`):
  // stored for an ancestor of a kept activity too, with its writers.
  // open_ended: a pipe's or stream socket's last report by this image (BENTO_PIPE_IO_OPEN,
  // BENTO_SOCK_LAST).
  void channel_io(const std::string& key, int64_t act, uint64_t t, bool write, bool program = false,
                  bool open_ended = false);
  // keep_writers: a read that makes its writers causes though `act` is not kept in full (a
  // program's, a passed-on one's).
  void channel_store(const std::string& key, int64_t act, uint64_t t, bool write,
                     bool program = false, bool open_ended = false, bool keep_writers = false);
  int64_t channel_entity(const std::string& key, uint64_t t);
  void retire_channel(const std::string& key);
  Channel& channel(const std::string& key, Channel::Kind kind, uint64_t ino,
                   const std::string& addr);
  // A terminal's output is stored as a FIFO with this bit in its generation (a device
  // number, st_rdev's encoding, < 2^31): apart from the device's input row.
  static constexpr uint32_t kTerminalOutput = 1u << 31;
  // A FIFO is (dev, ino, generation): its inode number is the next file's once it is gone.
  static std::string fifo_key(uint64_t dev, uint64_t ino, uint32_t gen) {
    return "fifo " + std::to_string(dev) + ":" + std::to_string(ino) + ":" + std::to_string(gen);
  }
  void name_fifo(uint64_t dev, uint64_t ino, uint32_t gen, const std::string& path);
  void outside_open(int64_t act, const PendingItem& o);
  // A new version `next` of an outside file, made at t by `act` over `prev`: the writers
  // still holding the file for writing write on into it.
  void carry_outside_writers(int64_t prev, int64_t next, int64_t act, uint64_t t);
  void fd_action(int64_t act, const PendingItem& a);
  void end_outside_write(int64_t act, const PendingItem& a);
  void fd_action_or_wait(int64_t act, PendingItem a);
  void expire_pending();
  // Probe events about a tracked mount's files wait until that mount's log has been read
  // past them (the file may be created by a record still to come), then apply.
  void defer(int64_t act, PendingItem item);
  void apply_deferred();
  void store_mapping(int64_t act, const PendingItem& m);
  void store_listing(int64_t act, const PendingItem& item);  // a kListing
  void share_mapping(int64_t act, int64_t file, int64_t ent, const PendingItem& m,
                     const std::string& path);
  void store_mount_write(int64_t act, const PendingItem& w);
  // A probe's write to a mount waits until the log has been read this far past it: the fs
  // record of the same write (stamped inside the call, later) must be stored first.
  static constexpr uint64_t kMountWriteMargin = 1'000'000'000;
  // (file, activity) pairs the fs log named as writers: the probes' writes that add none.
  std::set<std::pair<int64_t, int64_t>> fs_writers_;
  // (file, activity): writes the fs log recorded (creates and truncations not counted).
  std::set<std::pair<int64_t, int64_t>> fs_data_writers_;
  bool process_wrote(int64_t file, int64_t act);
  static constexpr size_t kFsWritersCap = 200000;

  // ---- probe events: writes that failed (ingest_failed_writes.cc)
  //
  // The probes report a first write at the call's entry and, if the call then wrote
  // nothing, a FILE_IO "failed" at its return: the write is dropped where it waits, or its
  // stored row is put back as it was before it.
  void write_failed(const void* file_io_event);
  // An outside write about to be stored: what its row was, for write_failed.
  void remember_outside_write(int64_t act, const PendingItem& w, int64_t entity);
  struct AppliedWrite {
    uint64_t t = 0;
    int64_t entity = 0;
    bool had_row = false;
    GeneratedRow before;
  };
  using WriteKey = std::tuple<int64_t, uint64_t, uint64_t, uint32_t>;  // act, dev, ino, identity
  std::map<WriteKey, AppliedWrite> applied_writes_;

  GraphStore& store_;
  HostFacts& host_;
  std::map<int64_t, Mount> mounts_;                // source id
  std::unordered_map<int64_t, Session> sessions_;  // file id

  // Which activity a thread id stood for over [from, until): saves queries per record.
  struct TidActivity {
    int64_t activity, from, until;
  };
  std::unordered_map<uint32_t, TidActivity> tid_activity_;
  // Activities that made a thread: their reads and writes on the mounts are kept per thread
  // (thread_io). An exec ends the others, and begins an activity not in it.
  std::unordered_set<int64_t> threaded_;
  std::unordered_map<uint64_t, int64_t> fd_senders_;  // file_id in flight -> sending activity
  // What an fd's file_id names (OPEN/PIPE/DUP/FD_RECV events): how a CLOSE finds its file.
  std::unordered_map<uint64_t, std::pair<uint64_t, uint64_t>> file_ids_;  // -> dev, ino
  // The identity an outside file had at its last open (dev, ino): FILE_IO events carry the
  // inode generation only, which is 0 where the identity comes from the birth time.
  std::map<std::pair<uint64_t, uint64_t>, uint32_t> open_identity_;
  // And the path it was opened by: a reader through an fd another process image opened
  // (tar's child hands gzip the archive as stdin) names the file with it.
  std::map<std::pair<uint64_t, uint64_t>, std::string> open_path_;
  std::set<std::pair<uint64_t, uint64_t>> loader_files_;  // (dev, ino) of loader_file()s
  // Loader-prefix files opened for writing while watched: data, not loader files.
  std::set<std::pair<uint64_t, uint64_t>> written_loader_paths_;
  bool loader_path_written(uint64_t dev, uint64_t ino, bool opened_for_writing);
  uint32_t outside_identity(uint64_t dev, uint64_t ino, uint32_t generation) const;
  bool remember_path(uint64_t dev, uint64_t ino, const std::string& path,
                     bool opened_for_writing = false);
  void name_device(const void* file_io_event);  // a character device read: its /dev path
  // The version of a device a read at t saw: the first one is there since boot.
  int64_t device_version(int64_t file, uint64_t t);
  int64_t terminal_session(int64_t file, int64_t act, uint64_t t);
  std::unordered_map<int64_t, int64_t> session_writer_;  // a terminal's version -> process
  // A terminal's output, per session: a pts number comes back for a later session once its
  // master's holders (script, sshd-session) have all exited. (dev, ino, device) -> session.
  struct TerminalOutput {
    uint32_t session = 0;
    std::set<int64_t> holders;  // processes that read its master
    bool closed = false;        // they all exited: the next event is a new session's
  };
  std::map<std::tuple<uint64_t, uint64_t, uint32_t>, TerminalOutput> terminal_outputs_;
  std::string terminal_output_key(const bento_pipe_io_event* e);
  std::string message_queue_name(const bento_pipe_io_event* e);
  Channel& fifo_channel(const std::string& key, const bento_pipe_io_event* e, uint32_t gen,
                        uint64_t t);
  void terminal_holder_exited(int64_t process);
  std::unordered_map<int64_t, Pending> pending_;
  std::unordered_map<int64_t, Keep> kept_;  // activities kept (a cache: re-learnt)
  std::deque<std::pair<int64_t, Keep>>* keep_work_ = nullptr;  // keep()'s worklist, while running
  std::unordered_map<std::string, Channel> channels_;
  uint64_t retired_channels_ = 0;
  bool keep_all_ = false;
  // Files outside the mounts written by activities not kept (yet): a kept activity that
  // reads one keeps its earlier writers, so a download to /tmp later copied into the
  // mount still names the download. Writers wait longer than other activities (kWriterMargin).
  using FileKey = std::tuple<uint64_t, uint64_t, uint32_t>;  // dev, ino, identity
  std::map<FileKey, std::vector<std::pair<int64_t, uint64_t>>> outside_writers_;  // (act, t)
  std::unordered_map<int64_t, uint64_t> writer_newest_;  // act -> its last such write
  void note_outside_writer(int64_t act, const PendingItem& open);
  void keep_outside_writers(int64_t reader, const PendingItem& read);
  void proc_memory_read(int64_t act, const PendingItem& o);
  void keep_opening_images(int64_t writer, const PendingItem& write);
  // The programs of what started a kept activity (ingest_programs.cc).
  void keep_ancestor_programs(int64_t act);
  static PendingItem program_item(uint64_t t, uint64_t dev, uint64_t ino, uint32_t gen);
  void program_file(int64_t act, PendingItem r, const std::string& path, bool pathless);
  void apply_program_items(int64_t act);
  void apply_passed_reads(int64_t parent, uint64_t forked_at);
  std::unordered_map<int64_t, int64_t> forked_from_;  // process -> the image that forked it
  std::unordered_map<int64_t, std::string>
      script_arg_;  // image -> its script argument, until opened
  // Images that run their stdin: the pipe, FIFO or socket on fd 0 at the exec (its dev and
  // inode; a socket's sockfs inode), whose reads on fd 0 are marked (runs_stdin).
  std::unordered_map<int64_t, std::pair<uint64_t, uint64_t>> stdin_program_;
  // Images given a regular file on fd 0 at the exec (`sort < f`): its dev and inode.
  std::unordered_map<int64_t, std::pair<uint64_t, uint64_t>> stdin_file_;
  std::unordered_set<int64_t> programs_walked_;               // keep_ancestor_programs() done
  std::unordered_map<int64_t, int64_t> exec_prev_;            // image -> its process's image before
  std::set<std::pair<uint64_t, uint64_t>> written_programs_;  // installed programs written
  void apply_pending_writes(int64_t act, const PendingItem& of);
  // AF_UNIX datagram senders by process (pid << 64 | start): how a datagram whose sending
  // socket is gone finds its channel.
  std::map<std::pair<uint32_t, uint64_t>, std::string> dgram_senders_;
  std::map<std::string, std::string> unix_names_;  // socket key -> bound/connected path
  // UDP flows by destination port ("NETNS PORT"): how a receive that asked for no source
  // address (recv, read) finds the local senders to it.
  struct UdpFlow {
    std::string to, key;     // its destination address; its channel
    uint64_t last_send = 0;  // its latest reported send
  };
  std::unordered_map<std::string, std::vector<UdpFlow>> udp_flows_to_;
  // Such receives' sockets (inode) -> the time of their latest one.
  std::unordered_map<uint64_t, uint64_t> udp_unnamed_recv_;
  std::vector<std::string> udp_senders_to(const struct bento_sock_event& e);
  // Writable shared mappings: (pid, start, addr) -> (entity, activity).
  std::map<std::tuple<uint32_t, uint64_t, uint64_t>, std::pair<int64_t, int64_t>> mappings_;
  // Per file mapped shared: the version its mappings write (memory has one content) and
  // the activities holding one (share_mapping: each reads what the others write).
  struct MappedFile {
    int64_t entity = 0;
    std::vector<std::pair<int64_t, uint64_t>> holders;  // (activity, its mapping's time)
  };
  std::unordered_map<int64_t, MappedFile> mapped_;
  // The shmem file of a MAP_SHARED | MAP_ANONYMOUS mapping or a System V segment (dev,
  // ino) -> its name: it has no path, and is named after the process that made it.
  std::map<std::pair<uint64_t, uint64_t>, std::string> anon_shared_;
  size_t pending_total_ = 0;
  // Activities whose waiting events were dropped (how many, the newest one's time), until
  // they are kept (then marked) or forgotten; see make_room().
  struct Dropped {
    uint64_t items = 0, newest = 0, ended = 0;
  };
  std::unordered_map<int64_t, Dropped> dropped_;
  uint64_t dropped_total_ = 0;
  void make_room();
  void note_dropped(int64_t act, uint64_t items, uint64_t newest);
  uint64_t newest_ns_ = 0;   // the latest probe event time seen
  uint64_t expired_at_ = 0;  // the horizon of the last expire_pending() scan
  bool stopping_ = false;
  static constexpr uint64_t kExpireEvery = 1'000'000'000;
  // The fs logs have been read up to here (CLOCK_MONOTONIC): what waits from before it
  // (by a margin) can no longer be kept by a record still to come.
  std::map<int64_t, uint64_t> log_read_to_;
  std::map<int64_t, uint64_t> record_time_;  // newest record read, per mount
  std::deque<std::pair<int64_t, PendingItem>> deferred_;
  std::deque<std::pair<int64_t, PendingItem>> deferred_writes_;  // kFileWrite, by time
  bool exact_reads_ = false;  // the probes report first reads (FILE_IO)
  uint64_t tree_walks_ = 0;
  // The threads that walked a mount (this collector's own): their listings are not a
  // process's input (kReaddir records of the walk are skipped).
  std::set<uint32_t> walker_tids_;
  bool exec_std_pipes_ = true;

  // ---- copies (ingest_copies.cc): per running activity, each file it wrote and the files
  // its writes copied, or that one of them was not a copy (a write of other bytes, a
  // shared writable mapping). Stored when the activity ends, for the files it only copied.
  struct Copied {
    std::set<FileIdentity> from;
    bool other = false;
  };
  struct ActivityCopies {
    bool counts = false;  // it began while every write was reported (copies_since_)
    std::map<FileIdentity, Copied> files;
  };
  FileIdentity identity_of(uint64_t dev, uint64_t ino) const;
  ActivityCopies& copies_of(int64_t act);
  void not_only_copies(int64_t act, uint64_t dev, uint64_t ino);
  void store_copies(int64_t act);
  std::unordered_map<int64_t, ActivityCopies> copies_;
  uint64_t copies_since_ = UINT64_MAX;  // FILE_COPY covers every write from then on

 public:
  // The probes report FILE_COPY for every write from `t` on (CLOCK_MONOTONIC); an activity
  // that began before may have written unseen. Not called: no copies are told apart.
  void copies_reported_since(uint64_t t) { copies_since_ = t; }
  // The probes lost events at about `t`: what running activities copied is no longer known.
  void probe_events_lost(uint64_t t);
};

}  // namespace bento::collector
