// FOCUS (FinOps Open Cost and Usage Specification) 1.0, 1.1 and 1.2 CSV rows: the column
// catalogue, version detection from a header, and parsing/normalising one row.
//
// Header-driven: columns may come in any order (matched case-insensitively, names trimmed),
// optional columns may be missing, unknown columns (x_* and others) are kept as an "extra" JSON
// object. The version is detected from the columns only a later version has (1.1:
// CapacityReservationId, CommitmentDiscountQuantity, ServiceSubcategory, SkuMeter, ...; 1.2:
// ServiceProviderName, HostProviderName, InvoiceId, PricingCurrency, BillingAccountType, ...).
// 1.2 renamed ProviderName to ServiceProviderName and PublisherName to HostProviderName; both
// spellings land in the same stored column (provider_name / publisher_name).
//
// Quirks handled (seen in real exports, see the FinOps Foundation sample): the literal NULL for
// an empty value; timestamps "YYYY-MM-DD HH:MM:SS" and RFC 3339 with Z or an offset; Tags as JSON
// whose keys carry stray spaces (trimmed, see CanonicalTags); negative costs (credits, refunds);
// values spelled differently by providers (ChargeCategory, ChargeFrequency, ServiceCategory, ...
// are normalised to the spec's spelling, the original is kept in the row's "raw" JSON).
//
// Money: costs are exact pico-units (finops/exact.h), stored as (micros floor, pico remainder);
// quantities and unit prices are validated decimals kept as their text.
// Thread safety: the catalogue is immutable; a FocusRow is reused by one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "finops/csv.h"
#include "finops/exact.h"
#include "ledger/db.h"

namespace bursar::finops {

enum class FocusVersion { k1_0 = 10, k1_1 = 11, k1_2 = 12 };
std::string_view ToString(FocusVersion v);  // "1.0", "1.1", "1.2"

enum class ColumnKind {
  kText,     // free text
  kEnum,     // normalised to the spec's values (NormalizeEnum), raw kept
  kCost,     // exact decimal -> two BIGINT columns: <sql> micros floor, <sql>_pico remainder
  kDecimal,  // validated decimal, kept as text
  kTime,     // timestamp -> BIGINT unix micros
  kTags,     // JSON object -> tagset id
};

struct FocusColumn {
  std::string_view name;  // FOCUS column name (as in FOCUS 1.2, or the 1.0 name for renamed)
  std::string_view alt;   // other version's name for the same column ("" if none)
  std::string_view sql;   // stored column name
  ColumnKind kind;
  int since;      // 10, 11 or 12: the version that introduced it
  bool required;  // import refuses a file without it (either spelling)
};

// Every column bursar stores, in stored order.
const std::vector<FocusColumn>& FocusColumns();
// Index into FocusColumns() of a column name (either spelling, case-insensitive) or -1.
int FindFocusColumn(std::string_view name);

// What a header says: the version and where each known column sits in a record.
struct FocusSchema {
  FocusVersion version = FocusVersion::k1_0;
  std::vector<int> index;  // per FocusColumns() entry: the record's field index, -1 if missing
  std::vector<std::string> names;  // per FocusColumns() entry: the header's spelling
  std::vector<std::pair<int, std::string>> extras;  // (field index, name) of unknown columns
  size_t width = 0;                                 // number of header fields
};

// Reads the header record the reader is on. InvalidArgument "NAME:LINE: ..." for a missing
// required column, a duplicate column or an empty name.
StatusOr<FocusSchema> DetectSchema(const CsvReader& header);

// One stored value of a parsed row: NULL, an integer (costs, times) or text (a view into the
// reader's buffer or a static normalised spelling; valid until the reader's next Next()).
struct Cell {
  enum Type : uint8_t { kNull, kInt, kText } type = kNull;
  int64_t i = 0;
  std::string_view s;
};

// One parsed row, in the stored column order of StoredColumnNames (without import_id, line and
// tagset_id, which the store fills). Reused across rows: parsing allocates nothing per row
// except for the raw/extra JSON when a row has them.
struct FocusRow {
  std::vector<Cell> values;  // one per stored SQL column (see StoredColumnNames)
  std::string_view tags;     // raw Tags JSON ("" when none); valid until next Next()
  std::string raw_json;      // {"Column":"raw spelling",...} or "" when nothing changed
  std::string extra_json;    // {"x_Col":"value",...} or "" when no extra columns
  int64_t charge_period_start = 0;
  Picos128 billed_cost = 0;
};

// Stored SQL column names fed by FocusRow::values, in order.
const std::vector<std::string>& StoredColumnNames();
// Per stored column: true when it holds free text or an enum (dictionary-encoded in the store).
const std::vector<bool>& StoredColumnIsDictionary();

// Parses the reader's current record. InvalidArgument
// "NAME:LINE: column BilledCost: \"12,5\" is not a decimal" when a value cannot be read, or
// when a required value is empty, or the record's field count differs from the header's.
Status ParseFocusRow(const CsvReader& record, const FocusSchema& schema, FocusRow* row);

// The spec's spelling of an enum value for a column ("usage-based" -> "Usage-Based",
// "AI/ML" -> "AI and Machine Learning"); the input unchanged when unknown.
std::string_view NormalizeEnum(std::string_view column_sql, std::string_view value);
// Known provider aliases ("Amazon Web Services" -> "AWS", "Azure" -> "Microsoft").
std::string_view NormalizeProvider(std::string_view value);

// Canonical tags JSON: keys trimmed of spaces, sorted, values as strings (numbers/bools as their
// JSON text, null dropped), compact. "" for an empty object. InvalidArgument when not a JSON
// object.
StatusOr<std::string> CanonicalTags(std::string_view json);

// True for the literal NULL or an empty field.
inline bool IsNullField(std::string_view v) { return v.empty() || v == "NULL"; }

}  // namespace bursar::finops
