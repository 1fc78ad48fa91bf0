// The journal mode of a FOCUS bulk import (finops/focus_store.cc).
//
// SQLite: a bulk import into a ledger that no other connection has open (the usual `bursar
// import`) runs with a rollback journal, so its pages are written once, straight into the
// database, rather than into the WAL and again into the database at the checkpoint (about 15%
// of a 1M-row import). The import stays one atomic transaction either way. With another
// connection open (a running gateway) the switch is refused at once and the import uses the WAL.
// PostgreSQL: does nothing.
// Threads: the Db's owner; REQUIRES: no transaction open on `db` at construction or destruction.
#pragma once

#include "ledger/db.h"

namespace bursar::finops {

// Switches `db` to a rollback journal for its lifetime when it can (see above), back to WAL
// after. Errors are not reported: the import then runs in WAL mode.
class BulkLoadJournal {
 public:
  explicit BulkLoadJournal(ledger::Db& db);
  ~BulkLoadJournal();
  BulkLoadJournal(const BulkLoadJournal&) = delete;
  BulkLoadJournal& operator=(const BulkLoadJournal&) = delete;

 private:
  ledger::Db& db_;
  bool switched_ = false;
};

}  // namespace bursar::finops
