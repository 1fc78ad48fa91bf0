// FOCUS bills in the ledger database: the "focus" component's tables and migrations, the
// import (one transaction, idempotent), and the row queries reports and exports use.
//
// Tables (component "focus" in schema_migrations; works on SQLite and PostgreSQL; migrations in
// focus_schema.cc):
//   focus_imports     one row per imported file: sha256 of its (decompressed) bytes UNIQUE, name,
//                     FOCUS version, row and skipped counts, billed total
//   focus_lines       one row per FOCUS row: import_id, source line, tuple_id, tagset_id, the
//                     non-text columns (costs as <col> BIGINT micros floor + <col>_pico BIGINT
//                     remainder, timestamps BIGINT unix micros, decimals as TEXT), raw
//                     (normalised-away spellings) and extra (unknown columns) as JSON text
//   focus_tuples      id -> the text/enum columns as BIGINT ids into focus_dict (NULL when empty):
//                     rows of one resource share one tuple, so a row stores one id, not ~25
//   focus_rows        a VIEW joining focus_lines and focus_tuples: every known column (focus.h)
//                     as one row, the shape reports and tests query
//   focus_dict        id <-> text value, shared by all text columns
//   focus_tagsets     id <-> canonical tags JSON; focus_tagset_tags (tagset_id, tag_key, tag_value)
//   focus_rollup      BilledCost per import, day and common dimensions (finops/focus_rollup.h)
//
// Import contract: every row is parsed and written inside ONE transaction. By default the first
// bad row fails the import with "FILE:LINE: column C: ..." and nothing is written; with
// skip_bad_rows the bad rows are listed and the rest committed. A file whose content hash is
// already in focus_imports changes nothing (already_imported = true), whatever its name or
// compression. Dictionary ids are assigned by the importer (max id + 1): two imports into one
// database at the same moment conflict, and the later fails (AlreadyExists) and can be retried.
// Tag set and tuple ids are assigned the same way. Speed: the file is read and hashed on a
// read-ahead thread (finops/read_ahead.h); a row's texts are looked up at once as a tuple in a
// flat map (finops/flat_map.h), only the columns the file has are bound, and rows are written in
// multi-row INSERTs by an internal worker thread while the next rows are parsed.
// Threads: uses the caller's Db; during ImportFocus the Db is driven by the importer's worker
// thread (the caller is blocked in ImportFocus, so it never sees two users).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "finops/csv.h"
#include "finops/exact.h"
#include "finops/focus.h"
#include "ledger/db.h"

namespace bursar::finops {

const std::vector<ledger::Migration>& FocusMigrations();
// Applies FocusMigrations() (REQUIRES: not in a transaction).
Status EnsureFocusSchema(ledger::Db& db);

struct ImportOptions {
  bool skip_bad_rows = false;
  size_t batch_rows = 128;         // rows per multi-row INSERT
  size_t max_listed_skips = 1000;  // skipped rows listed in the result (all are counted)
};

struct SkippedRow {
  int64_t line = 0;
  std::string error;  // "FILE:LINE: column C: ..."
};

struct ImportResult {
  bool already_imported = false;
  int64_t import_id = 0;
  std::string sha256;  // hex
  FocusVersion version = FocusVersion::k1_0;
  int64_t rows = 0;     // rows written
  int64_t skipped = 0;  // rows skipped (skip_bad_rows)
  std::vector<SkippedRow> skipped_rows;
  Picos128 billed_cost = 0;  // sum of BilledCost written
};

// Imports a FOCUS CSV (plain or gzip) into `db`. `name` is used in messages.
StatusOr<ImportResult> ImportFocus(ledger::Db& db, std::unique_ptr<ByteSource> source,
                                   const std::string& name, const ImportOptions& options);
StatusOr<ImportResult> ImportFocusFile(ledger::Db& db, const std::string& path,
                                       const ImportOptions& options);

// Number of focus_rows (tests, diagnostics).
StatusOr<int64_t> CountFocusRows(ledger::Db& db);

}  // namespace bursar::finops
