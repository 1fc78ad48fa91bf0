// The SQL adapter behind ledger/db.h: rows, transactions, URL dispatch and migrations. The
// backends are ledger/db_sqlite.cc and ledger/db_postgres.cc.
#include "ledger/db.h"

#include <charconv>
#include <chrono>
#include <filesystem>
#include <map>

#include "ledger/db_internal.h"

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
  if (const std::string_view* s = std::get_if<std::string_view>(&v)) return std::string(*s);
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

namespace internal {

std::string Shorten(std::string_view sql) {
  std::string s(sql.substr(0, 120));
  for (char& c : s) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  if (sql.size() > 120) s += "...";
  return s;
}

}  // namespace internal

namespace {

using internal::RedactUrl;

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
  if (IsPostgresUrl(url)) return internal::OpenPostgres(url);
  if (url.starts_with("sqlite:")) {
    std::string path = url.substr(7);
    if (path.empty()) return InvalidArgumentError("sqlite: URL without a path: " + url);
    return internal::OpenSqlite(path, url);
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
  return internal::OpenSqlite((std::filesystem::path(url) / "ledger.db").string(), url);
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
