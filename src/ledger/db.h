// A small SQL adapter over SQLite (sqlite3 C API) and PostgreSQL (libpq), so the ledger and the
// areas that share its database (finops: FOCUS tables, gitops: sync history) write one SQL.
//
// Selection by URL (OpenDatabase):
//   "postgres://..." or "postgresql://..."  -> PostgreSQL through libpq (any libpq conninfo URL)
//   "sqlite:FILE"                           -> the SQLite database file FILE
//   "sqlite::memory:"                       -> a private in-memory SQLite database (tests)
//   any other text, a directory DIR         -> SQLite file DIR/ledger.db (DIR created if missing)
// SQLite is opened in WAL mode with synchronous=NORMAL, busy_timeout=5000 ms, foreign keys on.
//
// SQL: write PostgreSQL-style positional parameters $1, $2, ... in every statement; the SQLite
// backend rewrites them to ?1, ?2 (outside string literals). Use portable SQL (INSERT ... ON
// CONFLICT, BIGINT, TEXT) or give each dialect its own text (see Migration). Money columns are
// BIGINT micro/pico units: never REAL, FLOAT, DOUBLE or NUMERIC with a fraction.
//
// Errors: every SQLite result code and libpq failure becomes a bursar::Status in one place
// (db.cc): connection failures -> Unavailable, SQLITE_BUSY/LOCKED and PG serialization or
// deadlock failures -> Unavailable (retryable), constraint violations -> AlreadyExists, SQL syntax
// or schema errors -> Internal (a bug), bad URL -> InvalidArgument. Messages name the statement.
//
// Ownership and threads: a Db is one connection. It is NOT thread-safe: use it from one thread
// at a time (the owner serialises). Open one Db per thread that needs the database; SQLite WAL
// lets readers run beside one writer, PostgreSQL any number of each. A Statement belongs to its
// Db and must not outlive it. No exception leaves this header's functions.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"

namespace bursar::ledger {

enum class Dialect { kSqlite, kPostgres };

// A parameter or column value. PostgreSQL columns arrive as text; Row's typed accessors convert.
// std::string_view is for parameters only: text the caller keeps alive until Execute/Query
// returns (bulk inserts bind their records' fields without copying them). Columns are never
// string_view.
using Value = std::variant<std::monostate, int64_t, std::string, std::string_view>;

// One result row. Column indexes are 0-based. REQUIRES: i < size().
class Row {
 public:
  Row() = default;
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  size_t size() const { return values_.size(); }
  bool IsNull(size_t i) const { return std::holds_alternative<std::monostate>(values_[i]); }
  // The column as an integer: NULL -> 0; text is parsed (base 10, must be a whole number).
  int64_t Int(size_t i) const;
  // The column as text: NULL -> "", integers are formatted in base 10.
  std::string Text(size_t i) const;
  const Value& at(size_t i) const { return values_[i]; }

 private:
  std::vector<Value> values_;
};

// A prepared statement. Execute/Query may be called many times with different parameters.
class Statement {
 public:
  virtual ~Statement() = default;
  // Runs a statement that returns no rows; returns the number of rows it changed.
  virtual StatusOr<int64_t> Execute(const std::vector<Value>& params) = 0;
  // Runs a query and calls `on_row` for each row in order; a non-OK Status from on_row stops the
  // query and is returned.
  virtual Status Query(const std::vector<Value>& params,
                       const std::function<Status(const Row&)>& on_row) = 0;
};

class Db {
 public:
  virtual ~Db() = default;
  virtual Dialect dialect() const = 0;
  // The URL it was opened with, with any password removed (for messages).
  virtual const std::string& display_url() const = 0;

  // Runs one or more ;-separated statements without parameters (DDL, pragmas).
  virtual Status ExecScript(std::string_view sql) = 0;
  // Prepares `sql` ($1..$N parameters). The statement is cached per Db by its text, so preparing
  // the same text again is cheap.
  virtual StatusOr<Statement*> Prepare(const std::string& sql) = 0;

  // Shorthands: prepare (cached) and run once.
  StatusOr<int64_t> Execute(const std::string& sql, const std::vector<Value>& params = {});
  Status Query(const std::string& sql, const std::vector<Value>& params,
               const std::function<Status(const Row&)>& on_row);
  StatusOr<std::vector<Row>> QueryAll(const std::string& sql,
                                      const std::vector<Value>& params = {});

  // Transactions. Begin takes the write lock at once on SQLite (BEGIN IMMEDIATE), so two writers
  // never deadlock on an upgrade. Nested Begin is an error (FailedPrecondition).
  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;
  virtual bool in_transaction() const = 0;
};

// Opens the database at `url` (see the top of this file). Errors: InvalidArgument for a URL it
// cannot use, Unavailable when the server or file cannot be opened.
StatusOr<std::unique_ptr<Db>> OpenDatabase(const std::string& url);

// True when `url` names a PostgreSQL server rather than an SQLite file or directory.
bool IsPostgresUrl(std::string_view url);

// Rolls back on destruction unless Commit() succeeded. REQUIRES: db outlives it.
class Transaction {
 public:
  // Check status() after construction: Begin may fail.
  explicit Transaction(Db& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  const Status& status() const { return begin_status_; }
  Status Commit();

 private:
  Db& db_;
  Status begin_status_;
  bool done_ = false;
};

// Schema migrations, per component. Each area that keeps tables in the ledger database owns one
// component name ("ledger", "focus", "sync_history", ...) and an ordered list of migrations with
// increasing versions starting at 1. Applying records each in
//   schema_migrations(component TEXT, version BIGINT, name TEXT, applied_at BIGINT unix micros)
// inside the same transaction as its SQL, so a migration is applied exactly once, even with
// several processes starting together (PostgreSQL takes an advisory lock; SQLite BEGIN
// IMMEDIATE). Applying again is a no-op. Errors: FailedPrecondition when the database holds a
// version of this component that the list does not have, or a recorded name differs (the
// database was migrated by another build); the SQL's own errors otherwise (nothing is applied
// from the failing migration on).
struct Migration {
  int version = 0;
  std::string name;
  std::string sqlite_sql;    // ;-separated statements for SQLite
  std::string postgres_sql;  // ;-separated statements for PostgreSQL ("" = same as sqlite_sql)
};

// REQUIRES: db is not in a transaction. Returns how many migrations it applied now.
StatusOr<int> ApplyMigrations(Db& db, std::string_view component,
                              const std::vector<Migration>& migrations);

// The highest applied version of `component`, 0 when none.
StatusOr<int> SchemaVersion(Db& db, std::string_view component);

}  // namespace bursar::ledger
