// The SQLite backend of ledger/db.h: where sqlite3 result codes become bursar::Status.
#include <sqlite3.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <unordered_map>

#include "ledger/db.h"
#include "ledger/db_internal.h"

namespace bursar::ledger::internal {
namespace {

// ---- SQLite ------------------------------------------------------------------------------------

Status SqliteError(int rc, sqlite3* db, std::string_view what) {
  std::string msg = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return UnavailableError("sqlite busy: " + msg);
    case SQLITE_CONSTRAINT:
      return AlreadyExistsError("sqlite constraint: " + msg);
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return InvalidArgumentError("sqlite: " + msg);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return UnavailableError("sqlite: " + msg);
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return FailedPreconditionError("sqlite: " + msg);
    default:
      return InternalError("sqlite: " + msg);
  }
}

// $1 -> ?1, outside quotes and comments.
std::string RewriteParamsForSqlite(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (c == '\'' || c == '"') {
      size_t j = sql.find(c, i + 1);
      if (j == std::string_view::npos) j = sql.size() - 1;
      out.append(sql.substr(i, j - i + 1));
      i = j;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t j = sql.find('\n', i);
      if (j == std::string_view::npos) j = sql.size() - 1;
      out.append(sql.substr(i, j - i + 1));
      i = j;
    } else if (c == '$' && i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
      out.push_back('?');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

struct SqliteStmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
struct SqliteDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};

class SqliteStatement final : public Statement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt, std::string sql)
      : db_(db), stmt_(stmt), sql_(std::move(sql)) {}

  StatusOr<int64_t> Execute(const std::vector<Value>& params) override {
    BURSAR_RETURN_IF_ERROR(Bind(params));
    int rc;
    while ((rc = sqlite3_step(stmt_.get())) == SQLITE_ROW) {
    }
    Unbind();
    if (rc != SQLITE_DONE) return SqliteError(rc, db_, Shorten(sql_));
    return static_cast<int64_t>(sqlite3_changes64(db_));
  }

  Status Query(const std::vector<Value>& params,
               const std::function<Status(const Row&)>& on_row) override {
    BURSAR_RETURN_IF_ERROR(Bind(params));
    sqlite3_stmt* s = stmt_.get();
    int rc;
    std::vector<Value> values;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      int n = sqlite3_column_count(s);
      values.assign(n, Value());
      for (int i = 0; i < n; ++i) {
        switch (sqlite3_column_type(s, i)) {
          case SQLITE_INTEGER:
            values[i] = static_cast<int64_t>(sqlite3_column_int64(s, i));
            break;
          case SQLITE_NULL:
            break;
          case SQLITE_FLOAT:
            // Money never is REAL; an aggregate over an empty set or an expression could be.
            values[i] = static_cast<int64_t>(sqlite3_column_int64(s, i));
            break;
          default: {
            const unsigned char* t = sqlite3_column_text(s, i);
            values[i] = std::string(reinterpret_cast<const char*>(t ? t : (const unsigned char*)""),
                                    sqlite3_column_bytes(s, i));
          }
        }
      }
      Status st = on_row(Row(std::move(values)));
      if (!st.ok()) {
        Unbind();
        return st;
      }
    }
    Unbind();
    if (rc != SQLITE_DONE) return SqliteError(rc, db_, Shorten(sql_));
    return OkStatus();
  }

 private:
  // Ends an execution: resets the statement and drops its bindings (they point into the
  // caller's parameters).
  void Unbind() {
    sqlite3_reset(stmt_.get());
    sqlite3_clear_bindings(stmt_.get());
  }
  // Binds every parameter. The statement is already reset and unbound: every execution ends in
  // Unbind, a failed Bind included.
  Status Bind(const std::vector<Value>& params) {
    sqlite3_stmt* s = stmt_.get();
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(s)) {
      return InternalError("sqlite: statement wants " +
                           std::to_string(sqlite3_bind_parameter_count(s)) + " parameters, got " +
                           std::to_string(params.size()) + ": " + Shorten(sql_));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i) + 1;
      int rc = SQLITE_OK;
      if (const int64_t* n = std::get_if<int64_t>(&params[i])) {
        rc = sqlite3_bind_int64(s, idx, *n);
      } else if (const std::string* t = std::get_if<std::string>(&params[i])) {
        // SQLITE_STATIC: `params` outlives every step of this execution, and the bindings are
        // cleared when it ends (Unbind), so SQLite never copies the text.
        rc = sqlite3_bind_text64(s, idx, t->data(), t->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else if (const std::string_view* v = std::get_if<std::string_view>(&params[i])) {
        rc = sqlite3_bind_text64(s, idx, v->data(), v->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else {
        rc = sqlite3_bind_null(s, idx);
      }
      if (rc != SQLITE_OK) {
        Unbind();
        return SqliteError(rc, db_, "bind " + Shorten(sql_));
      }
    }
    return OkStatus();
  }

  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, SqliteStmtDeleter> stmt_;
  std::string sql_;
};

class SqliteDb final : public Db {
 public:
  static StatusOr<std::unique_ptr<Db>> Open(const std::string& path, const std::string& url) {
    // Debian's SQLite keeps malloc statistics behind a global mutex (every allocation takes
    // it); nothing reads them. Must precede SQLite's initialisation, so do it once, first.
    static const bool kConfigured = [] {
      sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);  // SQLITE_MISUSE if already initialised: fine
      return true;
    }();
    (void)kConfigured;
    sqlite3* raw = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &raw,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    std::unique_ptr<sqlite3, SqliteDeleter> db(raw);
    if (rc != SQLITE_OK) return SqliteError(rc, raw, "open " + path);
    auto out = std::unique_ptr<SqliteDb>(new SqliteDb(std::move(db), url));
    BURSAR_RETURN_IF_ERROR(out->ExecScript("PRAGMA busy_timeout=5000"));
    if (path != ":memory:") {
      // A FOCUS import may hold the file in rollback-journal mode while it runs
      // (finops/focus_store.cc, BulkLoadJournal): opening then keeps that mode (busy) rather
      // than failing; the next open that finds the file free switches it back to WAL.
      Status wal = out->ExecScript("PRAGMA journal_mode=WAL");
      if (!wal.ok() && wal.code() != StatusCode::kUnavailable) return wal;
    }
    // temp_store=MEMORY keeps statement journals (multi-row INSERT ... ON CONFLICT ... RETURNING
    // opens one per statement) off the disk: they were most of the ledger thread's pwrite calls.
    BURSAR_RETURN_IF_ERROR(out->ExecScript(
        "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY"));
    return std::unique_ptr<Db>(std::move(out));
  }

  Dialect dialect() const override { return Dialect::kSqlite; }
  const std::string& display_url() const override { return url_; }

  Status ExecScript(std::string_view sql) override {
    std::string text(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    if (rc != SQLITE_OK) return SqliteError(rc, nullptr, Shorten(sql) + ": " + msg);
    return OkStatus();
  }

  StatusOr<Statement*> Prepare(const std::string& sql) override {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second.get();
    std::string rewritten = RewriteParamsForSqlite(sql);
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_.get(), rewritten.c_str(), static_cast<int>(rewritten.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return SqliteError(rc, db_.get(), "prepare " + Shorten(sql));
    }
    auto owned = std::make_unique<SqliteStatement>(db_.get(), stmt, sql);
    Statement* p = owned.get();
    cache_.emplace(sql, std::move(owned));
    return p;
  }

  Status Begin() override {
    if (in_tx_) return FailedPreconditionError("sqlite: nested transaction");
    BURSAR_RETURN_IF_ERROR(ExecScript("BEGIN IMMEDIATE"));
    in_tx_ = true;
    return OkStatus();
  }
  Status Commit() override {
    if (!in_tx_) return FailedPreconditionError("sqlite: commit without transaction");
    Status s = ExecScript("COMMIT");
    if (s.ok() || sqlite3_get_autocommit(db_.get())) in_tx_ = false;
    return s;
  }
  Status Rollback() override {
    if (!in_tx_) return OkStatus();
    in_tx_ = false;
    if (sqlite3_get_autocommit(db_.get())) return OkStatus();  // already rolled back
    return ExecScript("ROLLBACK");
  }
  bool in_transaction() const override { return in_tx_; }

  ~SqliteDb() override {
    cache_.clear();  // finalize statements before the connection closes
  }

 private:
  SqliteDb(std::unique_ptr<sqlite3, SqliteDeleter> db, std::string url)
      : db_(std::move(db)), url_(std::move(url)) {}

  std::unique_ptr<sqlite3, SqliteDeleter> db_;
  std::string url_;
  bool in_tx_ = false;
  std::unordered_map<std::string, std::unique_ptr<SqliteStatement>> cache_;
};

}  // namespace

StatusOr<std::unique_ptr<Db>> OpenSqlite(const std::string& path, const std::string& url) {
  return SqliteDb::Open(path, url);
}

}  // namespace bursar::ledger::internal
