// The spend store: spend records in SQL (SQLite or PostgreSQL, see ledger/db.h) plus hourly and
// daily rollups kept in the same transaction as the inserts, and the queries the rest of bursar
// asks.
//
// Tables (component "ledger" in schema_migrations; all money BIGINT micros):
//   spend_rows         one row per request (request_id, unique by construction but not a key:
//                      see InsertMode), its numbers and dims_id; indexed by time_us (spend_time)
//   spend_dims         id <-> one combination of the per-configuration columns: key_name,
//                      tagset_id (for the tags), route, model, upstream_model, commit_rev, price,
//                      currency, downgraded_from
//   spend              a view: spend_rows joined to spend_dims, one row per request with every
//                      column (what readers query)
//   spend_tagsets      id <-> canonical tags JSON
//   spend_tagset_tags  (tagset_id, tag_key, tag_value)
//   spend_hourly       (hour_us, key_name, route, model, commit_rev, tagset_id, currency) ->
//                      requests, cache_hits, tokens by modality, images, audio_millis, cost, saved
//   spend_daily        the same by UTC day (day_us)
// Aggregates answer whole days from spend_daily, whole hours from spend_hourly and the partial
// hours at the edges of a time range from spend, so results are exact for any range and fast
// over tens of millions of rows.
//
// Ownership and threads: a Store owns one Db connection and is NOT thread-safe; use one Store per
// thread (e.g. the LedgerWriter's thread owns one; `bursar report` opens its own). Several Stores
// (processes) on one database are fine. db() is exposed so other areas can run their own
// migrations/queries on the same connection (same threading rule).
// Errors: Status from the database (see db.h); InvalidArgument for a bad Dimension.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/money.h"
#include "common/status.h"
#include "ledger/db.h"
#include "ledger/spend_record.h"

namespace bursar::ledger {

// The ledger's own migrations (component "ledger").
const std::vector<Migration>& LedgerMigrations();

// A grouping column of a report.
struct Dimension {
  enum class Kind { kKey, kRoute, kModel, kCommit, kTag };
  Kind kind = Kind::kKey;
  std::string tag;  // the tag key, for kTag

  // "key", "route", "model", "commit" name the columns; "team" and any other word is a tag.
  // InvalidArgument for an empty name.
  static StatusOr<Dimension> Parse(std::string_view name);
  std::string Name() const;  // "key", ..., or the tag key
};

// Which records a query covers. Empty selectors match everything; all set ones must match.
struct SpendFilter {
  std::optional<int64_t> since_us;          // inclusive, unix micros
  std::optional<int64_t> until_us;          // exclusive
  std::map<std::string, std::string> tags;  // every pair must be among the record's tags
  std::vector<std::string> keys;            // key_name in this list
  std::vector<std::string> routes;          // route in this list
  std::vector<std::string> models;          // model in this list
  std::string currency;                     // "" = any
};

// Totals of a set of records.
struct SpendTotals {
  int64_t requests = 0;
  int64_t cache_hits = 0;
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t reasoning_tokens = 0;
  int64_t image_tokens = 0;
  int64_t images = 0;
  int64_t audio_input_tokens = 0;
  int64_t audio_output_tokens = 0;
  int64_t audio_millis = 0;
  Micros cost_micros = 0;
  Micros saved_micros = 0;

  void Add(const SpendTotals& o);
  friend bool operator==(const SpendTotals&, const SpendTotals&) = default;
};

// One row of a grouped aggregate: the values of the grouping dimensions, in the order asked
// ("" for a tag the record does not have), the currency, and the totals.
struct SpendGroup {
  std::vector<std::string> keys;
  std::string currency;
  SpendTotals totals;
};

// Observed usage of one (route, model) over a window, for `bursar check`.
struct ObservedUsage {
  std::string route;
  std::string model;
  std::string currency;
  SpendTotals totals;
};

// What InsertBatch may assume about a batch's request ids.
enum class InsertMode {
  // Records never offered to the store before (the ledger writer's queue): no id in the batch is
  // stored or repeated, so the batch is plain multi-row INSERTs. spend_rows does not check it
  // (request_id is no key: an index on it cost about a quarter of an insert).
  kFresh,
  // Records that may be stored already (replayed from the spend log, a batch retried after a
  // failed transaction, which may in fact have committed) or repeated in the batch: a record whose
  // id came earlier in the batch, or that is stored with the same time_us and request_id, is
  // skipped.
  kMayRepeat,
};

class Store {
 public:
  // Opens the database at `url` (db.h) and applies LedgerMigrations().
  static StatusOr<std::unique_ptr<Store>> Open(const std::string& url);
  // Takes an open Db and applies LedgerMigrations().
  static StatusOr<std::unique_ptr<Store>> FromDb(std::unique_ptr<Db> db);
  ~Store();

  // Inserts records in one transaction, rollups included. With kMayRepeat (the default, right for
  // any caller), records already stored or repeated are skipped and do not count twice in the
  // rollups; kFresh is for callers that know better (see InsertMode). Returns how many were
  // inserted.
  StatusOr<int64_t> InsertBatch(std::span<const SpendRecord> records,
                                InsertMode mode = InsertMode::kMayRepeat);

  // Totals grouped by `by` (any number of dimensions; none = one grand total row), sorted by cost
  // descending then keys. Rows are split by currency: amounts in different currencies never add.
  StatusOr<std::vector<SpendGroup>> Aggregate(const std::vector<Dimension>& by,
                                              const SpendFilter& filter);

  // Sum of cost_micros of the records matching filter (the gateway's budget counters at start:
  // filter = the budget's scope and currency, since = the current period's start).
  StatusOr<Micros> SumCost(const SpendFilter& filter);

  // Usage by (route, model) in [since_us, until_us), sorted by route then model.
  // `scope` narrows it to the records a Budget's scope selects (its keys, tags, routes and
  // models; since/until in it are ignored).
  StatusOr<std::vector<ObservedUsage>> ObservedUsageByRouteModel(int64_t since_us, int64_t until_us,
                                                                 const SpendFilter& scope = {});

  // Number of spend records stored (tests, diagnostics).
  StatusOr<int64_t> CountRecords();
  // Reads one record back by id (tests, audits). NotFound when absent.
  StatusOr<SpendRecord> GetRecord(const std::string& request_id);

  Db& db() { return *db_; }

 private:
  explicit Store(std::unique_ptr<Db> db);
  StatusOr<int64_t> TagsetId(const std::map<std::string, std::string>& tags);
  // The spend_dims id of r's per-configuration columns with tag set `tagset`, inserted if new.
  StatusOr<int64_t> DimsId(const SpendRecord& r, int64_t tagset);
  Status QueryGroups(int level, const std::vector<Dimension>& by, const SpendFilter& filter,
                     int64_t since_us, int64_t until_us,
                     std::map<std::pair<std::vector<std::string>, std::string>, SpendTotals>* out);

  std::unique_ptr<Db> db_;
  std::unordered_map<std::string, int64_t> tagset_ids_;  // tags (length-prefixed) -> id (cache)
  std::vector<std::string> new_tagsets_;                 // cached during the current InsertBatch
  std::unordered_map<std::string, int64_t> dims_ids_;    // tag set + dims texts -> id (cache)
  std::vector<std::string> new_dims_;                    // cached during the current InsertBatch
};

// Hour bucket of a time: floor(time_us / 3600e6) * 3600e6 (also for negative times).
int64_t HourFloor(int64_t time_us);

}  // namespace bursar::ledger
