#include "bento/lineage/database.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "migrations.h"  // generated: kMigrations[] = {version, sql}

namespace bento::lineage {

int Database::latest_version() {
  return kMigrations[kNumMigrations - 1].version;
}

std::string Database::default_path() {
  const char* env = std::getenv("BENTO_PROV_DB");
  return env != nullptr && *env != '\0' ? env : "/var/lib/bento/prov.db";
}

namespace {

// The database holds every command line (API keys in argv...): only its owner (root,
// provd's user) may read it. SQLite gives -wal/-shm the database file's mode; existing
// ones made by an older provd are tightened too.
void make_private(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::string p = path + suffix;
    struct stat st {};
    if (stat(p.c_str(), &st) == 0 && (st.st_mode & 077) != 0) chmod(p.c_str(), st.st_mode & 0700);
  }
}

std::string no_access(const std::string& path) {
  return "permission denied: " + path + " (the lineage database is readable by root only)";
}

}  // namespace

uint64_t Database::quick_check_limit() {
  const char* env = std::getenv("BENTO_PROV_QUICK_CHECK_MB");
  return (env != nullptr && *env != '\0' ? std::strtoull(env, nullptr, 10) : 64) << 20;
}

std::string Database::check(int max_problems) {
  std::string sql = "PRAGMA quick_check(" + std::to_string(max_problems) + ")";
  std::string problems;
  try {
    Stmt q(db_, sql.c_str());
    while (q.step()) {
      std::string line = q.text(0);
      if (line == "ok") continue;
      problems += (problems.empty() ? "" : "\n") + line;
    }
  } catch (const DbError& e) {
    problems += (problems.empty() ? "" : "\n") + std::string(e.what());
  }
  return problems;
}

bool Database::exec(const char* sql, std::string* error) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    if (error != nullptr) *error = msg != nullptr ? msg : "sqlite error";
    sqlite3_free(msg);
    return false;
  }
  return true;
}

Database::~Database() {
  cached_.clear();  // statements before the connection
  if (db_ != nullptr) sqlite3_close(db_);
}

Stmt& Database::cached(const char* sql) {
  auto it = cached_.find(sql);  // NOLINT: keyed by address on purpose
  if (it == cached_.end()) it = cached_.emplace(sql, std::make_unique<Stmt>(db_, sql)).first;
  it->second->reset();
  return *it->second;
}

std::unique_ptr<Database> Database::open(const std::string& path, Mode mode, std::string* error,
                                         bool precheck) {
  std::unique_ptr<Database> d(new Database());
  uint64_t file_bytes = 0;
  if (mode == Mode::kReadOnly) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
      *error = errno == EACCES
                   ? no_access(path)
                   : "no lineage database at " + path + " (is provd running? --db PATH)";
      return nullptr;
    }
    if (access(path.c_str(), R_OK) != 0 && errno == EACCES) {
      *error = no_access(path);
      return nullptr;
    }
    file_bytes = static_cast<uint64_t>(st.st_size);
  } else {
    std::string dir = path.substr(0, path.rfind('/'));
    if (!dir.empty() && dir != path) {
      for (size_t i = 1; i <= dir.size(); i++)
        if (i == dir.size() || dir[i] == '/') mkdir(dir.substr(0, i).c_str(), 0700);
    }
  }
  // No global allocation statistics: they take a mutex on every malloc (before first use).
  static const bool configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
  (void)configured;
  int flags =
      mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (mode == Mode::kReadWrite) make_private(path);
  // A new file (and the -wal/-shm SQLite derives from it) is created 0600.
  mode_t old_umask = mode == Mode::kReadWrite ? umask(077) : 0;
  int orc = sqlite3_open_v2(path.c_str(), &d->db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (mode == Mode::kReadWrite) umask(old_umask);
  if (orc != SQLITE_OK) {
    *error = "cannot open " + path + ": " + sqlite3_errmsg(d->db_);
    return nullptr;
  }
  sqlite3_busy_timeout(d->db_, 5000);
  // Damaged pages are found when they are read, not taken for data (a small cost).
  d->exec("PRAGMA cell_size_check=ON;");
  if (mode == Mode::kReadWrite) {
    // 64 MiB of page cache: the collector's index updates stay in memory between commits.
    if (!d->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; "
                 "PRAGMA temp_store=MEMORY;",
                 error)) {
      return nullptr;
    }
  }
  // meta may not exist yet (a new file): version 0.
  try {
    bool has_meta = false;
    {
      Stmt t(d->db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
      has_meta = t.step();
    }
    if (has_meta) {
      Stmt q(d->db_, "SELECT value FROM meta WHERE key='schema_version'");
      if (q.step()) d->version_ = std::atoi(q.text(0).c_str());
    }
  } catch (const DbError& e) {
    if ((e.code() & 0xff) == SQLITE_CANTOPEN && access(path.c_str(), R_OK) != 0 &&
        errno == EACCES) {
      *error = no_access(path);
      return nullptr;
    }
    *error = path +
             (e.corrupt() ? " is damaged or not a lineage database: " : " could not be read: ") +
             e.what() + (e.corrupt() ? " (prov check --db " + path + ")" : "");
    return nullptr;
  }
  if (d->version_ > latest_version()) {
    *error = "database " + path + " is newer than this program (schema v" +
             std::to_string(d->version_) + " > v" + std::to_string(latest_version()) + ")";
    return nullptr;
  }
  if (mode == Mode::kReadOnly) {
    if (d->version_ == 0) {
      *error = path + " is not a lineage database (or is empty)";
      return nullptr;
    }
    // A damaged page an answer does not trip over could still change it silently: check
    // the whole file first while that is cheap (a few ms per MiB); `prov check` always.
    if (precheck && file_bytes <= quick_check_limit()) {
      std::string problems = d->check(3);
      if (!problems.empty()) {
        *error = path + " is damaged: " + problems.substr(0, problems.find('\n')) +
                 " (prov check --db " + path + " lists the problems)";
        return nullptr;
      }
    }
    return d;
  }
  make_private(path);
  for (size_t i = 0; i < kNumMigrations; i++) {
    const Migration& m = kMigrations[i];
    if (m.version <= d->version_) continue;
    std::string err;
    std::string sql = std::string("BEGIN;") + m.sql +
                      "\nINSERT OR REPLACE INTO meta(key, value) VALUES('schema_version', '" +
                      std::to_string(m.version) + "'); COMMIT;";
    if (!d->exec(sql.c_str(), &err)) {
      d->exec("ROLLBACK;");
      *error = "migrating " + path + " to schema v" + std::to_string(m.version) + ": " + err;
      return nullptr;
    }
    d->version_ = m.version;
  }
  return d;
}

Stmt::Stmt(sqlite3* db, const char* sql) : db_(db) {
  int rc = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(db);
    sqlite3_finalize(st_);
    st_ = nullptr;
    throw DbError(sqlite3_extended_errcode(db), msg);
  }
}
Stmt::~Stmt() {
  sqlite3_finalize(st_);
}
void Stmt::fail(int rc) const {
  std::string msg = sqlite3_errmsg(db_);
  int code = sqlite3_extended_errcode(db_);
  sqlite3_reset(st_);
  throw DbError(code != SQLITE_OK ? code : rc, msg.empty() ? sqlite3_errstr(rc) : msg);
}
Stmt& Stmt::bind(int i, int64_t v) {
  sqlite3_bind_int64(st_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, std::string_view v) {
  sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind_null(int i) {
  sqlite3_bind_null(st_, i);
  return *this;
}
bool Stmt::step() {
  int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(rc);
}
void Stmt::run() {
  int rc;
  while ((rc = sqlite3_step(st_)) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE) fail(rc);
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}
int64_t Stmt::int64(int col) const {
  return sqlite3_column_int64(st_, col);
}
std::string Stmt::text(int col) const {
  const unsigned char* t = sqlite3_column_text(st_, col);
  return t != nullptr ? reinterpret_cast<const char*>(t) : "";
}
bool Stmt::is_null(int col) const {
  return sqlite3_column_type(st_, col) == SQLITE_NULL;
}
void Stmt::reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}

}  // namespace bento::lineage
