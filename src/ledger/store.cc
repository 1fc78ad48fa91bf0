#include "ledger/store.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "ledger/store_internal.h"

namespace bursar::ledger {
namespace {

using store_internal::FloorTo;
using store_internal::kDayUs;
using store_internal::kHourUs;
using store_internal::kUsageColumns;

std::string RollupTableSql(const std::string& table, const std::string& time_col) {
  std::string totals = "  requests BIGINT NOT NULL,\n  cache_hits BIGINT NOT NULL,\n";
  for (const char* c : kUsageColumns) totals += std::string("  ") + c + " BIGINT NOT NULL,\n";
  return "CREATE TABLE " + table + " (\n  " + time_col +
         " BIGINT NOT NULL,\n"
         "  key_name TEXT NOT NULL,\n"
         "  route TEXT NOT NULL,\n"
         "  model TEXT NOT NULL,\n"
         "  commit_rev TEXT NOT NULL,\n"
         "  tagset_id BIGINT NOT NULL,\n"
         "  currency TEXT NOT NULL,\n" +
         totals +
         "  cost_micros BIGINT NOT NULL,\n"
         "  saved_micros BIGINT NOT NULL,\n"
         "  PRIMARY KEY (" +
         time_col +
         ", key_name, route, model, commit_rev, tagset_id, currency)\n"
         ");\n";
}

// Migration 2: the daily rollup, filled from the hourly one.
std::string DailyRollupSql() {
  std::string sums = "SUM(requests), SUM(cache_hits)";
  std::string cols = "requests, cache_hits";
  for (const char* c : kUsageColumns) {
    sums += std::string(", SUM(") + c + ")";
    cols += std::string(", ") + c;
  }
  return RollupTableSql("spend_daily", "day_us") +
         "INSERT INTO spend_daily (day_us, key_name, route, model, commit_rev, tagset_id, "
         "currency, " +
         cols +
         ", cost_micros, saved_micros) "
         "SELECT hour_us - ((hour_us % 86400000000) + 86400000000) % 86400000000, key_name, "
         "route, model, commit_rev, tagset_id, currency, " +
         sums +
         ", SUM(cost_micros), SUM(saved_micros) FROM spend_hourly "
         "GROUP BY 1, 2, 3, 4, 5, 6, 7;\n";
}

// The spend table's columns, in table order.
std::string SpendColumns() {
  std::string cols =
      "request_id, time_us, key_name, tagset_id, route, model, upstream_model, commit_rev";
  for (const char* c : kUsageColumns) cols += std::string(", ") + c;
  cols +=
      ", price, cost_micros, saved_micros, currency, latency_us, status, cache_hit, "
      "downgraded_from";
  return cols;
}

// CREATE TABLE `table` with spend's columns; request_id is the primary key only in migration 1.
std::string CreateSpendTableSql(const std::string& table, bool request_id_key) {
  std::string usage;
  for (const char* c : kUsageColumns) usage += std::string("  ") + c + " BIGINT NOT NULL,\n";
  return "CREATE TABLE " + table + " (\n  request_id TEXT NOT NULL" +
         (request_id_key ? " PRIMARY KEY" : "") +
         ",\n"
         "  time_us BIGINT NOT NULL,\n"
         "  key_name TEXT NOT NULL,\n"
         "  tagset_id BIGINT NOT NULL,\n"
         "  route TEXT NOT NULL,\n"
         "  model TEXT NOT NULL,\n"
         "  upstream_model TEXT NOT NULL,\n"
         "  commit_rev TEXT NOT NULL,\n" +
         usage +
         "  price TEXT NOT NULL,\n"
         "  cost_micros BIGINT NOT NULL,\n"
         "  saved_micros BIGINT NOT NULL,\n"
         "  currency TEXT NOT NULL,\n"
         "  latency_us BIGINT NOT NULL,\n"
         "  status INTEGER NOT NULL,\n"
         "  cache_hit INTEGER NOT NULL,\n"
         "  downgraded_from TEXT NOT NULL\n"
         ");\n";
}

// Migration 1: spend (then keyed by request_id), tag sets, hourly rollup.
std::string SpendTableSql(bool pg) {
  std::string sql =
      CreateSpendTableSql("spend", true) + "CREATE INDEX spend_time ON spend (time_us);\n";
  sql += pg ? "CREATE TABLE spend_tagsets (id BIGSERIAL PRIMARY KEY, tags_json TEXT NOT NULL "
              "UNIQUE);\n"
            : "CREATE TABLE spend_tagsets (id INTEGER PRIMARY KEY, tags_json TEXT NOT NULL "
              "UNIQUE);\n";
  sql +=
      "CREATE TABLE spend_tagset_tags (tagset_id BIGINT NOT NULL, tag_key TEXT NOT NULL, "
      "tag_value TEXT NOT NULL, PRIMARY KEY (tagset_id, tag_key));\n"
      "CREATE INDEX spend_tagset_tags_kv ON spend_tagset_tags (tag_key, tag_value);\n";
  sql += RollupTableSql("spend_hourly", "hour_us");
  return sql;
}

// Migration 3: request_id is no longer the primary key (InsertMode says who avoids duplicates).
// SQLite cannot drop a key: the table is copied, rowids included, and its time index rebuilt.
std::string DropSpendKeySql(bool pg) {
  if (pg) return "ALTER TABLE spend DROP CONSTRAINT spend_pkey;\n";
  const std::string cols = SpendColumns();
  return CreateSpendTableSql("spend_new", false) + "INSERT INTO spend_new (rowid, " + cols +
         ") SELECT rowid, " + cols +
         " FROM spend;\n"
         "DROP TABLE spend;\n"
         "ALTER TABLE spend_new RENAME TO spend;\n"
         "CREATE INDEX spend_time ON spend (time_us);\n";
}

// The per-configuration columns of a spend record, kept once per combination in spend_dims.
constexpr const char* kDimsColumns[] = {"key_name", "tagset_id",      "route",
                                        "model",    "upstream_model", "commit_rev",
                                        "price",    "currency",       "downgraded_from"};

// "a, b, ..." of `cols`.
template <size_t N>
std::string ColumnList(const char* const (&cols)[N]) {
  std::string out;
  for (const char* c : cols) out += std::string(out.empty() ? "" : ", ") + c;
  return out;
}

// spend_rows' columns after dims_id, in table order.
std::string RowValueColumns(const std::string& prefix = "") {
  std::string cols;
  for (const char* c : kUsageColumns) cols += ", " + prefix + c;
  for (const char* c : {"cost_micros", "saved_micros", "latency_us", "status", "cache_hit"}) {
    cols += ", " + prefix + c;
  }
  return cols;
}

// Migration 4: spend becomes a view over spend_rows (the per-request columns and dims_id) joined
// to spend_dims (each combination of per-configuration columns once), so that a row carries no
// repeated text. The rows move over (rowids kept on SQLite); the time index moves with them.
std::string CompactSpendSql(bool pg) {
  const std::string dims = ColumnList(kDimsColumns);
  std::string sql = std::string("CREATE TABLE spend_dims (\n  id ") +
                    (pg ? "BIGSERIAL" : "INTEGER") + " PRIMARY KEY,\n";
  for (const char* c : kDimsColumns) {
    sql += std::string("  ") + c + (std::string_view(c) == "tagset_id" ? " BIGINT" : " TEXT") +
           " NOT NULL,\n";
  }
  sql += "  UNIQUE (" + dims + ")\n);\n";
  sql +=
      "CREATE TABLE spend_rows (\n  request_id TEXT NOT NULL,\n  time_us BIGINT NOT NULL,\n"
      "  dims_id BIGINT NOT NULL,\n";
  for (const char* c : kUsageColumns) sql += std::string("  ") + c + " BIGINT NOT NULL,\n";
  sql +=
      "  cost_micros BIGINT NOT NULL,\n"
      "  saved_micros BIGINT NOT NULL,\n"
      "  latency_us BIGINT NOT NULL,\n"
      "  status INTEGER NOT NULL,\n"
      "  cache_hit INTEGER NOT NULL\n"
      ");\n";
  sql += "INSERT INTO spend_dims (" + dims + ") SELECT DISTINCT " + dims + " FROM spend;\n";
  std::string match;
  for (const char* c : kDimsColumns) {
    match += std::string(match.empty() ? "" : " AND ") + "d." + c + " = s." + c;
  }
  sql += std::string("INSERT INTO spend_rows (") + (pg ? "" : "rowid, ") +
         "request_id, time_us, dims_id" + RowValueColumns() + ") SELECT " +
         (pg ? "" : "s.rowid, ") + "s.request_id, s.time_us, d.id" + RowValueColumns("s.") +
         " FROM spend s JOIN spend_dims d ON " + match + ";\n";
  sql += "DROP TABLE spend;\nCREATE INDEX spend_time ON spend_rows (time_us);\n";
  // The old column names and order, so that readers do not change.
  std::string view =
      "r.request_id, r.time_us, d.key_name, d.tagset_id, d.route, d.model, d.upstream_model, "
      "d.commit_rev";
  for (const char* c : kUsageColumns) view += std::string(", r.") + c;
  view +=
      ", d.price, r.cost_micros, r.saved_micros, d.currency, r.latency_us, r.status, r.cache_hit, "
      "d.downgraded_from";
  // SQLite: CROSS JOIN keeps spend_rows the outer loop (through spend_time, or a scan) and finds
  // each row's dims by id; driven from spend_dims (say by key_name IN (...)) it would scan the
  // time range once per matching dims row.
  sql += "CREATE VIEW spend (" + SpendColumns() + ") AS SELECT " + view + " FROM spend_rows r " +
         (pg ? "JOIN" : "CROSS JOIN") + " spend_dims d ON d.id = r.dims_id;\n";
  return sql;
}

// A multi-row insert of `rows` records into spend_rows.
constexpr int kSpendParams = 17;
constexpr size_t kRowsPerInsert = 128;

std::string InsertSpendSql(size_t rows) {
  std::string values;
  int n = 0;
  for (size_t r = 0; r < rows; ++r) {
    values += r ? ", (" : "(";
    for (int i = 0; i < kSpendParams; ++i) values += (i ? ", $" : "$") + std::to_string(++n);
    values += ")";
  }
  return "INSERT INTO spend_rows (request_id, time_us, dims_id" + RowValueColumns() + ") VALUES " +
         values;
}

// The cache key of a record's dims: its per-configuration texts, length-prefixed, and tag set.
std::string DimsKey(const SpendRecord& r, int64_t tagset) {
  std::string key = std::to_string(tagset);
  for (const std::string* s : {&r.key_name, &r.route, &r.model, &r.upstream_model, &r.commit,
                               &r.price, &r.currency, &r.downgraded_from}) {
    key += ';';
    key += std::to_string(s->size());
    key += ':';
    key += *s;
  }
  return key;
}

bool SameDims(const SpendRecord& a, const SpendRecord& b) {
  return a.key_name == b.key_name && a.route == b.route && a.model == b.model &&
         a.upstream_model == b.upstream_model && a.commit == b.commit && a.price == b.price &&
         a.currency == b.currency && a.downgraded_from == b.downgraded_from;
}

std::string UpsertRollupSql(const std::string& table, const std::string& time_col) {
  std::string cols =
      time_col + ", key_name, route, model, commit_rev, tagset_id, currency, requests, cache_hits";
  std::string update = "requests = " + table +
                       ".requests + excluded.requests, cache_hits = " + table +
                       ".cache_hits + excluded.cache_hits";
  for (const char* c : kUsageColumns) {
    cols += std::string(", ") + c;
    update += std::string(", ") + c + " = " + table + "." + c + " + excluded." + c;
  }
  cols += ", cost_micros, saved_micros";
  update += ", cost_micros = " + table +
            ".cost_micros + excluded.cost_micros, saved_micros = " + table +
            ".saved_micros + excluded.saved_micros";
  int n = 7 + 2 + 9 + 2;
  std::string values;
  for (int i = 1; i <= n; ++i) values += (i > 1 ? ", $" : "$") + std::to_string(i);
  return "INSERT INTO " + table + " (" + cols + ") VALUES (" + values + ") ON CONFLICT (" +
         time_col +
         ", key_name, route, model, commit_rev, tagset_id, currency) DO "
         "UPDATE SET " +
         update;
}

void AddUsage(SpendTotals* t, const SpendRecord& r) {
  t->requests += 1;
  t->cache_hits += r.cache_hit ? 1 : 0;
  t->prompt_tokens += r.usage.prompt_tokens;
  t->cached_tokens += r.usage.cached_tokens;
  t->completion_tokens += r.usage.completion_tokens;
  t->reasoning_tokens += r.usage.reasoning_tokens;
  t->image_tokens += r.usage.image_tokens;
  t->images += r.usage.images;
  t->audio_input_tokens += r.usage.audio_input_tokens;
  t->audio_output_tokens += r.usage.audio_output_tokens;
  t->audio_millis += r.usage.audio_millis;
  t->cost_micros += r.cost_micros;
  t->saved_micros += r.saved_micros;
}

// One batch's totals per rollup row (time bucket, key, route, model, commit, tag set, currency).
// The key's text points into the batch's records.
class RollupSums {
 public:
  struct Key {
    int64_t time;
    std::string_view key_name, route, model, commit;
    int64_t tagset;
    std::string_view currency;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      size_t h = std::hash<int64_t>()(k.time) ^ std::hash<int64_t>()(k.tagset) * 31;
      for (std::string_view s : {k.key_name, k.route, k.model, k.commit, k.currency}) {
        h = h * 1'000'003 ^ std::hash<std::string_view>()(s);
      }
      return h;
    }
  };

  explicit RollupSums(int64_t unit) : unit_(unit) {}
  void Add(const SpendRecord& r, int64_t tagset) {
    Key k{FloorTo(r.time_us, unit_), r.key_name, r.route, r.model, r.commit, tagset, r.currency};
    if (last_ == nullptr || !(last_key_ == k)) {  // consecutive records mostly share their row
      last_ = &sums_[k];
      last_key_ = k;
    }
    AddUsage(last_, r);
  }
  const std::unordered_map<Key, SpendTotals, KeyHash>& sums() const { return sums_; }

 private:
  int64_t unit_;
  std::unordered_map<Key, SpendTotals, KeyHash> sums_;
  SpendTotals* last_ = nullptr;  // unordered_map never moves its values
  Key last_key_{};
};

}  // namespace

int64_t HourFloor(int64_t t) { return FloorTo(t, kHourUs); }

const std::vector<Migration>& LedgerMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "spend, tagsets, hourly rollup", SpendTableSql(false), SpendTableSql(true)},
      {2, "daily rollup", DailyRollupSql(), ""},
      {3, "spend without request_id key", DropSpendKeySql(false), DropSpendKeySql(true)},
      {4, "compact spend rows", CompactSpendSql(false), CompactSpendSql(true)},
  };
  return kMigrations;
}

void SpendTotals::Add(const SpendTotals& o) {
  requests += o.requests;
  cache_hits += o.cache_hits;
  prompt_tokens += o.prompt_tokens;
  cached_tokens += o.cached_tokens;
  completion_tokens += o.completion_tokens;
  reasoning_tokens += o.reasoning_tokens;
  image_tokens += o.image_tokens;
  images += o.images;
  audio_input_tokens += o.audio_input_tokens;
  audio_output_tokens += o.audio_output_tokens;
  audio_millis += o.audio_millis;
  cost_micros += o.cost_micros;
  saved_micros += o.saved_micros;
}

StatusOr<Dimension> Dimension::Parse(std::string_view name) {
  if (name.empty()) return InvalidArgumentError("empty grouping dimension");
  Dimension d;
  if (name == "key") {
    d.kind = Kind::kKey;
  } else if (name == "route") {
    d.kind = Kind::kRoute;
  } else if (name == "model") {
    d.kind = Kind::kModel;
  } else if (name == "commit") {
    d.kind = Kind::kCommit;
  } else {
    d.kind = Kind::kTag;
    d.tag = std::string(name.starts_with("tag:") ? name.substr(4) : name);
    if (d.tag.empty()) return InvalidArgumentError("empty tag name in grouping dimension");
  }
  return d;
}

std::string Dimension::Name() const {
  switch (kind) {
    case Kind::kKey:
      return "key";
    case Kind::kRoute:
      return "route";
    case Kind::kModel:
      return "model";
    case Kind::kCommit:
      return "commit";
    case Kind::kTag:
      return tag;
  }
  return tag;
}

Store::Store(std::unique_ptr<Db> db) : db_(std::move(db)) {}
Store::~Store() = default;

StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& url) {
  BURSAR_ASSIGN_OR_RETURN(std::unique_ptr<Db> db, OpenDatabase(url));
  return FromDb(std::move(db));
}

StatusOr<std::unique_ptr<Store>> Store::FromDb(std::unique_ptr<Db> db) {
  BURSAR_RETURN_IF_ERROR(ApplyMigrations(*db, "ledger", LedgerMigrations()).status());
  return std::unique_ptr<Store>(new Store(std::move(db)));
}

StatusOr<int64_t> Store::TagsetId(const std::map<std::string, std::string>& tags) {
  // Cache key: cheaper to build than the canonical JSON; length prefixes keep it unambiguous.
  std::string key;
  for (const auto& [k, v] : tags) {
    key += std::to_string(k.size());
    key += ':';
    key += k;
    key += std::to_string(v.size());
    key += ':';
    key += v;
  }
  auto it = tagset_ids_.find(key);
  if (it != tagset_ids_.end()) return it->second;
  std::string json = CanonicalTagsJson(tags);
  BURSAR_RETURN_IF_ERROR(
      db_->Execute("INSERT INTO spend_tagsets (tags_json) VALUES ($1) ON CONFLICT (tags_json) DO "
                   "NOTHING",
                   {json})
          .status());
  BURSAR_ASSIGN_OR_RETURN(
      std::vector<Row> rows,
      db_->QueryAll("SELECT id FROM spend_tagsets WHERE tags_json = $1", {json}));
  if (rows.empty()) return InternalError("tagset vanished after insert");
  int64_t id = rows[0].Int(0);
  for (const auto& [k, v] : tags) {
    BURSAR_RETURN_IF_ERROR(db_->Execute("INSERT INTO spend_tagset_tags (tagset_id, tag_key, "
                                        "tag_value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                                        {id, k, v})
                               .status());
  }
  new_tagsets_.push_back(key);
  tagset_ids_.emplace(std::move(key), id);
  return id;
}

StatusOr<int64_t> Store::DimsId(const SpendRecord& r, int64_t tagset) {
  std::string key = DimsKey(r, tagset);
  auto it = dims_ids_.find(key);
  if (it != dims_ids_.end()) return it->second;
  static const std::string kInsert = [] {
    std::string values;
    for (size_t i = 1; i <= std::size(kDimsColumns); ++i) {
      values += (i > 1 ? ", $" : "$") + std::to_string(i);
    }
    return "INSERT INTO spend_dims (" + ColumnList(kDimsColumns) + ") VALUES (" + values +
           ") ON CONFLICT DO NOTHING";
  }();
  static const std::string kSelect = [] {
    std::string where;
    for (size_t i = 0; i < std::size(kDimsColumns); ++i) {
      where += std::string(i ? " AND " : "") + kDimsColumns[i] + " = $" + std::to_string(i + 1);
    }
    return "SELECT id FROM spend_dims WHERE " + where;
  }();
  const std::vector<Value> p = {std::string_view(r.key_name),       tagset,
                                std::string_view(r.route),          std::string_view(r.model),
                                std::string_view(r.upstream_model), std::string_view(r.commit),
                                std::string_view(r.price),          std::string_view(r.currency),
                                std::string_view(r.downgraded_from)};
  BURSAR_RETURN_IF_ERROR(db_->Execute(kInsert, p).status());
  BURSAR_ASSIGN_OR_RETURN(std::vector<Row> rows, db_->QueryAll(kSelect, p));
  if (rows.empty()) return InternalError("spend dims vanished after insert");
  const int64_t id = rows[0].Int(0);
  new_dims_.push_back(key);
  dims_ids_.emplace(std::move(key), id);
  return id;
}

StatusOr<int64_t> Store::InsertBatch(std::span<const SpendRecord> records, InsertMode mode) {
  if (records.empty()) return 0;
  // Ids handed out inside a transaction that rolls back must not stay cached.
  new_tagsets_.clear();
  new_dims_.clear();
  auto result = [&]() -> StatusOr<int64_t> {
    Transaction tx(*db_);
    BURSAR_RETURN_IF_ERROR(tx.status());
    static const std::string kInsertOne = InsertSpendSql(1);
    static const std::string kInsertMany = InsertSpendSql(kRowsPerInsert);
    static const std::string kStored =
        "SELECT 1 FROM spend_rows WHERE time_us = $1 AND request_id = $2";  // the spend_time index
    static const std::string kUpsertHourly = UpsertRollupSql("spend_hourly", "hour_us");
    static const std::string kUpsertDaily = UpsertRollupSql("spend_daily", "day_us");
    // Rollup keys point into the records, which outlive this call: nothing is copied.
    RollupSums hourly(kHourUs);
    RollupSums daily(kDayUs);
    std::vector<Value> p;

    // Clean copies only of the records that need them; tag sets resolved first.
    std::vector<SpendRecord> sanitized;
    std::vector<const SpendRecord*> recs;
    recs.reserve(records.size());
    const SpendRecord* last_clean = nullptr;
    for (const SpendRecord& r : records) {
      if (last_clean ? SpendRecordIsClean(r, *last_clean) : SpendRecordIsClean(r)) {
        last_clean = &r;
        recs.push_back(&r);
      } else {
        sanitized.push_back(r);
        SanitizeSpendRecord(&sanitized.back());
        recs.push_back(nullptr);  // filled below, once `sanitized` no longer moves
      }
    }
    for (size_t i = 0, k = 0; i < recs.size(); ++i) {
      if (!recs[i]) recs[i] = &sanitized[k++];
    }
    if (mode == InsertMode::kMayRepeat) {  // keep the first record of each id not yet stored
      BURSAR_ASSIGN_OR_RETURN(Statement * stored, db_->Prepare(kStored));
      std::unordered_set<std::string_view> seen;
      size_t kept = 0;
      for (const SpendRecord* r : recs) {
        if (!seen.insert(r->request_id).second) continue;
        bool found = false;
        BURSAR_RETURN_IF_ERROR(
            stored->Query({r->time_us, std::string_view(r->request_id)}, [&found](const Row&) {
              found = true;
              return OkStatus();
            }));
        if (!found) recs[kept++] = r;
      }
      recs.resize(kept);
    }
    std::vector<int64_t> tagsets(recs.size());
    std::vector<int64_t> dims(recs.size());
    for (size_t i = 0; i < recs.size(); ++i) {
      if (i > 0 && recs[i]->tags == recs[i - 1]->tags) {  // a key's requests come in runs
        tagsets[i] = tagsets[i - 1];
      } else {
        BURSAR_ASSIGN_OR_RETURN(tagsets[i], TagsetId(recs[i]->tags));
      }
      if (i > 0 && tagsets[i] == tagsets[i - 1] && SameDims(*recs[i], *recs[i - 1])) {
        dims[i] = dims[i - 1];
      } else {
        BURSAR_ASSIGN_OR_RETURN(dims[i], DimsId(*recs[i], tagsets[i]));
      }
    }

    for (size_t start = 0; start < recs.size();) {
      const size_t rows = recs.size() - start >= kRowsPerInsert ? kRowsPerInsert : 1;
      BURSAR_ASSIGN_OR_RETURN(Statement * insert,
                              db_->Prepare(rows == 1 ? kInsertOne : kInsertMany));
      p.clear();
      p.reserve(rows * kSpendParams);
      for (size_t i = start; i < start + rows; ++i) {
        const SpendRecord& r = *recs[i];
        const Usage& u = r.usage;
        p.emplace_back(std::string_view(r.request_id));
        p.emplace_back(r.time_us);
        p.emplace_back(dims[i]);
        for (int64_t v : {u.prompt_tokens, u.cached_tokens, u.completion_tokens, u.reasoning_tokens,
                          u.image_tokens, u.images, u.audio_input_tokens, u.audio_output_tokens,
                          u.audio_millis}) {
          p.emplace_back(v);
        }
        p.emplace_back(r.cost_micros);
        p.emplace_back(r.saved_micros);
        p.emplace_back(r.latency_us);
        p.emplace_back(static_cast<int64_t>(r.status));
        p.emplace_back(static_cast<int64_t>(r.cache_hit ? 1 : 0));
        hourly.Add(r, tagsets[i]);
        daily.Add(r, tagsets[i]);
      }
      // No conflict clause: a statement inserts all its rows or fails (and the batch with it).
      BURSAR_RETURN_IF_ERROR(insert->Execute(p).status());
      start += rows;
    }
    for (const RollupSums* rollup : {&hourly, &daily}) {
      BURSAR_ASSIGN_OR_RETURN(Statement * upsert,
                              db_->Prepare(rollup == &hourly ? kUpsertHourly : kUpsertDaily));
      for (const auto& [k, t] : rollup->sums()) {
        p = {k.time,
             k.key_name,
             k.route,
             k.model,
             k.commit,
             k.tagset,
             k.currency,
             t.requests,
             t.cache_hits,
             t.prompt_tokens,
             t.cached_tokens,
             t.completion_tokens,
             t.reasoning_tokens,
             t.image_tokens,
             t.images,
             t.audio_input_tokens,
             t.audio_output_tokens,
             t.audio_millis,
             t.cost_micros,
             t.saved_micros};
        BURSAR_RETURN_IF_ERROR(upsert->Execute(p).status());
      }
    }
    BURSAR_RETURN_IF_ERROR(tx.Commit());
    return static_cast<int64_t>(recs.size());
  }();
  if (!result.ok()) {
    for (const std::string& key : new_tagsets_) tagset_ids_.erase(key);
    for (const std::string& key : new_dims_) dims_ids_.erase(key);
  }
  return result;
}

}  // namespace bursar::ledger
