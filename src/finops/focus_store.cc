#include "finops/focus_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "common/sha256.h"
#include "finops/bulk_load_journal.h"
#include "finops/flat_map.h"
#include "finops/focus_rollup.h"
#include "finops/ordered_worker.h"
#include "finops/read_ahead.h"

namespace bursar::finops {
namespace {

using ledger::Db;
using ledger::Dialect;
using ledger::Value;

// A multi-row INSERT of `rows` rows with `cols` (stored column indexes) after `lead` and before
// `tail` columns, into `table` (columns not named stay NULL). Each row's values start with the
// SQL text `literal` (when not empty) and go on with parameters.
std::string InsertSql(const std::string& table, const std::string& lead, size_t rows,
                      const std::vector<size_t>& cols, const std::string& tail, size_t extra_params,
                      const std::string& literal = "") {
  const auto& names = StoredColumnNames();
  std::string sql = "INSERT INTO " + table + " (" + lead;
  for (size_t i : cols) sql += ", " + names[i];
  sql += tail + ") VALUES ";
  size_t per_row = cols.size() + extra_params;
  size_t p = 1;
  for (size_t r = 0; r < rows; ++r) {
    sql += r == 0 ? "(" : ", (";
    if (!literal.empty()) sql += literal + (per_row ? ", " : "");
    for (size_t k = 0; k < per_row; ++k) {
      if (k) sql += ", ";
      sql += "$" + std::to_string(p++);
    }
    sql += ")";
  }
  return sql;
}

// focus_lines INSERT: import_id (in the SQL text: one fewer value to bind per row), then as
// parameters line, tuple_id, tagset_id, the file's non-dictionary columns, raw, extra.
std::string LinesSql(int64_t import_id, size_t rows, const std::vector<size_t>& cols) {
  return InsertSql("focus_lines", "import_id, line, tuple_id, tagset_id", rows, cols,
                   ", raw, extra", 5, std::to_string(import_id));
}

// focus_tuples INSERT: id, the file's dictionary columns.
std::string TuplesSql(size_t rows, const std::vector<size_t>& cols) {
  return InsertSql("focus_tuples", "id", rows, cols, "", 1);
}

void AssignText(Value* dst, std::string_view s) {
  if (s.empty()) {
    *dst = std::monostate();
  } else if (auto* d = std::get_if<std::string>(dst)) {
    d->assign(s.data(), s.size());
  } else {
    *dst = std::string(s);
  }
}

class Importer {
 public:
  // `cols`: the stored columns the file has (a missing column is not bound at all).
  Importer(Db& db, const ImportOptions& options, const std::vector<size_t>& cols)
      : db_(db), options_(options) {
    const auto& dictionary = StoredColumnIsDictionary();
    for (size_t i : cols) (dictionary[i] ? dict_cols_ : line_cols_).push_back(i);
    const size_t width = dict_cols_.size();
    tuples_ = std::make_unique<FlatTupleMap>(width + 2);
    for (Staged& st : staged_) {
      st.texts.assign(width, {});
      st.present.assign(width, 0);
    }
    tuple_ids_.assign(width + 2, 0);
    // Where each rollup dimension sits in the tuple (-1: the file lacks that column).
    const auto& names = StoredColumnNames();
    for (size_t d = 0; d < RollupBuilder::kDims; ++d) {
      rollup_at_[d] = -1;
      for (size_t k = 0; k < width; ++k) {
        if (names[dict_cols_[k]] == RollupColumns()[d]) rollup_at_[d] = static_cast<int>(k);
      }
    }
  }

  // Tagset id of a raw Tags text (0 = no tags). InvalidArgument when it is not a JSON object.
  StatusOr<int64_t> TagsetId(std::string_view raw) {
    if (raw.empty()) return 0;
    if (const int64_t* hit = raw_ids_.Find(raw)) return *hit;
    BURSAR_ASSIGN_OR_RETURN(std::string canonical, CanonicalTags(raw));
    int64_t id = 0;
    if (!canonical.empty()) {
      auto c = canonical_ids_.find(canonical);
      if (c != canonical_ids_.end()) {
        id = c->second;
      } else {
        id = next_tagset_++;
        std::vector<std::pair<std::string, std::string>> pairs;
        nlohmann::json doc = nlohmann::json::parse(canonical);
        for (auto it = doc.begin(); it != doc.end(); ++it) {
          pairs.emplace_back(it.key(), it.value().get<std::string>());
        }
        worker_.Submit([this, id, canonical, pairs = std::move(pairs)]() -> Status {
          BURSAR_RETURN_IF_ERROR(
              db_.Execute("INSERT INTO focus_tagsets (id, tags_json) VALUES ($1, $2)",
                          {id, canonical})
                  .status());
          for (const auto& [k, v] : pairs) {
            BURSAR_RETURN_IF_ERROR(db_.Execute("INSERT INTO focus_tagset_tags (tagset_id, tag_key, "
                                               "tag_value) VALUES ($1, $2, $3)",
                                               {id, k, v})
                                       .status());
          }
          return OkStatus();
        });
        canonical_ids_.emplace(canonical, id);
      }
    }
    raw_ids_.Insert(raw, id);
    return id;
  }

  // Loads the dictionary (value -> id) and the tag sets of earlier imports.
  Status LoadDictionary() {
    BURSAR_RETURN_IF_ERROR(
        db_.Query("SELECT id, tags_json FROM focus_tagsets", {}, [this](const ledger::Row& r) {
          int64_t id = r.Int(0);
          canonical_ids_.emplace(r.Text(1), id);
          next_tagset_ = std::max(next_tagset_, id + 1);
          return OkStatus();
        }));
    BURSAR_ASSIGN_OR_RETURN(auto max_tuple, db_.QueryAll("SELECT MAX(id) FROM focus_tuples"));
    next_tuple_ = max_tuple.at(0).Int(0) + 1;
    return db_.Query("SELECT id, value FROM focus_dict", {}, [this](const ledger::Row& r) {
      int64_t id = r.Int(0);
      dict_.Insert(r.Text(1), id);
      next_id_ = std::max(next_id_, id + 1);
      return OkStatus();
    });
  }

  // The dictionary id of a text value, assigning a new one (written at the next flush).
  int64_t DictId(size_t column, std::string_view v) {
    if (last_id_[column] != 0 && last_value_[column] == v) return last_id_[column];
    int64_t id;
    if (const int64_t* hit = dict_.Find(v)) {
      id = *hit;
    } else {
      id = next_id_++;
      dict_.Insert(v, id);
      new_values_.emplace_back(id, std::string(v));
    }
    last_value_[column].assign(v.data(), v.size());
    last_id_[column] = id;
    return id;
  }

  // Rows go through two steps, so that the tuple lookup's cache misses overlap other work: the
  // caller Prepares row N+1 (hash its tuple, start loading its slot), then Probes and Adds row N
  // (whose slot is loaded by then). At most one row is prepared and not yet added.

  // Hashes the row's tuple and starts loading its slot. The row's texts must stay valid until
  // its Add.
  void Prepare(const FocusRow& row) {
    Staged& st = staged_[prepared_++ & 1];
    const size_t width = dict_cols_.size();
    for (size_t k = 0; k < width; ++k) {
      const Cell& cell = row.values[dict_cols_[k]];
      st.present[k] = cell.type == Cell::kText;
      st.texts[k] = st.present[k] ? cell.s : std::string_view();
    }
    if (st.key.Set(st.texts.data(), st.present.data(), width)) tuples_->Prefetch(st.key);
    st.probed = false;
  }
  // Finds where the lookup of the prepared, not yet added row stops and starts loading that
  // entry (nothing when there is no such row).
  void Probe() {
    if (added_ == prepared_) return;
    Staged& st = staged_[added_ & 1];
    if (st.probed) return;
    st.probe = st.key.ok() ? tuples_->Probe(st.key) : 0;
    st.probed = true;
  }

  Status Add(int64_t import_id, int64_t line, int64_t tagset_id, const FocusRow& row) {
    const size_t stored = row.values.size();
    const size_t n = line_cols_.size();
    const size_t per_row = n + 5;
    import_id_ = import_id;
    if (batch_.size() != options_.batch_rows * per_row) {
      batch_.assign(options_.batch_rows * per_row, Value());
      last_value_.assign(stored, std::string());
      last_id_.assign(stored, 0);
    }
    // Rows of one resource repeat all their text columns: look the whole tuple up once (one
    // hash over the row's texts, no key built) before falling back to one dictionary lookup per
    // column. A new tuple gets the next focus_tuples id. The row's other columns are filled in
    // while the tuple's entry is loaded.
    const size_t width = dict_cols_.size();
    Probe();
    Staged& st = staged_[added_++ & 1];
    const size_t probe = st.probe;
    Value* out = &batch_[pending_ * per_row];
    out[0] = line;
    if (tagset_id) {
      out[2] = tagset_id;
    } else {
      out[2] = std::monostate();
    }
    for (size_t j = 0; j < n; ++j) {
      const Cell& cell = row.values[line_cols_[j]];
      Value* dst = &out[3 + j];
      if (cell.type == Cell::kNull) {
        *dst = std::monostate();
      } else if (cell.type == Cell::kInt) {
        *dst = cell.i;
      } else {
        AssignText(dst, cell.s);
      }
    }
    AssignText(&out[3 + n], row.raw_json);
    AssignText(&out[4 + n], row.extra_json);

    const int64_t* ids = tuple_ids_.data();
    if (!st.key.ok() || !tuples_->FindFrom(probe, st.key, tuple_ids_.data())) {
      for (size_t k = 0; k < width; ++k) {
        tuple_ids_[k] = st.present[k] ? DictId(dict_cols_[k], st.texts[k]) : 0;
      }
      tuple_ids_[width] = next_tuple_++;
      std::array<int64_t, RollupBuilder::kDims> dims;
      for (size_t d = 0; d < dims.size(); ++d) {
        dims[d] = rollup_at_[d] < 0 ? 0 : tuple_ids_[rollup_at_[d]];
      }
      tuple_ids_[width + 1] = rollup_.Group(dims);
      new_tuples_.insert(new_tuples_.end(), tuple_ids_.begin(), tuple_ids_.begin() + width + 1);
      if (tuples_->size() < kMaxTuples) {
        tuples_->Insert(st.key, tuple_ids_.data());  // or not cached
      }
    }
    out[1] = ids[width];
    rollup_.Add(ids[width + 1], row.charge_period_start, row.billed_cost);
    if (++pending_ == options_.batch_rows) Flush();
    return OkStatus();
  }

  // New dictionary values and tuples wait until a whole multi-row INSERT's worth is pending (or
  // the import ends): single-row INSERTs cost the worker a statement each. The tables have no
  // foreign keys, and all is one transaction, so rows may be written before the tuples they
  // name.
  static constexpr size_t kDictBatch = 200;
  static constexpr size_t kTupleBatch = 100;

  void FlushDictionary(bool final) {
    if (new_values_.empty() || (!final && new_values_.size() < kDictBatch)) return;
    std::vector<std::pair<int64_t, std::string>> rest;
    if (!final) {
      size_t keep = new_values_.size() % kDictBatch;
      rest.assign(std::make_move_iterator(new_values_.end() - keep),
                  std::make_move_iterator(new_values_.end()));
      new_values_.resize(new_values_.size() - keep);
    }
    worker_.Submit([this, values = std::move(new_values_)]() mutable -> Status {
      constexpr size_t kBatch = kDictBatch;
      size_t i = 0;
      if (values.size() >= kBatch && dict_full_ == nullptr) {
        std::string sql = "INSERT INTO focus_dict (id, value) VALUES ";
        for (size_t k = 0; k < kBatch; ++k) {
          sql += (k ? ", ($" : "($") + std::to_string(2 * k + 1) + ", $" +
                 std::to_string(2 * k + 2) + ")";
        }
        BURSAR_ASSIGN_OR_RETURN(dict_full_, db_.Prepare(sql));
      }
      std::vector<Value> params;
      for (; i + kBatch <= values.size(); i += kBatch) {
        params.clear();
        for (size_t k = i; k < i + kBatch; ++k) {
          params.emplace_back(values[k].first);
          params.emplace_back(std::move(values[k].second));
        }
        BURSAR_RETURN_IF_ERROR(dict_full_->Execute(params).status());
      }
      for (; i < values.size(); ++i) {
        BURSAR_RETURN_IF_ERROR(db_.Execute("INSERT INTO focus_dict (id, value) VALUES ($1, $2)",
                                           {values[i].first, values[i].second})
                                   .status());
      }
      return OkStatus();
    });
    new_values_ = std::move(rest);
  }

  // Writes the new tuples (after the dictionary values they name, before the rows naming them).
  void FlushTuples(bool final) {
    const size_t width = dict_cols_.size();
    const size_t count = new_tuples_.size() / (width + 1);
    if (count == 0 || (!final && count < kTupleBatch)) return;
    std::vector<int64_t> rest;
    if (!final) {
      size_t keep = (count % kTupleBatch) * (width + 1);
      rest.assign(new_tuples_.end() - keep, new_tuples_.end());
      new_tuples_.resize(new_tuples_.size() - keep);
    }
    worker_.Submit([this, tuples = std::move(new_tuples_)]() -> Status {
      constexpr size_t kBatch = kTupleBatch;
      const size_t width = dict_cols_.size();
      const size_t count = tuples.size() / (width + 1);
      std::vector<Value> params;
      for (size_t i = 0; i < count;) {
        size_t rows = count - i >= kBatch ? kBatch : 1;
        params.clear();
        for (size_t r = i; r < i + rows; ++r) {
          const int64_t* t = &tuples[r * (width + 1)];
          params.emplace_back(t[width]);
          for (size_t k = 0; k < width; ++k) {
            if (t[k] == 0) {
              params.emplace_back(std::monostate());
            } else {
              params.emplace_back(t[k]);
            }
          }
        }
        ledger::Statement*& stmt = rows == kBatch ? tuples_full_ : tuples_single_;
        if (stmt == nullptr) {
          BURSAR_ASSIGN_OR_RETURN(stmt, db_.Prepare(TuplesSql(rows, dict_cols_)));
        }
        BURSAR_RETURN_IF_ERROR(stmt->Execute(params).status());
        i += rows;
      }
      return OkStatus();
    });
    new_tuples_ = std::move(rest);
  }

  // Writes what is pending and waits for the worker: the database is the caller's again.
  Status Finish() {
    Flush(/*final=*/true);
    return worker_.Drain();
  }
  bool failed() const { return worker_.failed(); }
  // The import's rollup (complete after Finish).
  const RollupBuilder& rollup() const { return rollup_; }

  void Flush(bool final = false) {
    FlushDictionary(final);
    FlushTuples(final);
    if (pending_ == 0) return;
    const size_t per_row = line_cols_.size() + 5;
    size_t rows = pending_;
    std::vector<Value> batch = std::move(batch_);
    batch_ = TakeFree();
    if (batch_.size() != batch.size()) batch_.assign(batch.size(), Value());
    worker_.Submit([this, rows, per_row, batch = std::move(batch)]() mutable -> Status {
      Status s;
      if (rows == options_.batch_rows) {
        if (full_ == nullptr) {
          BURSAR_ASSIGN_OR_RETURN(
              full_, db_.Prepare(LinesSql(import_id_, options_.batch_rows, line_cols_)));
        }
        s = full_->Execute(batch).status();
      } else {
        if (single_ == nullptr) {
          BURSAR_ASSIGN_OR_RETURN(single_, db_.Prepare(LinesSql(import_id_, 1, line_cols_)));
        }
        std::vector<Value> one(per_row);
        for (size_t r = 0; r < rows && s.ok(); ++r) {
          for (size_t k = 0; k < per_row; ++k) one[k] = batch[r * per_row + k];
          s = single_->Execute(one).status();
        }
      }
      std::lock_guard<std::mutex> lock(free_mu_);
      free_.push_back(std::move(batch));
      return s;
    });
    pending_ = 0;
  }

  std::vector<Value> TakeFree() {
    std::lock_guard<std::mutex> lock(free_mu_);
    if (free_.empty()) return {};
    std::vector<Value> v = std::move(free_.back());
    free_.pop_back();
    return v;
  }

 private:
  Db& db_;
  ImportOptions options_;
  std::vector<size_t> dict_cols_;  // the file's dictionary columns (stored indexes): the tuple
  std::vector<size_t> line_cols_;  // the file's other columns, written to focus_lines
  FlatTextMap raw_ids_;            // raw Tags text -> tagset id
  std::unordered_map<std::string, int64_t> canonical_ids_;
  int64_t next_tagset_ = 1;
  std::mutex free_mu_;  // guards free_ (batches the worker has written, for reuse)
  std::vector<std::vector<Value>> free_;

  FlatTextMap dict_;
  int64_t next_id_ = 1;
  std::vector<std::pair<int64_t, std::string>> new_values_;
  static constexpr size_t kMaxTuples = 500'000;  // bounds memory when rows never repeat
  std::unique_ptr<FlatTupleMap> tuples_;         // texts -> dictionary ids, then the tuple id
  struct Staged {                                // a prepared row's tuple
    std::vector<std::string_view> texts;
    std::vector<uint8_t> present;
    TupleKey key;
    size_t probe = 0;  // Probe's result, when probed
    bool probed = false;
  };
  std::array<Staged, 2> staged_;  // by row count parity
  uint64_t prepared_ = 0, added_ = 0;
  std::vector<int64_t> tuple_ids_;  // the current row's ids, its tuple id, its rollup group
  int64_t next_tuple_ = 1;
  std::vector<int64_t> new_tuples_;  // tuples to write: ids, then tuple id, per tuple
  std::array<int, RollupBuilder::kDims> rollup_at_{};  // tuple position of each dimension
  RollupBuilder rollup_;
  std::vector<std::string> last_value_;
  std::vector<int64_t> last_id_;
  ledger::Statement* dict_full_ = nullptr;
  ledger::Statement* tuples_full_ = nullptr;    // worker only
  ledger::Statement* tuples_single_ = nullptr;  // worker only
  std::vector<Value> batch_;
  int64_t import_id_ = 0;  // of the rows (Add)
  size_t pending_ = 0;
  ledger::Statement* full_ = nullptr;
  ledger::Statement* single_ = nullptr;
  OrderedWorker worker_;  // last: destroyed (joined) first
};

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StatusOr<ImportResult> ImportFocusLoad(Db& db, std::unique_ptr<ByteSource> source,
                                       const std::string& name, const ImportOptions& options);

}  // namespace

StatusOr<ImportResult> ImportFocus(Db& db, std::unique_ptr<ByteSource> source,
                                   const std::string& name, const ImportOptions& options) {
  BURSAR_RETURN_IF_ERROR(EnsureFocusSchema(db));
  BulkLoadJournal journal(db);
  return ImportFocusLoad(db, std::move(source), name, options);
}

namespace {

StatusOr<ImportResult> ImportFocusLoad(Db& db, std::unique_ptr<ByteSource> source,
                                       const std::string& name, const ImportOptions& options) {
  Sha256 sha;
  // The file is read and hashed on a read-ahead thread, and split into records on another, while
  // this one decodes them.
  CsvOptions csv;
  csv.parse_ahead = true;
  CsvReader reader(
      ReadAheadSource(std::move(source), [&sha](std::string_view chunk) { sha.Update(chunk); }),
      name, csv);
  BURSAR_ASSIGN_OR_RETURN(bool has_header, reader.Next());
  if (!has_header) return InvalidArgumentError(name + ": empty file, expected a FOCUS header");
  BURSAR_ASSIGN_OR_RETURN(FocusSchema schema, DetectSchema(reader));

  ImportResult result;
  result.version = schema.version;
  if (db.dialect() == Dialect::kSqlite) {
    // Rows are appended, so a modest cache suffices; dirty pages spill into the WAL during the
    // load (on the worker thread) rather than all at COMMIT.
    BURSAR_RETURN_IF_ERROR(db.ExecScript("PRAGMA cache_size=-32768"));
  }
  ledger::Transaction tx(db);
  BURSAR_RETURN_IF_ERROR(tx.status());
  // A placeholder hash until the whole file is read; replaced (or found a duplicate) at the end.
  std::string placeholder = "pending-" + std::to_string(NowMicros()) + "-" + name;
  BURSAR_ASSIGN_OR_RETURN(
      auto id_rows,
      db.QueryAll("INSERT INTO focus_imports (sha256, file_name, focus_version, row_count, "
                  "skipped, billed_cost, billed_cost_pico, imported_at) VALUES ($1, $2, $3, 0, "
                  "0, 0, 0, $4) RETURNING id",
                  {placeholder, name, std::string(ToString(schema.version)), NowMicros()}));
  result.import_id = id_rows.at(0).Int(0);

  std::vector<size_t> present;  // stored columns the file has
  size_t stored_index = 0;
  for (size_t c = 0; c < FocusColumns().size(); ++c) {
    const FocusColumn& col = FocusColumns()[c];
    if (col.kind == ColumnKind::kTags) continue;
    for (int part = 0; part < (col.kind == ColumnKind::kCost ? 2 : 1); ++part, ++stored_index) {
      if (schema.index[c] >= 0) present.push_back(stored_index);
    }
  }
  Importer importer(db, options, present);
  BURSAR_RETURN_IF_ERROR(importer.LoadDictionary());
  // Row N is added after row N+1 is parsed and prepared (see Importer::Prepare); the reader
  // keeps row N's views valid for that one more Next().
  FocusRow rows[2];
  size_t cur = 0;
  bool held = false;  // rows[cur ^ 1] is prepared and waits for its Add
  int64_t held_line = 0, held_tagset = 0;
  auto add_held = [&]() -> Status {
    if (!held) return OkStatus();
    held = false;
    const FocusRow& r = rows[cur ^ 1];
    BURSAR_RETURN_IF_ERROR(importer.Add(result.import_id, held_line, held_tagset, r));
    ++result.rows;
    result.billed_cost += r.billed_cost;
    return OkStatus();
  };
  while (!importer.failed()) {
    importer.Probe();
    BURSAR_ASSIGN_OR_RETURN(bool more, reader.Next());
    if (!more) break;
    FocusRow& row = rows[cur];
    Status s = ParseFocusRow(reader, schema, &row);
    int64_t tagset = 0;
    if (s.ok()) {
      auto t = importer.TagsetId(row.tags);
      if (t.ok()) {
        tagset = *t;
      } else if (t.status().code() == StatusCode::kInvalidArgument) {
        std::string shown(row.tags.substr(0, 80));
        std::string msg = name;
        msg.append(":").append(std::to_string(reader.line())).append(": column Tags: \"");
        msg.append(shown).append("\" ").append(t.status().message());
        s = InvalidArgumentError(msg);
      } else {
        return t.status();
      }
    }
    if (!s.ok()) {
      if (!options.skip_bad_rows) return s;
      ++result.skipped;
      if (result.skipped_rows.size() < options.max_listed_skips) {
        result.skipped_rows.push_back({reader.line(), s.message()});
      }
      BURSAR_RETURN_IF_ERROR(add_held());  // before the next Next() invalidates its views
      continue;
    }
    importer.Prepare(row);
    BURSAR_RETURN_IF_ERROR(add_held());
    held = true;
    held_line = reader.line();
    held_tagset = tagset;
    cur ^= 1;
  }
  if (!importer.failed()) BURSAR_RETURN_IF_ERROR(add_held());
  BURSAR_RETURN_IF_ERROR(importer.Finish());
  result.sha256 = sha.FinalHex();

  BURSAR_ASSIGN_OR_RETURN(
      auto dup, db.QueryAll("SELECT id FROM focus_imports WHERE sha256 = $1", {result.sha256}));
  if (!dup.empty()) {
    // Same content imported before: drop everything this run wrote.
    ImportResult same;
    same.already_imported = true;
    same.import_id = dup[0].Int(0);
    same.sha256 = result.sha256;
    same.version = result.version;
    return same;  // tx rolls back
  }
  BURSAR_RETURN_IF_ERROR(importer.rollup().Write(db, result.import_id));
  int64_t micros = 0, rem = 0;
  if (!SplitPicos(result.billed_cost, &micros, &rem)) {
    return InvalidArgumentError(name + ": billed total out of range");
  }
  BURSAR_RETURN_IF_ERROR(
      db.Execute("UPDATE focus_imports SET sha256 = $1, row_count = $2, "
                 "skipped = $3, billed_cost = $4, billed_cost_pico = $5 WHERE "
                 "id = $6",
                 {result.sha256, result.rows, result.skipped, micros, rem, result.import_id})
          .status());
  BURSAR_RETURN_IF_ERROR(tx.Commit());
  return result;
}

}  // namespace

StatusOr<ImportResult> ImportFocusFile(Db& db, const std::string& path,
                                       const ImportOptions& options) {
  BURSAR_ASSIGN_OR_RETURN(auto source, OpenFileSource(path));
  std::string name = path;
  if (auto slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
  return ImportFocus(db, std::move(source), name, options);
}

StatusOr<int64_t> CountFocusRows(Db& db) {
  BURSAR_RETURN_IF_ERROR(EnsureFocusSchema(db));
  BURSAR_ASSIGN_OR_RETURN(auto rows, db.QueryAll("SELECT COUNT(*) FROM focus_rows"));
  return rows.at(0).Int(0);
}

}  // namespace bursar::finops
