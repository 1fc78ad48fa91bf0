// The SQL adapter: SQLite and PostgreSQL behind ledger/db.h. This file is the one place where
// sqlite3 result codes and libpq failures become bursar::Status.
#include "ledger/db.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <unordered_map>

namespace bursar::ledger {

// ---- Row ---------------------------------------------------------------------------------------

int64_t Row::Int(size_t i) const {
  const Value& v = values_[i];
  if (const int64_t* n = std::get_if<int64_t>(&v)) return *n;
  if (const std::string* s = std::get_if<std::string>(&v)) {
    int64_t out = 0;
    const char* begin = s->data();
    const char* end = s->data() + s->size();
    if (begin != end && *begin == '+') ++begin;
    auto [p, ec] = std::from_chars(begin, end, out);
    if (ec == std::errc() &&
        (p == end || (*p == '.' && std::all_of(p + 1, end, [](char c) { return c == '0'; })))) {
      return out;
    }
  }
  return 0;
}

std::string Row::Text(size_t i) const {
  const Value& v = values_[i];
  if (const std::string* s = std::get_if<std::string>(&v)) return *s;
  if (const int64_t* n = std::get_if<int64_t>(&v)) return std::to_string(*n);
  return "";
}

// ---- Db shorthands and Transaction -------------------------------------------------------------

StatusOr<int64_t> Db::Execute(const std::string& sql, const std::vector<Value>& params) {
  BURSAR_ASSIGN_OR_RETURN(Statement * stmt, Prepare(sql));
  return stmt->Execute(params);
}

Status Db::Query(const std::string& sql, const std::vector<Value>& params,
                 const std::function<Status(const Row&)>& on_row) {
  BURSAR_ASSIGN_OR_RETURN(Statement * stmt, Prepare(sql));
  return stmt->Query(params, on_row);
}

StatusOr<std::vector<Row>> Db::QueryAll(const std::string& sql, const std::vector<Value>& params) {
  std::vector<Row> rows;
  BURSAR_RETURN_IF_ERROR(Query(sql, params, [&rows](const Row& row) {
    rows.push_back(row);
    return OkStatus();
  }));
  return rows;
}

Transaction::Transaction(Db& db) : db_(db), begin_status_(db.Begin()) {}

Transaction::~Transaction() {
  if (!done_ && begin_status_.ok()) (void)db_.Rollback();
}

Status Transaction::Commit() {
  if (!begin_status_.ok()) return begin_status_;
  if (done_) return FailedPreconditionError("transaction already finished");
  done_ = true;
  Status s = db_.Commit();
  if (!s.ok() && db_.in_transaction()) (void)db_.Rollback();
  return s;
}

namespace {

std::string Shorten(std::string_view sql) {
  std::string s(sql.substr(0, 120));
  for (char& c : s) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  if (sql.size() > 120) s += "...";
  return s;
}

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
  Status Bind(const std::vector<Value>& params) {
    sqlite3_stmt* s = stmt_.get();
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
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
      } else {
        rc = sqlite3_bind_null(s, idx);
      }
      if (rc != SQLITE_OK) return SqliteError(rc, db_, "bind " + Shorten(sql_));
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

// ---- PostgreSQL --------------------------------------------------------------------------------

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

Status PgError(PGconn* conn, const PGresult* res, std::string_view what) {
  std::string msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  std::string text = "postgres: " + std::string(what) + ": " + msg;
  if (PQstatus(conn) != CONNECTION_OK) return UnavailableError(text);
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string_view code = state ? state : "";
  if (code == "23505") return AlreadyExistsError(text);
  if (code == "40001" || code == "40P01" || code == "55P03") return UnavailableError(text);
  if (code.substr(0, 2) == "08" || code.substr(0, 2) == "57" || code.substr(0, 2) == "53") {
    return UnavailableError(text);
  }
  if (code.substr(0, 2) == "22" || code.substr(0, 2) == "23") return InvalidArgumentError(text);
  return InternalError(text);
}

// Removes the password from a URL for messages: postgresql://user:secret@host -> user:***@host.
std::string RedactUrl(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t at = url.find('@', scheme + 3);
  if (at == std::string::npos) return url;
  size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

class PgDb;

class PgStatement final : public Statement {
 public:
  PgStatement(PgDb* db, std::string sql, std::string name)
      : db_(db), sql_(std::move(sql)), name_(std::move(name)) {}
  StatusOr<int64_t> Execute(const std::vector<Value>& params) override;
  Status Query(const std::vector<Value>& params,
               const std::function<Status(const Row&)>& on_row) override;

 private:
  StatusOr<PgResult> Run(const std::vector<Value>& params);

  PgDb* db_;
  std::string sql_;
  std::string name_;
  uint64_t prepared_generation_ = 0;  // connection generation it was prepared on (0 = never)
};

class PgDb final : public Db {
 public:
  static StatusOr<std::unique_ptr<Db>> Open(const std::string& url) {
    auto db = std::unique_ptr<PgDb>(new PgDb(url));
    BURSAR_RETURN_IF_ERROR(db->Connect());
    return std::unique_ptr<Db>(std::move(db));
  }

  Dialect dialect() const override { return Dialect::kPostgres; }
  const std::string& display_url() const override { return display_url_; }

  Status ExecScript(std::string_view sql) override {
    BURSAR_RETURN_IF_ERROR(EnsureConnected());
    std::string text(sql);
    PgResult res(PQexec(conn_.get(), text.c_str()));
    ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      return PgError(conn_.get(), res.get(), Shorten(sql));
    }
    return OkStatus();
  }

  StatusOr<Statement*> Prepare(const std::string& sql) override {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second.get();
    auto owned =
        std::make_unique<PgStatement>(this, sql, "bursar_s" + std::to_string(cache_.size() + 1));
    Statement* p = owned.get();
    cache_.emplace(sql, std::move(owned));
    return p;
  }

  Status Begin() override {
    if (in_tx_) return FailedPreconditionError("postgres: nested transaction");
    BURSAR_RETURN_IF_ERROR(ExecScript("BEGIN"));
    in_tx_ = true;
    return OkStatus();
  }
  Status Commit() override {
    if (!in_tx_) return FailedPreconditionError("postgres: commit without transaction");
    in_tx_ = false;
    return ExecScript("COMMIT");
  }
  Status Rollback() override {
    if (!in_tx_) return OkStatus();
    in_tx_ = false;
    if (PQstatus(conn_.get()) != CONNECTION_OK) return OkStatus();  // the server dropped it
    return ExecScript("ROLLBACK");
  }
  bool in_transaction() const override { return in_tx_; }

  // Reconnects a dropped connection between transactions (never inside one: that work is lost
  // and the caller must see the error).
  Status EnsureConnected() {
    if (PQstatus(conn_.get()) == CONNECTION_OK) return OkStatus();
    if (in_tx_) return UnavailableError("postgres: connection lost inside a transaction");
    return Connect();
  }

  PGconn* conn() { return conn_.get(); }
  uint64_t generation() const { return generation_; }

 private:
  explicit PgDb(std::string url) : url_(std::move(url)), display_url_(RedactUrl(url_)) {}

  Status Connect() {
    conn_.reset(PQconnectdb(url_.c_str()));
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
      std::string msg = conn_ ? PQerrorMessage(conn_.get()) : "out of memory";
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      return UnavailableError("postgres: cannot connect to " + display_url_ + ": " + msg);
    }
    PQsetNoticeProcessor(
        conn_.get(), [](void*, const char*) {}, nullptr);
    ++generation_;
    PgResult res(PQexec(conn_.get(), "SET client_min_messages TO warning"));
    return OkStatus();
  }

  std::string url_;
  std::string display_url_;
  std::unique_ptr<PGconn, PgConnDeleter> conn_;
  uint64_t generation_ = 0;
  bool in_tx_ = false;
  std::unordered_map<std::string, std::unique_ptr<PgStatement>> cache_;
};

StatusOr<PgResult> PgStatement::Run(const std::vector<Value>& params) {
  BURSAR_RETURN_IF_ERROR(db_->EnsureConnected());
  PGconn* conn = db_->conn();
  if (prepared_generation_ != db_->generation()) {
    PgResult res(PQprepare(conn, name_.c_str(), sql_.c_str(), 0, nullptr));
    if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      return PgError(conn, res.get(), "prepare " + Shorten(sql_));
    }
    prepared_generation_ = db_->generation();
  }
  std::vector<std::string> texts(params.size());
  std::vector<const char*> values(params.size(), nullptr);
  for (size_t i = 0; i < params.size(); ++i) {
    if (const int64_t* n = std::get_if<int64_t>(&params[i])) {
      texts[i] = std::to_string(*n);
      values[i] = texts[i].c_str();
    } else if (const std::string* t = std::get_if<std::string>(&params[i])) {
      values[i] = t->c_str();
    }
  }
  PgResult res(PQexecPrepared(conn, name_.c_str(), static_cast<int>(params.size()), values.data(),
                              nullptr, nullptr, 0));
  ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return PgError(conn, res.get(), Shorten(sql_));
  }
  return res;
}

StatusOr<int64_t> PgStatement::Execute(const std::vector<Value>& params) {
  BURSAR_ASSIGN_OR_RETURN(PgResult res, Run(params));
  const char* n = PQcmdTuples(res.get());
  return static_cast<int64_t>(n && *n ? std::strtoll(n, nullptr, 10) : 0);
}

Status PgStatement::Query(const std::vector<Value>& params,
                          const std::function<Status(const Row&)>& on_row) {
  BURSAR_ASSIGN_OR_RETURN(PgResult res, Run(params));
  int rows = PQntuples(res.get());
  int cols = PQnfields(res.get());
  std::vector<Value> values;
  for (int r = 0; r < rows; ++r) {
    values.assign(cols, Value());
    for (int c = 0; c < cols; ++c) {
      if (!PQgetisnull(res.get(), r, c)) {
        values[c] = std::string(PQgetvalue(res.get(), r, c), PQgetlength(res.get(), r, c));
      }
    }
    BURSAR_RETURN_IF_ERROR(on_row(Row(std::move(values))));
  }
  return OkStatus();
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool IsPostgresUrl(std::string_view url) {
  return url.starts_with("postgres://") || url.starts_with("postgresql://");
}

StatusOr<std::unique_ptr<Db>> OpenDatabase(const std::string& url) {
  if (url.empty()) return InvalidArgumentError("empty database URL");
  if (IsPostgresUrl(url)) return PgDb::Open(url);
  if (url.starts_with("sqlite:")) {
    std::string path = url.substr(7);
    if (path.empty()) return InvalidArgumentError("sqlite: URL without a path: " + url);
    return SqliteDb::Open(path, url);
  }
  if (url.find("://") != std::string::npos) {
    return InvalidArgumentError(
        "unsupported database URL (want a directory, sqlite:FILE or "
        "postgresql://...): " +
        RedactUrl(url));
  }
  std::error_code ec;
  std::filesystem::create_directories(url, ec);
  if (ec || !std::filesystem::is_directory(url)) {
    return UnavailableError("cannot create ledger directory " + url + ": " +
                            (ec ? ec.message() : "not a directory"));
  }
  return SqliteDb::Open((std::filesystem::path(url) / "ledger.db").string(), url);
}

// ---- Migrations --------------------------------------------------------------------------------

StatusOr<int> SchemaVersion(Db& db, std::string_view component) {
  BURSAR_RETURN_IF_ERROR(
      db.ExecScript("CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, "
                    "version BIGINT NOT NULL, name TEXT NOT NULL, applied_at BIGINT NOT NULL, "
                    "PRIMARY KEY (component, version))"));
  BURSAR_ASSIGN_OR_RETURN(
      std::vector<Row> rows,
      db.QueryAll("SELECT MAX(version) FROM schema_migrations WHERE component = $1",
                  {std::string(component)}));
  return rows.empty() ? 0 : static_cast<int>(rows[0].Int(0));
}

StatusOr<int> ApplyMigrations(Db& db, std::string_view component,
                              const std::vector<Migration>& migrations) {
  if (db.in_transaction()) return FailedPreconditionError("ApplyMigrations inside a transaction");
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return InternalError("migrations of " + std::string(component) +
                           " must be numbered 1, 2, ... in order");
    }
  }
  bool pg = db.dialect() == Dialect::kPostgres;
  if (pg) {
    // Serialise concurrent starters before the CREATE TABLE IF NOT EXISTS, which can race.
    BURSAR_RETURN_IF_ERROR(db.ExecScript("SELECT pg_advisory_lock(727368)"));
  }
  auto unlock = [&db, pg] {
    if (pg) (void)db.ExecScript("SELECT pg_advisory_unlock(727368)");
  };
  StatusOr<int> result = [&]() -> StatusOr<int> {
    BURSAR_ASSIGN_OR_RETURN(int current, SchemaVersion(db, component));
    (void)current;
    Transaction tx(db);
    BURSAR_RETURN_IF_ERROR(tx.status());
    std::map<int64_t, std::string> applied;
    BURSAR_RETURN_IF_ERROR(
        db.Query("SELECT version, name FROM schema_migrations WHERE component = $1",
                 {std::string(component)}, [&applied](const Row& row) {
                   applied[row.Int(0)] = row.Text(1);
                   return OkStatus();
                 }));
    for (const auto& [version, name] : applied) {
      if (version < 1 || version > static_cast<int64_t>(migrations.size())) {
        return FailedPreconditionError("database has migration " + std::string(component) + " " +
                                       std::to_string(version) + " (" + name +
                                       ") that this bursar does not know; it is older than the "
                                       "database");
      }
      if (migrations[version - 1].name != name) {
        return FailedPreconditionError(
            "migration " + std::string(component) + " " + std::to_string(version) + " is '" + name +
            "' in the database but '" + migrations[version - 1].name + "' here");
      }
    }
    int count = 0;
    for (const Migration& m : migrations) {
      if (applied.count(m.version)) continue;
      const std::string& sql = pg && !m.postgres_sql.empty() ? m.postgres_sql : m.sqlite_sql;
      Status s = db.ExecScript(sql);
      if (!s.ok()) {
        return Status(s.code(), "migration " + std::string(component) + " " +
                                    std::to_string(m.version) + " (" + m.name +
                                    "): " + s.message());
      }
      BURSAR_RETURN_IF_ERROR(
          db.Execute("INSERT INTO schema_migrations (component, version, name, "
                     "applied_at) VALUES ($1, $2, $3, $4)",
                     {std::string(component), static_cast<int64_t>(m.version), m.name, NowMicros()})
              .status());
      ++count;
    }
    BURSAR_RETURN_IF_ERROR(tx.Commit());
    return count;
  }();
  unlock();
  return result;
}

}  // namespace bursar::ledger
