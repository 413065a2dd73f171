// The lineage database (SQLite): opening, versioned migrations (schema/migrations/*.sql,
// embedded at build time), and a small prepared-statement helper. SCHEMA.md documents it.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bento::lineage {

// A statement that SQLite could not prepare or run: a damaged file (SQLITE_CORRUPT), a full
// disk, a busy database... Never a "no rows" answer: callers fail the query or the batch.
class DbError : public std::runtime_error {
 public:
  DbError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }
  bool corrupt() const {
    return (code_ & 0xff) == SQLITE_CORRUPT || (code_ & 0xff) == SQLITE_NOTADB;
  }

 private:
  int code_;
};

class Database {
 public:
  enum class Mode { kReadOnly, kReadWrite };  // kReadWrite creates the file and migrates
  // nullptr + *error (one line) on failure, e.g. "database /x is newer than this prov (v3 > v1)".
  // precheck: see quick_check_limit() (prov check turns it off to list every problem).
  static std::unique_ptr<Database> open(const std::string& path, Mode mode, std::string* error,
                                        bool precheck = true);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sqlite3* handle() { return db_; }
  int schema_version() const { return version_; }
  // A pipe's later reads and writes have their own table from schema v9 (SCHEMA.md).
  bool has_pipe_transfers() const { return version_ >= 9; }
  static int latest_version();
  static std::string default_path();  // $BENTO_PROV_DB, else /var/lib/bento/prov.db

  bool exec(const char* sql, std::string* error = nullptr);
  // PRAGMA quick_check: "" when sound, else up to max_problems lines saying what is wrong.
  std::string check(int max_problems = 100);
  // A read-only open checks the whole file first when it is at most this big (64 MiB, or
  // $BENTO_PROV_QUICK_CHECK_MB): a damaged page must not change an answer silently.
  static uint64_t quick_check_limit();

  // A statement prepared once per connection and reset for reuse: `sql` must be a string
  // literal (its address is the key). Not for a statement still being stepped.
  class Stmt& cached(const char* sql);

 private:
  Database() = default;
  sqlite3* db_ = nullptr;
  int version_ = 0;
  std::map<const char*, std::unique_ptr<class Stmt>> cached_;
};

// A prepared statement, reset after each use. Preparing, stepping and running throw
// DbError on any SQLite error: a failed step never reads as "no more rows".
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, std::string_view v);
  Stmt& bind_null(int i);
  bool step();  // true while there is a row, false at the end
  void run();   // executes to the end, then resets
  int64_t int64(int col) const;
  std::string text(int col) const;
  bool is_null(int col) const;
  void reset();

 private:
  [[noreturn]] void fail(int rc) const;
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

}  // namespace bento::lineage
