// The lineage graph in SQLite (schema/SCHEMA.md): GraphStore over named, prepared
// statements, plus the batch (one transaction) the collector commits with each source's
// read position. Any failed statement throws lineage::DbError; the caller (collector.cc)
// then fails the whole batch: a failed INSERT is never committed silently.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bento/lineage/database.h"
#include "graph_store.h"

namespace bento::collector {

class SqliteStore : public GraphStore {
 public:
  explicit SqliteStore(lineage::Database& db);

  // ---- the batch
  void begin();
  // COMMIT; on failure ROLLBACK, forget every cached row id (they may name rows that were
  // never stored) and return false with *error.
  bool commit(std::string* error);
  void rollback();

  // ---- sources (tracked mounts and the probes) and status
  // The source row (created if new) and where its reader stopped.
  int64_t fs_source(const std::string& mountpoint, uint64_t* cursor, uint64_t* last_seq);
  int64_t probes_source();
  void set_position(int64_t source, uint64_t cursor, uint64_t last_seq, uint64_t records);
  void count_malformed(int64_t source);
  void set_lost(int64_t source, uint64_t lost);
  void set_meta(const std::string& key, const std::string& value);
  // After rows were deleted behind the store's back (retention).
  void forget_row_caches() { forget_caches(); }
  // Store the audit rows event() has buffered (commit() does it too; retention first, so
  // what it deletes by age includes them).
  void flush_events();

  // ---- GraphStore
  int64_t find_process(uint32_t pid, uint64_t start_ns) override;
  int64_t find_process_between(uint32_t pid, uint64_t from_ns, uint64_t until_ns) override;
  int64_t add_process(uint32_t pid, uint64_t start_ns, uint32_t uid, uint32_t gid) override;
  void set_process_parent(int64_t child, int64_t parent) override;
  int64_t process_parent(int64_t process) override;
  void set_process_exit(int64_t process, uint64_t t, int32_t code) override;
  void add_task(uint32_t tid, int64_t process, uint64_t start_ns) override;
  void end_task(uint32_t tid, uint64_t t) override;
  TaskAt task_at(uint32_t tid, uint64_t t) override;
  int64_t add_activity(const ActivityRow& a) override;
  ActivityAt activity_at(int64_t process, uint64_t t) override;
  bool activity(int64_t id, ActivityRow* out) override;
  void end_activity(int64_t id, uint64_t t) override;
  void end_process_activities(int64_t process, uint64_t t) override;

  int64_t find_file(int64_t source, uint64_t ino, uint32_t gen) override;
  int64_t find_file_any_gen(int64_t source, uint64_t ino) override;
  int64_t add_file(int64_t source, uint64_t ino, uint32_t gen, const char* kind,
                   uint64_t created_ns) override;
  int64_t find_outside_file(uint64_t dev, uint64_t ino, uint32_t gen) override;
  int64_t add_outside_file(uint64_t dev, uint64_t ino, uint32_t gen, const char* kind,
                           uint64_t created_ns) override;
  int64_t find_outside_any_gen(uint64_t dev, uint64_t ino) override;
  int64_t find_file_named(const std::string& path) override;
  int64_t find_file_named_at(const std::string& path, uint64_t t) override;
  int64_t find_pipe(uint64_t ino) override;
  int64_t add_pipe(uint64_t ino, uint64_t created_ns) override;
  int64_t find_addr(const std::string& addr, uint64_t sock_ino) override;
  int64_t add_addr(const std::string& addr, const char* kind, uint64_t sock_ino,
                   uint64_t created_ns) override;
  void set_file_died(int64_t file, uint64_t t) override;
  VersionRef latest_version(int64_t file) override;
  VersionRef version_at(int64_t file, uint64_t t) override;
  VersionRef add_version(int64_t file, const std::string& path, uint64_t t,
                         bool emptied = false) override;
  void add_name(int64_t file, const std::string& path, uint64_t t) override;
  void name_unnamed_versions(int64_t file, const std::string& path) override;
  void end_name(int64_t file, const std::string& path, uint64_t t) override;
  void move_names_below(const std::string& from, const std::string& to, uint64_t t) override;
  std::string latest_name(int64_t file) override;
  bool ever_named(int64_t file) override;
  bool has_open_name(int64_t file, const std::string& path) override;
  void retitle_open_name(int64_t file, const std::string& was, const std::string& path) override;
  void move_reads(int64_t to, int64_t from, uint64_t since) override;

  void used(int64_t activity, int64_t entity, uint64_t t, const char* how) override;
  void instant_transfer(int64_t activity, int64_t entity, uint64_t t, bool write, bool open_ended,
                        const char* how) override;
  void used_exact(int64_t activity, int64_t entity, uint64_t t) override;
  void used_last_of_file(int64_t activity, int64_t file, uint64_t last) override;
  void used_on_stdin(int64_t activity, int64_t entity) override;
  void generated(int64_t entity, int64_t activity, uint64_t t, const char* how) override;
  void generated_last(int64_t entity, int64_t activity, uint64_t last) override;
  void end_sends(int64_t entity, uint64_t last) override;
  void end_outside_writes(int64_t file, int64_t activity, uint64_t last) override;
  void reopen_outside_write(int64_t entity, int64_t activity) override;
  std::vector<int64_t> open_writers(int64_t entity, uint64_t t) override;
  bool find_generated(int64_t entity, int64_t activity, GeneratedRow* out) override;
  void restore_generated(int64_t entity, int64_t activity, const GeneratedRow* before) override;
  void informed(int64_t informed, int64_t informant, uint64_t t, const char* how) override;
  void invalidated(int64_t entity, int64_t activity, uint64_t t, const char* how) override;
  void action(int64_t activity, uint64_t t, const char* what, int64_t entity,
              int64_t other_activity, const std::string& detail_json) override;
  void gap(int64_t source, uint64_t from_ns, uint64_t to_ns, uint64_t records,
           const std::string& detail_json) override;
  void copy(int64_t activity, const FileIdentity& written, const FileIdentity& from) override;
  void thread_io(int64_t activity, int64_t entity, uint32_t tid, bool write, uint64_t t) override;
  void event(const EventRow& e) override;

  void store_handle(int64_t source, const StoredHandle& h) override;
  void drop_handle(int64_t source, uint64_t fh) override;
  std::vector<StoredHandle> load_handles(int64_t source) override;

 private:
  enum Q : int;  // the named statements (sqlite_store.cc)
  lineage::Stmt& st(Q q);
  int64_t last_id() const;
  void forget_caches();
  VersionRef insert_version(int64_t file, const std::string& path, uint64_t t, bool emptied);
  void note_first_emptied(int64_t entity);
  void bind_event(lineage::Stmt& s, int first, const EventRow& e);

  // The batch's `events` rows, inserted kEventChunk at a time by one multi-row statement:
  // one row per fs record, and one statement each cost provd as much as all the rest of a
  // created file's audit (bench/README.md, Issue 18, fourth pass). Nothing reads them back
  // within the batch.
  std::vector<EventRow> pending_events_;
  std::unique_ptr<lineage::Stmt> event_chunk_;

  lineage::Database& db_;
  std::unique_ptr<std::unique_ptr<lineage::Stmt>[]> stmts_;
  bool in_batch_ = false;

  // Row ids and facts already stored, so the hot path does not ask SQLite again. Caches
  // only: capped, cleared on rollback, re-learnt from the database on a miss.
  struct PairHash {
    size_t operator()(const std::pair<int64_t, int64_t>& p) const {
      return std::hash<int64_t>()(p.first * 1000003 ^ p.second);
    }
  };
  std::map<std::pair<uint32_t, uint64_t>, int64_t> process_ids_;         // (pid, start_ns)
  std::map<std::tuple<int64_t, uint64_t, uint32_t>, int64_t> file_ids_;  // source, ino, gen
  std::unordered_map<int64_t, VersionRef> latest_;                       // file
  // The newest files row of (source, ino), any generation: a probe's close of a tracked
  // file asks for it (known_entity), once per created file on a createdel mix.
  std::map<std::pair<int64_t, uint64_t>, int64_t> newest_file_;
  // First versions of their files that began empty (O_TRUNC, a create): a version placed
  // before one of them later is replaced by it, not its content (insert_version).
  std::unordered_set<int64_t> first_emptied_;
  // Files known to have a names row (names are never deleted but with their file): an
  // unlink of a file named in this run asks the database nothing (ever_named).
  std::unordered_set<int64_t> named_;
  std::unordered_map<std::pair<int64_t, int64_t>, uint64_t, PairHash> used_;  // -> first t
  // (activity, entity) -> the times of its stored reads / writes (instant_transfer).
  std::unordered_map<std::pair<int64_t, int64_t>, std::set<uint64_t>, PairHash> pipe_reads_,
      pipe_writes_;
  size_t pipe_times_ = 0;  // times in both
  struct GeneratedAt {
    uint64_t t;           // its first time
    bool before_a_write;  // stored as an open for writing or a truncation, no write since
  };
  std::unordered_map<std::pair<int64_t, int64_t>, GeneratedAt, PairHash> generated_;
  std::unordered_set<std::pair<int64_t, int64_t>, PairHash> used_exact_;
};

}  // namespace bento::collector
