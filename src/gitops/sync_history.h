// Sync history: every sync of a new commit (applied, refused or failed) kept in the ledger
// database, so "which commit was live when, and why was that one refused" is answerable later.
//
// Table sync_history (migration component "sync_history", ledger/db.h): commit, author, message,
// commit time, trigger, when seen, when finished (applied or refused), duration, result, errors
// (a JSON array of "file:line:column: message"). Works on SQLite and PostgreSQL alike.
//
// Ownership: SyncHistory owns its Db connection. Threads: all methods may be called from any
// thread; a mutex serialises use of the connection (writes are one row per commit: rare).
// Errors: those of ledger/db.h (Unavailable, Internal); List never returns partial rows.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "gitops/syncer.h"
#include "ledger/db.h"

namespace bursar::gitops {

// The migrations of component "sync_history".
const std::vector<ledger::Migration>& SyncHistoryMigrations();

class SyncHistory {
 public:
  // Opens the database at `url` (ledger::OpenDatabase: a --data folder, sqlite:FILE or a
  // postgres:// URL) and applies the migrations.
  static StatusOr<std::unique_ptr<SyncHistory>> Open(const std::string& url);
  // Takes an open database; applies the migrations.
  static StatusOr<std::unique_ptr<SyncHistory>> Create(std::unique_ptr<ledger::Db> db);

  Status Record(const SyncRecord& record);

  // Newest first, at most `limit` rows.
  StatusOr<std::vector<SyncRecord>> List(size_t limit = 100);

 private:
  explicit SyncHistory(std::unique_ptr<ledger::Db> db) : db_(std::move(db)) {}
  std::mutex mu_;
  std::unique_ptr<ledger::Db> db_;  // guarded by mu_
};

// Columns: SEEN (UTC), RESULT, COMMIT (12 hex), TRIGGER, DURATION, AUTHOR, MESSAGE; refused rows
// are followed by their errors, indented.
std::string FormatHistoryTable(const std::vector<SyncRecord>& rows);

// A JSON array of {"commit","author","message","commitTime","trigger","seenAt","appliedAt",
// "refusedAt","result","durationMs","errors"}; times are RFC 3339 UTC with microseconds,
// appliedAt/refusedAt null unless that is the result. Used by `bursar history --output json` and
// the server's GET /api/sync-history.
std::string FormatHistoryJson(const std::vector<SyncRecord>& rows);

// RFC 3339 UTC text of unix microseconds: "2026-11-27T10:15:02.123456Z".
std::string FormatUnixMicros(int64_t us);

}  // namespace bursar::gitops
