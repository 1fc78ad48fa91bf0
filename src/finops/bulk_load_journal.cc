#include "finops/bulk_load_journal.h"

#include <string>

namespace bursar::finops {

BulkLoadJournal::BulkLoadJournal(ledger::Db& db) : db_(db) {
  if (db.dialect() != ledger::Dialect::kSqlite) return;
  auto timeout = db.QueryAll("PRAGMA busy_timeout");  // the connection's own, restored below
  if (!timeout.ok() || timeout->empty() || !db.ExecScript("PRAGMA busy_timeout=0").ok()) return;
  auto mode = db.QueryAll("PRAGMA journal_mode=DELETE");
  switched_ = mode.ok() && !mode->empty() && mode->at(0).Text(0) == "delete";
  (void)db.ExecScript("PRAGMA busy_timeout=" + std::to_string(timeout->at(0).Int(0)));
}

BulkLoadJournal::~BulkLoadJournal() {
  if (switched_) (void)db_.QueryAll("PRAGMA journal_mode=WAL");
}

}  // namespace bursar::finops
