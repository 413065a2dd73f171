// The lineage database (SQLite): opening, versioned migrations (schema/migrations/*.sql,
// embedded at build time), and a small prepared-statement helper. SCHEMA.md documents it.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace bento::lineage {

class Database {
 public:
  enum class Mode { kReadOnly, kReadWrite };  // kReadWrite creates the file and migrates
  // nullptr + *error (one line) on failure, e.g. "database /x is newer than this prov (v3 > v1)".
  static std::unique_ptr<Database> open(const std::string& path, Mode mode, std::string* error);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sqlite3* handle() { return db_; }
  int schema_version() const { return version_; }
  static int latest_version();
  static std::string default_path();  // $BENTO_PROV_DB, else /var/lib/bento/prov.db

  bool exec(const char* sql, std::string* error = nullptr);

 private:
  Database() = default;
  sqlite3* db_ = nullptr;
  int version_ = 0;
};

// A prepared statement, reset after each use.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return st_ != nullptr; }

  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, std::string_view v);
  Stmt& bind_null(int i);
  bool step();  // true while there is a row
  bool run();   // executes to the end; false on error
  int64_t int64(int col) const;
  std::string text(int col) const;
  bool is_null(int col) const;
  void reset();

 private:
  sqlite3_stmt* st_ = nullptr;
};

}  // namespace bento::lineage
