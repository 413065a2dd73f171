#include "sqlite_store.h"

#include <algorithm>
#include <cstring>

#include "wall_clock.h"

namespace bento::collector {

using lineage::Stmt;

// The statements, by name. Each is prepared once, on first use.
enum SqliteStore::Q : int {
  kBegin,
  kCommit,
  kRollback,
  kSourceInsert,
  kSourceFind,
  kProbesInsert,
  kProbesFind,
  kSetPosition,
  kCountMalformed,
  kSetLost,
  kSetMeta,
  kProcessFind,
  kProcessFindNear,
  kProcessInsert,
  kProcessParent,
  kProcessParentOf,
  kProcessExit,
  kTaskInsert,
  kTaskEnd,
  kTaskAt,
  kActivityInsert,
  kActivityAt,
  kActivityGet,
  kActivityEnd,
  kActivitiesEndAll,
  kFileFind,
  kFileFindAnyGen,
  kFileInsert,
  kOutsideFind,
  kOutsideInsert,
  kOutsideFindAnyGen,
  kFileNamed,
  kFileNamedAt,
  kPipeFind,
  kPipeInsert,
  kAddrFind,
  kAddrInsert,
  kFileDied,
  kLatestVersion,
  kVersionAt,
  kVersionInsert,
  kDerivedVersion,
  kVersionCreated,
  kVersionsAfter,
  kVersionsShiftOut,
  kVersionsShiftIn,
  kVersionNumbered,
  kDerivedRelink,
  kUsedMoveFromBefore,
  kUsedMoveFromAfter,
  kReadTransfersMove,
  kNameInsert,
  kNameUnnamed,
  kNameEnd,
  kNamesMoveInsert,
  kNamesMoveEnd,
  kLatestName,
  kNameOpen,
  kNameRetitle,
  kNameRetitleVersions,
  kUsed,
  kUsedExact,
  kUsedOpenSuperseded,
  kUsedLast,
  kUsedOnStdin,
  kGenerated,
  kGeneratedLast,
  kPipeUsed,
  kPipeGenerated,
  kPipeTransfer,
  kPipeUsedOpen,
  kPipeGeneratedOpen,
  kEndSends,
  kEndOutsideWrites,
  kReopenOutsideWrite,
  kOpenWriters,
  kGeneratedGet,
  kGeneratedDrop,
  kGeneratedRestore,
  kInformed,
  kInvalidated,
  kAction,
  kGap,
  kCopy,
  kThreadIo,
  kEvent,
  kHandleStore,
  kHandleDrop,
  kHandlesLoad,
  kNumStatements
};

namespace {

// Indexed by SqliteStore::Q.
const char* const kSql[] = {
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "INSERT OR IGNORE INTO sources(kind, name) VALUES('fs', ?)",
    "SELECT id, cursor, last_seq FROM sources WHERE name = ?",
    "INSERT OR IGNORE INTO sources(kind, name) VALUES('probes', 'probes')",
    "SELECT id FROM sources WHERE name = 'probes'",
    "UPDATE sources SET cursor = ?, last_seq = ?, records = records + ? WHERE id = ?",
    "UPDATE sources SET malformed = malformed + 1 WHERE id = ?",
    "UPDATE sources SET lost = ? WHERE id = ?",
    "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)",
    // processes, tasks, activities
    "SELECT id FROM processes WHERE pid = ? AND start_ns = ?",
    "SELECT id FROM processes WHERE pid = ? AND start_ns >= ? AND start_ns < ? ORDER BY start_ns "
    "LIMIT 1",
    "INSERT INTO processes(pid, start_ns, uid, gid) VALUES(?, ?, ?, ?)",
    "UPDATE processes SET parent_id = ? WHERE id = ?",
    "SELECT parent_id FROM processes WHERE id = ?",
    "UPDATE processes SET exit_ns = ?, exit_code = ? WHERE id = ?",
    "INSERT INTO tasks(tid, process_id, start_ns) VALUES(?, ?, ?)",
    "UPDATE tasks SET end_ns = ? WHERE tid = ? AND end_ns IS NULL",
    "SELECT process_id, start_ns, end_ns FROM tasks WHERE tid = ? AND start_ns <= ? AND "
    "(end_ns IS NULL OR end_ns >= ?) ORDER BY start_ns DESC LIMIT 1",
    "INSERT INTO activities(process_id, exe, argv, exe_ino, exe_dev, uid, gid, euid, start_ns, "
    "start_wall_ns, origin, program, root, login_uid, session_id) "
    "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    // The activity running at t (else the first one after t: a record may be stamped a
    // little before the probe's exec event), and when the next one began.
    "SELECT a.id, a.start_ns, (SELECT MIN(n.start_ns) FROM activities n WHERE n.process_id = "
    "a.process_id AND n.start_ns > a.start_ns) FROM activities a WHERE a.process_id = ? ORDER "
    "BY (a.start_ns <= ?) DESC, CASE WHEN a.start_ns <= ? THEN -a.start_ns ELSE a.start_ns END "
    "LIMIT 1",
    "SELECT process_id, exe, argv, exe_ino, exe_dev, uid, gid, euid, start_ns, origin, "
    "IFNULL(program, ''), IFNULL(root, ''), IFNULL(login_uid, -1), IFNULL(session_id, -1) "
    "FROM activities WHERE id = ?",
    "UPDATE activities SET end_ns = ? WHERE id = ? AND end_ns IS NULL",
    "UPDATE activities SET end_ns = ? WHERE process_id = ? AND end_ns IS NULL",
    // files
    "SELECT id FROM files WHERE source_id = ? AND ino = ? AND gen = ? ORDER BY id DESC LIMIT 1",
    "SELECT id FROM files WHERE source_id = ? AND ino = ? ORDER BY id DESC LIMIT 1",
    "INSERT INTO files(source_id, ino, gen, kind, created_ns) VALUES(?, ?, ?, ?, ?)",
    "SELECT id FROM files WHERE source_id IS NULL AND dev = ? AND ino = ? AND gen = ? AND kind "
    "NOT IN ('pipe', 'socket', 'endpoint') ORDER BY id DESC LIMIT 1",
    "INSERT INTO files(dev, ino, gen, kind, created_ns) VALUES(?, ?, ?, ?, ?)",
    "SELECT id FROM files WHERE source_id IS NULL AND dev = ? AND ino = ? AND kind NOT IN "
    "('pipe', 'socket', 'endpoint') ORDER BY id DESC LIMIT 1",
    "SELECT file_id FROM names WHERE path = ? AND to_ns IS NULL ORDER BY from_ns DESC, id DESC "
    "LIMIT 1",
    "SELECT file_id FROM names WHERE path = ? AND to_ns IS NULL AND from_ns <= ? ORDER BY "
    "from_ns DESC, id DESC LIMIT 1",
    "SELECT id FROM files WHERE source_id IS NULL AND kind = 'pipe' AND ino = ? AND dev IS NULL "
    "ORDER BY id DESC LIMIT 1",
    "INSERT INTO files(ino, kind, created_ns) VALUES(?, 'pipe', ?)",
    "SELECT id, ino FROM files WHERE addr = ? ORDER BY id DESC LIMIT 1",
    "INSERT INTO files(ino, kind, addr, created_ns) VALUES(?, ?, ?, ?)",
    "UPDATE files SET died_ns = ? WHERE id = ?",
    "SELECT id, version FROM entities WHERE file_id = ? ORDER BY version DESC LIMIT 1",
    "SELECT id, version FROM entities WHERE file_id = ? AND created_ns <= ? ORDER BY version "
    "DESC LIMIT 1",
    "INSERT INTO entities(file_id, version, path, created_ns) VALUES(?, ?, ?, ?)",
    "INSERT OR IGNORE INTO derived(generated_id, used_id, time_ns, how) VALUES(?, ?, ?, ?)",
    // a version made late, placed in time order (add_version)
    "SELECT created_ns FROM entities WHERE id = ?",
    "SELECT IFNULL(MAX(version), 0) + 1 FROM entities WHERE file_id = ? AND created_ns <= ?",
    "UPDATE entities SET version = -version WHERE file_id = ? AND version >= ?",
    "UPDATE entities SET version = 1 - version WHERE file_id = ? AND version < 0",
    "SELECT id, created_ns FROM entities WHERE file_id = ? AND version = ?",
    "UPDATE derived SET used_id = ? WHERE generated_id = ? AND used_id = ?",
    "UPDATE used SET entity_id = ? WHERE entity_id = ? AND time_ns >= ?",
    "UPDATE used SET entity_id = ? WHERE entity_id = ? AND time_ns >= ? AND time_ns < ?",
    "UPDATE pipe_transfers SET entity_id = ? WHERE entity_id = ? AND time_ns >= ? AND "
    "is_write = 0",
    "INSERT INTO names(file_id, path, from_ns) VALUES(?, ?, ?)",
    "UPDATE entities SET path = ? WHERE file_id = ? AND (path IS NULL OR path = '')",
    "UPDATE names SET to_ns = ? WHERE file_id = ? AND path = ? AND to_ns IS NULL",
    "INSERT INTO names(file_id, path, from_ns) SELECT file_id, ? || substr(path, ?), ? FROM "
    "names WHERE to_ns IS NULL AND path >= ? AND path < ?",
    "UPDATE names SET to_ns = ? WHERE to_ns IS NULL AND path >= ? AND path < ?",
    "SELECT path FROM names WHERE file_id = ? ORDER BY from_ns DESC, id DESC LIMIT 1",
    "SELECT 1 FROM names WHERE file_id = ? AND path = ? AND to_ns IS NULL",
    "UPDATE names SET path = ?3 WHERE file_id = ?1 AND path = ?2 AND to_ns IS NULL",
    "UPDATE entities SET path = ?3 WHERE file_id = ?1 AND path = ?2",
    // relations: first time kept (with its how), last time only grows
    "INSERT INTO used(activity_id, entity_id, time_ns, how) VALUES(?1, ?2, ?3, ?4) "
    "ON CONFLICT(activity_id, entity_id) DO UPDATE SET "
    // A program read stays one (a dropper that also reads its own binary to unpack it).
    "how = CASE WHEN 'program' IN (used.how, excluded.how) THEN 'program' "
    "WHEN used.how IN ('read', 'stdin') OR excluded.time_ns >= used.time_ns THEN used.how "
    "ELSE excluded.how END, "
    "time_ns = CASE WHEN used.how IN ('read', 'stdin') THEN used.time_ns ELSE "
    "MIN(used.time_ns, excluded.time_ns) END",
    "INSERT INTO used(activity_id, entity_id, time_ns, how) VALUES(?1, ?2, ?3, 'read') "
    "ON CONFLICT(activity_id, entity_id) DO UPDATE SET "
    "time_ns = CASE WHEN used.how = 'open' THEN excluded.time_ns "
    "ELSE MIN(used.time_ns, excluded.time_ns) END, "
    "how = CASE WHEN used.how IN ('program', 'stdin') THEN used.how ELSE 'read' END",
    // An image's first read of a file at t: its opens of earlier versions of the file (before
    // t) read nothing of them.
    "DELETE FROM used WHERE activity_id = ?1 AND how = 'open' AND time_ns <= ?3 AND entity_id IN "
    "(SELECT o.id FROM entities o JOIN entities e ON e.id = ?2 WHERE o.file_id = e.file_id AND "
    "o.version < e.version) RETURNING entity_id",
    "UPDATE used SET last_ns = MAX(IFNULL(last_ns, 0), ?) WHERE activity_id = ? AND entity_id IN "
    "(SELECT id FROM entities WHERE file_id = ?)",
    "UPDATE used SET how = 'stdin' WHERE activity_id = ? AND entity_id = ? AND how IN ('read', "
    "'open')",
    "INSERT INTO generated(entity_id, activity_id, time_ns, how) VALUES(?1, ?2, ?3, ?4) "
    "ON CONFLICT(entity_id, activity_id) DO UPDATE SET "
    "how = CASE WHEN generated.how || excluded.how IN ('open-writewrite', 'writeopen-write', "
    "'truncatewrite') THEN 'write' WHEN excluded.time_ns < generated.time_ns THEN excluded.how "
    "ELSE generated.how END, time_ns = MIN(generated.time_ns, excluded.time_ns)",
    "UPDATE generated SET last_ns = MAX(IFNULL(last_ns, 0), ?) WHERE entity_id = ? AND "
    "activity_id = ?",
    // A pipe's (stream socket's) first read or write by an activity: an instant; a later
    // one, a transfer.
    "INSERT INTO used(activity_id, entity_id, time_ns, how, last_ns) VALUES(?1, ?2, ?3, ?4, "
    "?3) ON CONFLICT(activity_id, entity_id) DO NOTHING",
    "INSERT INTO generated(entity_id, activity_id, time_ns, how, last_ns) VALUES(?1, ?2, ?3, "
    "?4, ?3) ON CONFLICT(entity_id, activity_id) DO NOTHING",
    "INSERT INTO pipe_transfers(activity_id, entity_id, time_ns, is_write) VALUES(?, ?, ?, ?)",
    "UPDATE used SET last_ns = NULL WHERE activity_id = ? AND entity_id = ?",
    "UPDATE generated SET last_ns = NULL WHERE activity_id = ? AND entity_id = ?",
    "UPDATE generated SET last_ns = ?1 WHERE entity_id = ?2 AND how = 'send' AND last_ns IS NULL "
    "AND time_ns <= ?1",
    "UPDATE generated SET last_ns = ?3 WHERE activity_id = ?2 AND last_ns IS NULL AND "
    "time_ns <= ?3 AND how != 'mmap' AND entity_id IN (SELECT id FROM entities WHERE file_id = "
    "?1)",
    "UPDATE generated SET last_ns = NULL WHERE entity_id = ? AND activity_id = ? AND how != "
    "'mmap'",
    "SELECT g.activity_id FROM generated g JOIN activities a ON a.id = g.activity_id WHERE "
    "g.entity_id = ?1 AND g.last_ns IS NULL AND g.time_ns <= ?2 AND (a.end_ns IS NULL OR "
    "a.end_ns > ?2)",
    "SELECT how, time_ns, last_ns FROM generated WHERE entity_id = ? AND activity_id = ?",
    "DELETE FROM generated WHERE entity_id = ? AND activity_id = ?",
    // A failed write's row as it was before it; an end stored since (a close) stays.
    "UPDATE generated SET how = ?3, time_ns = ?4, last_ns = IFNULL(last_ns, ?5) WHERE "
    "entity_id = ?1 AND activity_id = ?2",
    "INSERT INTO informed(informed_id, informant_id, time_ns, how) VALUES(?,?,?,?)",
    "INSERT INTO invalidated(entity_id, activity_id, time_ns, how) VALUES(?,?,?,?)",
    "INSERT INTO actions(activity_id, time_ns, what, entity_id, other_activity_id, detail) "
    "VALUES(?,?,?,?,?,?)",
    "INSERT INTO gaps(source_id, from_ns, to_ns, records, detail) VALUES(?,?,?,?,?)",
    "INSERT INTO copies(activity_id, source_id, dev, ino, from_source_id, from_dev, from_ino) "
    "VALUES(?,?,?,?,?,?,?)",
    "INSERT OR IGNORE INTO thread_io(activity_id, entity_id, tid, is_write, time_ns) "
    "VALUES(?,?,?,?,?)",
    "INSERT INTO events(source_id, seq, ts_ns, wall_ns, type, tid, uid, activity_id, ino, name, "
    "name2) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
    "INSERT OR REPLACE INTO open_handles(source_id, fh, file_id, flags, writing, "
    "session_entity) VALUES(?, ?, ?, ?, ?, ?)",
    "DELETE FROM open_handles WHERE source_id = ? AND fh = ?",
    "SELECT fh, file_id, flags, writing, session_entity FROM open_handles WHERE source_id = ?",
};

int64_t i64(uint64_t v) {
  return static_cast<int64_t>(v);
}

// Bind an id that may be 0 (none) as NULL.
void bind_id(Stmt& s, int i, int64_t id) {
  if (id != 0)
    s.bind(i, id);
  else
    s.bind_null(i);
}

constexpr size_t kCacheCap = 1u << 20;

// Rows per multi-row INSERT of the audit trail (11 parameters each: far below SQLite's
// parameter limit).
constexpr size_t kEventChunk = 64;
constexpr const char* kEventColumns =
    "INSERT INTO events(source_id, seq, ts_ns, wall_ns, type, tid, uid, activity_id, ino, name, "
    "name2) VALUES";

}  // namespace

SqliteStore::SqliteStore(lineage::Database& db)
    : db_(db), stmts_(new std::unique_ptr<Stmt>[kNumStatements]) {
  static_assert(sizeof kSql / sizeof kSql[0] == kNumStatements);
}

Stmt& SqliteStore::st(Q q) {
  auto& s = stmts_[q];
  if (!s) s = std::make_unique<Stmt>(db_.handle(), kSql[q]);
  s->reset();
  return *s;
}

int64_t SqliteStore::last_id() const {
  return sqlite3_last_insert_rowid(db_.handle());
}

void SqliteStore::forget_caches() {
  process_ids_.clear();
  file_ids_.clear();
  newest_file_.clear();
  latest_.clear();
  used_.clear();
  generated_.clear();
  used_exact_.clear();
  first_emptied_.clear();  // ids of rolled-back rows come back
  named_.clear();
}

void SqliteStore::begin() {
  pending_events_.clear();
  st(kBegin).run();
  in_batch_ = true;
}

bool SqliteStore::commit(std::string* error) {
  // No statement may keep the transaction open.
  for (int i = 0; i < kNumStatements; i++)
    if (stmts_[i]) stmts_[i]->reset();
  try {
    flush_events();
    st(kCommit).run();
    in_batch_ = false;
    return true;
  } catch (const lineage::DbError& e) {
    *error = e.what();
  }
  rollback();
  return false;
}

void SqliteStore::rollback() {
  for (int i = 0; i < kNumStatements; i++)
    if (stmts_[i]) stmts_[i]->reset();
  pending_events_.clear();
  db_.exec("ROLLBACK");
  in_batch_ = false;
  forget_caches();
}

// ---- sources

int64_t SqliteStore::fs_source(const std::string& mountpoint, uint64_t* cursor,
                               uint64_t* last_seq) {
  st(kSourceInsert).bind(1, mountpoint).run();
  Stmt& q = st(kSourceFind);
  q.bind(1, mountpoint);
  if (!q.step()) return 0;
  int64_t id = q.int64(0);
  *cursor = static_cast<uint64_t>(q.int64(1));
  *last_seq = static_cast<uint64_t>(q.int64(2));
  return id;
}

int64_t SqliteStore::probes_source() {
  st(kProbesInsert).run();
  Stmt& q = st(kProbesFind);
  return q.step() ? q.int64(0) : 0;
}

void SqliteStore::set_position(int64_t source, uint64_t cursor, uint64_t last_seq,
                               uint64_t records) {
  st(kSetPosition)
      .bind(1, i64(cursor))
      .bind(2, i64(last_seq))
      .bind(3, i64(records))
      .bind(4, source)
      .run();
}

void SqliteStore::count_malformed(int64_t source) {
  st(kCountMalformed).bind(1, source).run();
}

void SqliteStore::set_lost(int64_t source, uint64_t lost) {
  st(kSetLost).bind(1, i64(lost)).bind(2, source).run();
}

void SqliteStore::set_meta(const std::string& key, const std::string& value) {
  st(kSetMeta).bind(1, key).bind(2, value).run();
}

// ---- processes, tasks, activities

int64_t SqliteStore::find_process(uint32_t pid, uint64_t start_ns) {
  const auto key = std::make_pair(pid, start_ns);
  if (auto it = process_ids_.find(key); it != process_ids_.end()) return it->second;
  Stmt& q = st(kProcessFind);
  q.bind(1, pid).bind(2, i64(start_ns));
  if (!q.step()) return 0;
  if (process_ids_.size() > kCacheCap) process_ids_.clear();
  return process_ids_[key] = q.int64(0);
}

int64_t SqliteStore::find_process_between(uint32_t pid, uint64_t from_ns, uint64_t until_ns) {
  Stmt& q = st(kProcessFindNear);
  q.bind(1, pid).bind(2, i64(from_ns)).bind(3, i64(until_ns));
  return q.step() ? q.int64(0) : 0;
}

int64_t SqliteStore::add_process(uint32_t pid, uint64_t start_ns, uint32_t uid, uint32_t gid) {
  st(kProcessInsert).bind(1, pid).bind(2, i64(start_ns)).bind(3, uid).bind(4, gid).run();
  int64_t id = last_id();
  if (process_ids_.size() > kCacheCap) process_ids_.clear();
  process_ids_[{pid, start_ns}] = id;
  add_task(pid, id, start_ns);
  return id;
}

void SqliteStore::set_process_parent(int64_t child, int64_t parent) {
  st(kProcessParent).bind(1, parent).bind(2, child).run();
}

int64_t SqliteStore::process_parent(int64_t process) {
  Stmt& q = st(kProcessParentOf);
  q.bind(1, process);
  return q.step() && !q.is_null(0) ? q.int64(0) : 0;
}

void SqliteStore::set_process_exit(int64_t process, uint64_t t, int32_t code) {
  st(kProcessExit).bind(1, i64(t)).bind(2, code).bind(3, process).run();
}

void SqliteStore::add_task(uint32_t tid, int64_t process, uint64_t start_ns) {
  st(kTaskInsert).bind(1, tid).bind(2, process).bind(3, i64(start_ns)).run();
}

void SqliteStore::end_task(uint32_t tid, uint64_t t) {
  st(kTaskEnd).bind(1, i64(t)).bind(2, tid).run();
}

TaskAt SqliteStore::task_at(uint32_t tid, uint64_t t) {
  Stmt& q = st(kTaskAt);
  q.bind(1, tid).bind(2, i64(t)).bind(3, i64(t));
  TaskAt r;
  if (q.step()) {
    r.process = q.int64(0);
    r.from = q.int64(1);
    if (!q.is_null(2)) r.until = q.int64(2) + 1;
  }
  return r;
}

int64_t SqliteStore::add_activity(const ActivityRow& a) {
  Stmt& ins = st(kActivityInsert);
  ins.bind(1, a.process).bind(2, a.exe).bind(3, a.argv_json).bind(4, i64(a.exe_ino));
  ins.bind(5, i64(a.exe_dev)).bind(6, a.uid).bind(7, a.gid).bind(8, a.euid);
  ins.bind(9, i64(a.start_ns)).bind(10, wall_offset_ns() + i64(a.start_ns)).bind(11, a.origin);
  if (a.program.empty())
    ins.bind_null(12);
  else
    ins.bind(12, a.program);
  if (a.root.empty())
    ins.bind_null(13);
  else
    ins.bind(13, a.root);
  for (auto [col, v] : {std::pair{14, a.login_uid}, std::pair{15, a.session_id}}) {
    if (v < 0)
      ins.bind_null(col);
    else
      ins.bind(col, v);
  }
  ins.run();
  return last_id();
}

ActivityAt SqliteStore::activity_at(int64_t process, uint64_t t) {
  Stmt& q = st(kActivityAt);
  q.bind(1, process).bind(2, i64(t)).bind(3, i64(t));
  ActivityAt r;
  if (q.step()) {
    r.id = q.int64(0);
    r.from = q.int64(1);
    if (!q.is_null(2)) r.until = q.int64(2);
  }
  return r;
}

bool SqliteStore::activity(int64_t id, ActivityRow* out) {
  Stmt& q = st(kActivityGet);
  q.bind(1, id);
  if (!q.step()) return false;
  out->process = q.int64(0);
  out->exe = q.text(1);
  out->argv_json = q.text(2);
  out->exe_ino = static_cast<uint64_t>(q.int64(3));
  out->exe_dev = static_cast<uint64_t>(q.int64(4));
  out->uid = static_cast<uint32_t>(q.int64(5));
  out->gid = static_cast<uint32_t>(q.int64(6));
  out->euid = static_cast<uint32_t>(q.int64(7));
  out->start_ns = static_cast<uint64_t>(q.int64(8));
  out->origin = q.text(9);
  out->program = q.text(10);
  out->root = q.text(11);
  out->login_uid = q.int64(12);
  out->session_id = q.int64(13);
  return true;
}

void SqliteStore::end_activity(int64_t id, uint64_t t) {
  st(kActivityEnd).bind(1, i64(t)).bind(2, id).run();
}

void SqliteStore::end_process_activities(int64_t process, uint64_t t) {
  st(kActivitiesEndAll).bind(1, i64(t)).bind(2, process).run();
}

// ---- files

int64_t SqliteStore::find_file(int64_t source, uint64_t ino, uint32_t gen) {
  const auto key = std::make_tuple(source, ino, gen);
  if (auto it = file_ids_.find(key); it != file_ids_.end()) return it->second;
  Stmt& q = st(kFileFind);
  q.bind(1, source).bind(2, i64(ino)).bind(3, gen);
  if (!q.step()) return 0;
  if (file_ids_.size() > kCacheCap) file_ids_.clear();
  return file_ids_[key] = q.int64(0);
}

int64_t SqliteStore::find_file_any_gen(int64_t source, uint64_t ino) {
  const auto key = std::make_pair(source, ino);
  if (auto it = newest_file_.find(key); it != newest_file_.end()) return it->second;
  Stmt& q = st(kFileFindAnyGen);
  q.bind(1, source).bind(2, i64(ino));
  if (!q.step()) return 0;
  if (newest_file_.size() > kCacheCap) newest_file_.clear();
  return newest_file_[key] = q.int64(0);
}

int64_t SqliteStore::add_file(int64_t source, uint64_t ino, uint32_t gen, const char* kind,
                              uint64_t created_ns) {
  Stmt& ins = st(kFileInsert);
  ins.bind(1, source).bind(2, i64(ino)).bind(3, gen).bind(4, kind);
  if (created_ns != 0)
    ins.bind(5, i64(created_ns));
  else
    ins.bind_null(5);
  ins.run();
  int64_t id = last_id();
  if (file_ids_.size() > kCacheCap) file_ids_.clear();
  file_ids_[std::make_tuple(source, ino, gen)] = id;
  if (newest_file_.size() > kCacheCap) newest_file_.clear();
  newest_file_[{source, ino}] = id;  // the largest id: the newest row
  // A new file has no version yet: its first add_version need not ask the database.
  if (latest_.size() > kCacheCap) latest_.clear();
  latest_[id] = VersionRef{};
  return id;
}

int64_t SqliteStore::find_outside_file(uint64_t dev, uint64_t ino, uint32_t gen) {
  Stmt& q = st(kOutsideFind);
  q.bind(1, i64(dev)).bind(2, i64(ino)).bind(3, gen);
  return q.step() ? q.int64(0) : 0;
}

int64_t SqliteStore::add_outside_file(uint64_t dev, uint64_t ino, uint32_t gen, const char* kind,
                                      uint64_t created_ns) {
  Stmt& ins = st(kOutsideInsert);
  ins.bind(1, i64(dev)).bind(2, i64(ino)).bind(3, gen).bind(4, kind);
  if (created_ns != 0)
    ins.bind(5, i64(created_ns));
  else
    ins.bind_null(5);
  ins.run();
  return last_id();
}

int64_t SqliteStore::find_outside_any_gen(uint64_t dev, uint64_t ino) {
  Stmt& q = st(kOutsideFindAnyGen);
  q.bind(1, i64(dev)).bind(2, i64(ino));
  return q.step() ? q.int64(0) : 0;
}

int64_t SqliteStore::find_file_named(const std::string& path) {
  Stmt& q = st(kFileNamed);
  q.bind(1, path);
  return q.step() ? q.int64(0) : 0;
}

int64_t SqliteStore::find_file_named_at(const std::string& path, uint64_t t) {
  Stmt& q = st(kFileNamedAt);
  q.bind(1, path).bind(2, i64(t));
  return q.step() ? q.int64(0) : 0;
}

int64_t SqliteStore::find_pipe(uint64_t ino) {
  Stmt& q = st(kPipeFind);
  q.bind(1, i64(ino));
  return q.step() ? q.int64(0) : 0;
}

int64_t SqliteStore::add_pipe(uint64_t ino, uint64_t created_ns) {
  st(kPipeInsert).bind(1, i64(ino)).bind(2, i64(created_ns)).run();
  return last_id();
}

int64_t SqliteStore::find_addr(const std::string& addr, uint64_t sock_ino) {
  Stmt& q = st(kAddrFind);
  q.bind(1, addr);
  if (!q.step()) return 0;
  const auto ino = static_cast<uint64_t>(q.int64(1));
  return ino == 0 || sock_ino == 0 || ino == sock_ino ? q.int64(0) : 0;
}

int64_t SqliteStore::add_addr(const std::string& addr, const char* kind, uint64_t sock_ino,
                              uint64_t created_ns) {
  st(kAddrInsert).bind(1, i64(sock_ino)).bind(2, kind).bind(3, addr).bind(4, i64(created_ns)).run();
  return last_id();
}

void SqliteStore::set_file_died(int64_t file, uint64_t t) {
  st(kFileDied).bind(1, i64(t)).bind(2, file).run();
}

VersionRef SqliteStore::latest_version(int64_t file) {
  if (auto it = latest_.find(file); it != latest_.end()) return it->second;
  Stmt& q = st(kLatestVersion);
  q.bind(1, file);
  if (!q.step()) return {};
  if (latest_.size() > kCacheCap) latest_.clear();
  return latest_[file] = VersionRef{q.int64(0), q.int64(1)};
}

VersionRef SqliteStore::version_at(int64_t file, uint64_t t) {
  Stmt& q = st(kVersionAt);
  q.bind(1, file).bind(2, i64(t));
  if (q.step()) return VersionRef{q.int64(0), q.int64(1)};
  // Made before any version we know of: the first we have.
  Stmt& first = st(kVersionNumbered);
  first.bind(1, file).bind(2, int64_t{1});
  if (first.step()) return VersionRef{first.int64(0), 1};
  return latest_version(file);
}

VersionRef SqliteStore::add_version(int64_t file, const std::string& path, uint64_t t,
                                    bool emptied) {
  VersionRef prev = latest_version(file);
  if (prev.id != 0) {
    Stmt& c = st(kVersionCreated);
    c.bind(1, prev.id);
    if (c.step() && static_cast<uint64_t>(c.int64(0)) > t) {
      VersionRef v = insert_version(file, path, t, emptied);
      if (v.id != 0) return v;
    }
  }
  st(kVersionInsert).bind(1, file).bind(2, prev.version + 1).bind(3, path).bind(4, i64(t)).run();
  VersionRef v{last_id(), prev.version + 1};
  if (latest_.size() > kCacheCap) latest_.clear();
  latest_[file] = v;
  if (prev.id != 0)
    st(kDerivedVersion)
        .bind(1, v.id)
        .bind(2, prev.id)
        .bind(3, i64(t))
        .bind(4, emptied ? "replaced" : "version")
        .run();
  else if (emptied)
    note_first_emptied(v.id);
  return v;
}

void SqliteStore::move_reads(int64_t to, int64_t from, uint64_t since) {
  st(kUsedMoveFromBefore).bind(1, to).bind(2, from).bind(3, i64(since)).run();
  st(kReadTransfersMove).bind(1, to).bind(2, from).bind(3, i64(since)).run();
  used_.clear();  // rows moved between versions
  used_exact_.clear();
  pipe_reads_.clear();
  pipe_writes_.clear();
  pipe_times_ = 0;
}

// A version that began at t, before versions already stored: its writer was kept only
// later (a process that wrote /tmp/f before another one truncated and refilled it, kept
// when a reader of /tmp/f turned out to matter). Appended, it would be the newest version
// and reads after the refill would land on its content. It takes its place in time order
// instead: the versions after it move up one, the next one derives from it (as it derived
// from the one before: replaced stays replaced), and the reads stored on its predecessor
// from t on saw it. Returns id 0 when the stored versions are not in time order (then it
// is appended as before).
VersionRef SqliteStore::insert_version(int64_t file, const std::string& path, uint64_t t,
                                       bool emptied) {
  Stmt& k = st(kVersionsAfter);
  k.bind(1, file).bind(2, i64(t));
  if (!k.step()) return {};
  const int64_t number = k.int64(0);
  auto numbered = [&](int64_t n, uint64_t* created) -> int64_t {
    Stmt& q = st(kVersionNumbered);
    q.bind(1, file).bind(2, n);
    if (!q.step()) return 0;
    if (created != nullptr) *created = static_cast<uint64_t>(q.int64(1));
    return q.int64(0);
  };
  uint64_t after_created = 0;
  const int64_t after = numbered(number, &after_created);
  if (after == 0 || after_created <= t) return {};
  const int64_t before = number > 1 ? numbered(number - 1, nullptr) : 0;
  st(kVersionsShiftOut).bind(1, file).bind(2, number).run();
  st(kVersionsShiftIn).bind(1, file).run();
  st(kVersionInsert).bind(1, file).bind(2, number).bind(3, path).bind(4, i64(t)).run();
  const VersionRef v{last_id(), number};
  if (before != 0) {
    st(kDerivedRelink).bind(1, v.id).bind(2, after).bind(3, before).run();
    st(kDerivedVersion)
        .bind(1, v.id)
        .bind(2, before)
        .bind(3, i64(t))
        .bind(4, emptied ? "replaced" : "version")
        .run();
    move_reads(v.id, before, t);
  } else {
    // `after` was the first version: whether it began empty was noted when it was made.
    const bool after_emptied = first_emptied_.count(after) != 0;
    st(kDerivedVersion)
        .bind(1, after)
        .bind(2, v.id)
        .bind(3, i64(after_created))
        .bind(4, after_emptied ? "replaced" : "version")
        .run();
    // Reads stored before the first version we knew (version_at's fallback) saw this one.
    st(kUsedMoveFromAfter)
        .bind(1, v.id)
        .bind(2, after)
        .bind(3, i64(t))
        .bind(4, i64(after_created))
        .run();
    if (emptied) note_first_emptied(v.id);
  }
  latest_.erase(file);  // its number moved up
  used_.clear();        // rows moved between versions
  used_exact_.clear();
  return v;
}

void SqliteStore::note_first_emptied(int64_t entity) {
  if (first_emptied_.size() > kCacheCap) first_emptied_.clear();  // then "version": more, not less
  first_emptied_.insert(entity);
}

void SqliteStore::add_name(int64_t file, const std::string& path, uint64_t t) {
  st(kNameInsert).bind(1, file).bind(2, path).bind(3, i64(t)).run();
  if (named_.size() >= (1u << 20)) named_.clear();  // a cache: the database still knows
  named_.insert(file);
}

void SqliteStore::name_unnamed_versions(int64_t file, const std::string& path) {
  st(kNameUnnamed).bind(1, path).bind(2, file).run();
}

void SqliteStore::end_name(int64_t file, const std::string& path, uint64_t t) {
  st(kNameEnd).bind(1, i64(t)).bind(2, file).bind(3, path).run();
}

void SqliteStore::move_names_below(const std::string& from, const std::string& to, uint64_t t) {
  const std::string lo = from + "/", hi = from + "0";  // '0' follows '/': the prefix range
  st(kNamesMoveInsert)
      .bind(1, to)
      .bind(2, static_cast<int64_t>(from.size() + 1))
      .bind(3, i64(t))
      .bind(4, lo)
      .bind(5, hi)
      .run();
  st(kNamesMoveEnd).bind(1, i64(t)).bind(2, lo).bind(3, hi).run();
}

bool SqliteStore::has_open_name(int64_t file, const std::string& path) {
  Stmt& q = st(kNameOpen);
  q.bind(1, file).bind(2, path);
  return q.step();
}

void SqliteStore::retitle_open_name(int64_t file, const std::string& was, const std::string& path) {
  st(kNameRetitle).bind(1, file).bind(2, was).bind(3, path).run();
  st(kNameRetitleVersions).bind(1, file).bind(2, was).bind(3, path).run();
}

std::string SqliteStore::latest_name(int64_t file) {
  Stmt& q = st(kLatestName);
  q.bind(1, file);
  return q.step() ? q.text(0) : std::string();
}

bool SqliteStore::ever_named(int64_t file) {
  if (named_.count(file) != 0) return true;
  if (latest_name(file).empty()) return false;
  if (named_.size() >= (1u << 20)) named_.clear();
  named_.insert(file);
  return true;
}

// ---- relations

void SqliteStore::used(int64_t activity, int64_t entity, uint64_t t, const char* how) {
  if (activity == 0 || entity == 0) return;
  const auto key = std::make_pair(activity, entity);
  // A program read is recorded as one even after an earlier read or open of the entity.
  if (auto it = used_.find(key);
      it != used_.end() && it->second <= t && std::strcmp(how, "program") != 0)
    return;
  st(kUsed).bind(1, activity).bind(2, entity).bind(3, i64(t)).bind(4, how).run();
  if (used_.size() > kCacheCap) used_.clear(), used_exact_.clear();
  auto [it, fresh] = used_.emplace(key, t);
  if (!fresh && t < it->second) it->second = t;
}

void SqliteStore::used_exact(int64_t activity, int64_t entity, uint64_t t) {
  if (activity == 0 || entity == 0) return;
  const auto key = std::make_pair(activity, entity);
  if (used_exact_.count(key) != 0) {
    if (auto it = used_.find(key); it != used_.end() && it->second <= t) return;
  }
  st(kUsedExact).bind(1, activity).bind(2, entity).bind(3, i64(t)).run();
  Stmt& gone = st(kUsedOpenSuperseded);
  gone.bind(1, activity).bind(2, entity).bind(3, i64(t));
  while (gone.step()) {
    used_.erase({activity, gone.int64(0)});
    used_exact_.erase({activity, gone.int64(0)});
  }
  gone.reset();
  if (used_.size() > kCacheCap) used_.clear(), used_exact_.clear();
  used_exact_.insert(key);
  auto [it, fresh] = used_.emplace(key, t);
  if (!fresh) it->second = std::min(it->second, t);
}

void SqliteStore::used_on_stdin(int64_t activity, int64_t entity) {
  if (activity == 0 || entity == 0) return;
  st(kUsedOnStdin).bind(1, activity).bind(2, entity).run();
}

void SqliteStore::used_last_of_file(int64_t activity, int64_t file, uint64_t last) {
  if (activity == 0 || file == 0) return;
  st(kUsedLast).bind(1, i64(last)).bind(2, activity).bind(3, file).run();
}

void SqliteStore::generated(int64_t entity, int64_t activity, uint64_t t, const char* how) {
  if (activity == 0 || entity == 0) return;
  const auto key = std::make_pair(entity, activity);
  const bool write = std::strcmp(how, "write") == 0;
  const bool before_a_write =
      !write && (std::strcmp(how, "open-write") == 0 || std::strcmp(how, "truncate") == 0);
  // Known, and this changes nothing: not earlier, and not the first write after an open
  // for writing or a truncation (the row then says "write": the label a reader sees, and
  // a step that wrote is never one that put no data in).
  if (auto it = generated_.find(key);
      it != generated_.end() && it->second.t <= t && !(write && it->second.before_a_write))
    return;
  st(kGenerated).bind(1, entity).bind(2, activity).bind(3, i64(t)).bind(4, how).run();
  if (generated_.size() > kCacheCap) generated_.clear();
  auto [it, fresh] = generated_.emplace(key, GeneratedAt{t, before_a_write});
  if (!fresh) {
    if (t < it->second.t) it->second = {t, it->second.before_a_write && !write};
    if (write) it->second.before_a_write = false;
  }
}

// The probes report a pipe's read or write, or a stream socket's receive or send, again
// only after news (events.h v10, v11): each is an instant. The first is the relation's
// row; the same one again (a waiting read stored with its writer, then with its reader) is
// dropped, a later one is a transfer of its own. The last report (open_ended) makes the
// row last until the activity ends.
void SqliteStore::instant_transfer(int64_t activity, int64_t entity, uint64_t t, bool write,
                                   bool open_ended, const char* how) {
  if (activity == 0 || entity == 0) return;
  if (!open_ended) {
    auto& seen = write ? pipe_writes_ : pipe_reads_;
    if (pipe_times_ > kCacheCap) pipe_reads_.clear(), pipe_writes_.clear(), pipe_times_ = 0;
    if (!seen[std::make_pair(activity, entity)].insert(t).second) return;
    pipe_times_++;
  }
  Stmt& first = st(write ? kPipeGenerated : kPipeUsed);
  if (write)
    first.bind(1, entity).bind(2, activity);
  else
    first.bind(1, activity).bind(2, entity);
  first.bind(3, i64(t)).bind(4, how).run();
  const bool later = sqlite3_changes(db_.handle()) == 0;
  if (open_ended)
    st(write ? kPipeGeneratedOpen : kPipeUsedOpen).bind(1, activity).bind(2, entity).run();
  else if (later)
    st(kPipeTransfer)
        .bind(1, activity)
        .bind(2, entity)
        .bind(3, i64(t))
        .bind(4, write ? 1 : 0)
        .run();
}

void SqliteStore::generated_last(int64_t entity, int64_t activity, uint64_t last) {
  if (activity == 0 || entity == 0) return;
  st(kGeneratedLast).bind(1, i64(last)).bind(2, entity).bind(3, activity).run();
}

void SqliteStore::end_sends(int64_t entity, uint64_t last) {
  if (entity == 0) return;
  st(kEndSends).bind(1, i64(last)).bind(2, entity).run();
}

void SqliteStore::end_outside_writes(int64_t file, int64_t activity, uint64_t last) {
  if (activity == 0 || file == 0) return;
  st(kEndOutsideWrites).bind(1, file).bind(2, activity).bind(3, i64(last)).run();
}

void SqliteStore::reopen_outside_write(int64_t entity, int64_t activity) {
  if (activity == 0 || entity == 0) return;
  st(kReopenOutsideWrite).bind(1, entity).bind(2, activity).run();
}

std::vector<int64_t> SqliteStore::open_writers(int64_t entity, uint64_t t) {
  std::vector<int64_t> out;
  Stmt& q = st(kOpenWriters);
  q.bind(1, entity).bind(2, i64(t));
  while (q.step()) out.push_back(q.int64(0));
  return out;
}

bool SqliteStore::find_generated(int64_t entity, int64_t activity, GeneratedRow* out) {
  Stmt& q = st(kGeneratedGet);
  q.bind(1, entity).bind(2, activity);
  if (!q.step()) return false;
  out->how = q.text(0);
  out->time = static_cast<uint64_t>(q.int64(1));
  out->last = q.is_null(2) ? 0 : static_cast<uint64_t>(q.int64(2));
  return true;
}

void SqliteStore::restore_generated(int64_t entity, int64_t activity, const GeneratedRow* before) {
  if (activity == 0 || entity == 0) return;
  generated_.erase({entity, activity});  // re-learnt from the row
  if (before == nullptr) {
    st(kGeneratedDrop).bind(1, entity).bind(2, activity).run();
    return;
  }
  Stmt& up = st(kGeneratedRestore);
  up.bind(1, entity).bind(2, activity).bind(3, before->how).bind(4, i64(before->time));
  if (before->last != 0)
    up.bind(5, i64(before->last));
  else
    up.bind_null(5);
  up.run();
}

void SqliteStore::informed(int64_t informed_id, int64_t informant, uint64_t t, const char* how) {
  if (informed_id == 0 || informant == 0) return;
  st(kInformed).bind(1, informed_id).bind(2, informant).bind(3, i64(t)).bind(4, how).run();
}

void SqliteStore::invalidated(int64_t entity, int64_t activity, uint64_t t, const char* how) {
  Stmt& ins = st(kInvalidated);
  ins.bind(1, entity);
  bind_id(ins, 2, activity);
  ins.bind(3, i64(t)).bind(4, how).run();
}

void SqliteStore::action(int64_t activity, uint64_t t, const char* what, int64_t entity,
                         int64_t other_activity, const std::string& detail_json) {
  Stmt& ins = st(kAction);
  bind_id(ins, 1, activity);
  ins.bind(2, i64(t)).bind(3, what);
  bind_id(ins, 4, entity);
  bind_id(ins, 5, other_activity);
  if (detail_json.empty())
    ins.bind_null(6);
  else
    ins.bind(6, detail_json);
  ins.run();
}

void SqliteStore::gap(int64_t source, uint64_t from_ns, uint64_t to_ns, uint64_t records,
                      const std::string& detail_json) {
  Stmt& ins = st(kGap);
  ins.bind(1, source).bind(2, i64(from_ns)).bind(3, i64(to_ns)).bind(4, i64(records));
  if (detail_json.empty())
    ins.bind_null(5);
  else
    ins.bind(5, detail_json);
  ins.run();
}

void SqliteStore::thread_io(int64_t activity, int64_t entity, uint32_t tid, bool write,
                            uint64_t t) {
  if (activity == 0 || entity == 0) return;
  st(kThreadIo)
      .bind(1, activity)
      .bind(2, entity)
      .bind(3, int64_t{tid})
      .bind(4, write ? 1 : 0)
      .bind(5, i64(t))
      .run();
}

void SqliteStore::copy(int64_t activity, const FileIdentity& written, const FileIdentity& from) {
  Stmt& ins = st(kCopy);
  ins.bind(1, activity);
  auto bind_file = [&](int i, const FileIdentity& f) {
    if (f.source != 0)
      ins.bind(i, f.source);
    else
      ins.bind_null(i);
    ins.bind(i + 1, i64(f.source != 0 ? 0 : f.dev)).bind(i + 2, i64(f.ino));
  };
  bind_file(2, written);
  bind_file(5, from);
  ins.run();
}

void SqliteStore::bind_event(Stmt& s, int first, const EventRow& e) {
  s.bind(first, e.source).bind(first + 1, i64(e.seq)).bind(first + 2, i64(e.ts_ns));
  s.bind(first + 3, i64(e.wall_ns)).bind(first + 4, e.type).bind(first + 5, e.tid);
  s.bind(first + 6, e.uid);
  bind_id(s, first + 7, e.activity);
  s.bind(first + 8, i64(e.ino)).bind(first + 9, e.name).bind(first + 10, e.name2);
}

void SqliteStore::event(const EventRow& e) {
  pending_events_.push_back(e);
  if (pending_events_.size() >= kEventChunk) flush_events();
}

void SqliteStore::flush_events() {
  if (pending_events_.empty()) return;
  size_t i = 0;
  if (pending_events_.size() >= kEventChunk) {
    if (!event_chunk_) {
      std::string sql = kEventColumns;
      for (size_t r = 0; r < kEventChunk; r++)
        sql += r == 0 ? "(?,?,?,?,?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?,?,?,?,?)";
      event_chunk_ = std::make_unique<Stmt>(db_.handle(), sql.c_str());
    }
    for (; i + kEventChunk <= pending_events_.size(); i += kEventChunk) {
      event_chunk_->reset();
      for (size_t r = 0; r < kEventChunk; r++)
        bind_event(*event_chunk_, static_cast<int>(r * 11 + 1), pending_events_[i + r]);
      event_chunk_->run();
      event_chunk_->reset();
    }
  }
  for (; i < pending_events_.size(); i++) {
    Stmt& ev = st(kEvent);
    bind_event(ev, 1, pending_events_[i]);
    ev.run();
  }
  pending_events_.clear();
}

// ---- open handles

void SqliteStore::store_handle(int64_t source, const StoredHandle& h) {
  Stmt& ins = st(kHandleStore);
  ins.bind(1, source).bind(2, i64(h.fh)).bind(3, h.file).bind(4, h.flags);
  ins.bind(5, h.writing ? 1 : 0);
  bind_id(ins, 6, h.writing ? h.session_entity : 0);
  ins.run();
}

void SqliteStore::drop_handle(int64_t source, uint64_t fh) {
  st(kHandleDrop).bind(1, source).bind(2, i64(fh)).run();
}

std::vector<StoredHandle> SqliteStore::load_handles(int64_t source) {
  std::vector<StoredHandle> out;
  Stmt& q = st(kHandlesLoad);
  q.bind(1, source);
  while (q.step()) {
    StoredHandle h;
    h.fh = static_cast<uint64_t>(q.int64(0));
    h.file = q.int64(1);
    h.flags = static_cast<uint32_t>(q.int64(2));
    h.writing = q.int64(3) != 0;
    h.session_entity = q.is_null(4) ? 0 : q.int64(4);
    out.push_back(h);
  }
  return out;
}

}  // namespace bento::collector
