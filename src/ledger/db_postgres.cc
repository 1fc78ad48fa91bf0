// The PostgreSQL backend of ledger/db.h (libpq): where libpq failures become bursar::Status.
#include <libpq-fe.h>

#include <charconv>
#include <cstring>
#include <map>
#include <unordered_map>

#include "ledger/db.h"
#include "ledger/db_internal.h"

namespace bursar::ledger::internal {

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

namespace {

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
    } else if (const std::string_view* v = std::get_if<std::string_view>(&params[i])) {
      texts[i] = std::string(*v);  // libpq wants NUL-terminated text
      values[i] = texts[i].c_str();
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

}  // namespace

StatusOr<std::unique_ptr<Db>> OpenPostgres(const std::string& url) { return PgDb::Open(url); }

}  // namespace bursar::ledger::internal
