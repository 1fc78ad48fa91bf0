// FOCUS import against real SQLite and PostgreSQL, checked with an independent tool (python3's
// csv + decimal modules). Data: FinOps Foundation, FOCUS Sample Data (CC BY 4.0), see
// testdata/README.md.
#include "finops/focus_store.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <map>
#include <sstream>

#include "finops/test_db.h"

namespace bursar::finops {
namespace {

using testing::Backend;
using testing::ReadFile;
using testing::RunPython;
using testing::SamplePath;
using testing::WriteFile;

class FocusStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  std::string Temp(const std::string& name) {
    auto dir =
        std::filesystem::temp_directory_path() / ("focus_store_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    dirs_.push_back(dir.string());
    return (dir / name).string();
  }
  ~FocusStoreTest() override {
    for (const auto& d : dirs_) std::filesystem::remove_all(d);
  }
  std::vector<std::string> dirs_;
};

// Python's answer: group -> exact sum of BilledCost with 12 fraction digits.
std::map<std::string, std::string> PythonTotals(const std::string& path, const std::string& how,
                                                const std::string& what) {
  std::string script = R"PY(
import csv, json, sys
from decimal import Decimal
how, what, path = sys.argv[1], sys.argv[2], sys.argv[3]
tot = {}
for r in csv.DictReader(open(path, newline='', encoding='utf-8-sig')):
    if how == 'col':
        k = r[what]
    elif how == 'tag':
        t = r['Tags']
        d = {} if t in ('', 'NULL') else {kk.strip(): str(v) for kk, v in json.loads(t).items()}
        k = d.get(what, '')
    else:
        k = ''
    tot[k] = tot.get(k, Decimal(0)) + Decimal(r['BilledCost'])
for k in sorted(tot):
    print(k + '\t' + format(tot[k].quantize(Decimal('1e-12')), 'f'))
)PY";
  // Pass arguments through a tiny wrapper to keep RunPython simple.
  std::string wrapped =
      "import sys\nsys.argv = ['x', '" + how + "', '" + what + "', '" + path + "']\n" + script;
  std::map<std::string, std::string> out;
  std::istringstream lines(RunPython(wrapped));
  std::string line;
  while (std::getline(lines, line)) {
    auto tab = line.find('\t');
    out[line.substr(0, tab)] = line.substr(tab + 1);
  }
  return out;
}

// bursar's answer straight from SQL over the stored split amounts.
std::map<std::string, std::string> SqlTotals(ledger::Db& db, const std::string& group_sql,
                                             const std::string& join = "",
                                             const std::vector<ledger::Value>& params = {}) {
  std::map<std::string, std::string> out;
  auto rows = db.QueryAll("SELECT " + group_sql +
                              ", SUM(r.billed_cost), SUM(r.billed_cost_pico) FROM focus_rows r " +
                              join + " GROUP BY " + group_sql,
                          params);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  if (!rows.ok()) return out;
  for (const auto& row : *rows) {
    out[row.Text(0)] = FormatPicos(JoinPicos(row.Int(1), row.Int(2)), 12);
  }
  return out;
}

// A join that names a dictionary-encoded column's text "d.value".
std::string Dict(const std::string& column) {
  return "LEFT JOIN focus_dict d ON d.id = r." + column;
}

int64_t Count(ledger::Db& db, const std::string& table) {
  auto rows = db.QueryAll("SELECT COUNT(*) FROM " + table);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  return rows.ok() ? rows->at(0).Int(0) : -1;
}

// The sample with line `line_no`'s BilledCost (2nd field) replaced by `value`.
std::string BreakLine(const std::string& content, int line_no, const std::string& value) {
  std::istringstream in(content);
  std::string line, out;
  int n = 0;
  while (std::getline(in, line)) {
    if (++n == line_no) {
      size_t p = line.find(',');
      size_t q = line.find(',', p + 1);
      line = line.substr(0, p + 1).append(value).append(line, q);
    }
    out += line + "\n";
  }
  return out;
}

void Gzip(const std::string& content, const std::string& path) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
  gzclose(f);
}

TEST_P(FocusStoreTest, SampleTotalsEqualPythonDecimalSums) {
  BURSAR_FINOPS_TEST_DB(db);
  auto result = ImportFocusFile(db, SamplePath(), {});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows, 1000);
  EXPECT_EQ(result->version, FocusVersion::k1_0);
  EXPECT_FALSE(result->already_imported);
  EXPECT_EQ(Count(db, "focus_rows"), 1000);

  auto by_service = PythonTotals(SamplePath(), "col", "ServiceName");
  ASSERT_GT(by_service.size(), 20u);
  EXPECT_EQ(SqlTotals(db, "COALESCE(d.value, '')", Dict("service_name")), by_service);
  auto by_provider = PythonTotals(SamplePath(), "col", "ProviderName");
  ASSERT_EQ(by_provider.size(), 3u);  // AWS, Microsoft, Oracle
  EXPECT_EQ(SqlTotals(db, "COALESCE(d.value, '')", Dict("provider_name")), by_provider);
  auto by_unit = PythonTotals(SamplePath(), "tag", "business_unit");
  ASSERT_GT(by_unit.size(), 5u);
  EXPECT_EQ(SqlTotals(db, "COALESCE(t.tag_value, '')",
                      "LEFT JOIN focus_tagset_tags t ON t.tagset_id = r.tagset_id AND "
                      "t.tag_key = $1",
                      {std::string("business_unit")}),
            by_unit);
  // " org" and "org" are one tag key after trimming.
  auto by_org = PythonTotals(SamplePath(), "tag", "org");
  EXPECT_EQ(SqlTotals(db, "COALESCE(t.tag_value, '')",
                      "LEFT JOIN focus_tagset_tags t ON t.tagset_id = r.tagset_id AND "
                      "t.tag_key = $1",
                      {std::string("org")}),
            by_org);
  auto grand = PythonTotals(SamplePath(), "all", "");
  EXPECT_EQ(FormatPicos(result->billed_cost, 12), grand[""]);
  // Credits stay negative.
  auto credits = db.QueryAll(
      "SELECT r.billed_cost, r.billed_cost_pico FROM focus_rows r JOIN focus_dict d ON d.id = "
      "r.charge_category WHERE d.value = 'Credit'");
  ASSERT_TRUE(credits.ok());
  ASSERT_EQ(credits->size(), 1u);
  EXPECT_EQ(FormatPicos(JoinPicos((*credits)[0].Int(0), (*credits)[0].Int(1)), 2), "-2.6137");
}

// A ledger written by an older build (migration 1: dictionary ids inline in focus_rows) reads the
// same through the focus_rows view after the later migrations, its rollup is backfilled, and new
// imports go on from there.
TEST_P(FocusStoreTest, OlderLedgerRowsReadTheSameAfterTheMigrations) {
  BURSAR_FINOPS_TEST_DB(db);
  std::vector<ledger::Migration> v1(FocusMigrations().begin(), FocusMigrations().begin() + 1);
  ASSERT_TRUE(ledger::ApplyMigrations(db, "focus", v1).ok());
  ASSERT_TRUE(db.ExecScript("INSERT INTO focus_dict (id, value) VALUES (1, 'AWS'), (2, 'EC2'), "
                            "(3, 'USD');\n"
                            "INSERT INTO focus_rows (import_id, line, provider_name, service_name, "
                            "billing_currency, billed_cost, billed_cost_pico, consumed_quantity, "
                            "charge_period_start) VALUES (99, 2, 1, 2, 3, 5, 7, '1.5', "
                            "86400000000), (99, 3, 1, NULL, 3, -2, 999999, NULL, 86400000001)")
                  .ok());
  ASSERT_TRUE(EnsureFocusSchema(db).ok());
  auto rows = db.QueryAll(
      "SELECT line, provider_name, service_name, billing_currency, billed_cost, billed_cost_pico, "
      "consumed_quantity, region_id FROM focus_rows ORDER BY line");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  const auto& a = (*rows)[0];
  const auto& b = (*rows)[1];
  EXPECT_EQ(a.Int(0), 2);
  EXPECT_EQ(a.Int(1), 1);
  EXPECT_EQ(a.Int(2), 2);
  EXPECT_EQ(a.Int(3), 3);
  EXPECT_EQ(a.Int(4), 5);
  EXPECT_EQ(a.Int(5), 7);
  EXPECT_EQ(a.Text(6), "1.5");
  EXPECT_TRUE(a.IsNull(7));
  EXPECT_EQ(b.Int(0), 3);
  EXPECT_TRUE(b.IsNull(2));
  EXPECT_EQ(b.Int(4), -2);
  EXPECT_EQ(b.Int(5), 999999);
  EXPECT_TRUE(b.IsNull(6));
  auto rollup = db.QueryAll(
      "SELECT day, service_name, billed_cost, billed_cost_pico, line_items FROM focus_rollup "
      "ORDER BY service_name");
  ASSERT_TRUE(rollup.ok()) << rollup.status().ToString();
  ASSERT_EQ(rollup->size(), 2u);
  EXPECT_EQ((*rollup)[0].Int(1), 0);  // no ServiceName
  EXPECT_EQ(JoinPicos((*rollup)[0].Int(2), (*rollup)[0].Int(3)), JoinPicos(-2, 999999));
  EXPECT_EQ((*rollup)[1].Int(0), 1);
  EXPECT_EQ((*rollup)[1].Int(4), 1);
  auto result = ImportFocusFile(db, SamplePath(), {});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(Count(db, "focus_rows"), 1002);
  EXPECT_EQ(Count(db,
                  "focus_rows r JOIN focus_dict d ON d.id = r.provider_name WHERE d.value = "
                  "'AWS'") -
                2,
            Count(db,
                  "focus_rows r JOIN focus_dict d ON d.id = r.provider_name WHERE d.value = "
                  "'AWS' AND r.import_id = " +
                      std::to_string(result->import_id)));
}

TEST_P(FocusStoreTest, OneBrokenRowRejectsTheFileAndLeavesTheLedgerAsItWas) {
  BURSAR_FINOPS_TEST_DB(db);
  std::string sample = ReadFile(SamplePath());
  std::string first = Temp("first.csv");
  WriteFile(first, BreakLine(sample, 3, "0.5"));  // a different file, imported fine
  ASSERT_TRUE(ImportFocusFile(db, first, {}).ok());
  int64_t rows = Count(db, "focus_rows"), imports = Count(db, "focus_imports"),
          tagsets = Count(db, "focus_tagsets"), tags = Count(db, "focus_tagset_tags"),
          dict = Count(db, "focus_dict");
  std::string broken = Temp("focus.csv");
  WriteFile(broken, BreakLine(sample, 123, "\"12,5\""));
  auto result = ImportFocusFile(db, broken, {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(result.status().message(),
            "focus.csv:123: column BilledCost: \"12,5\" is not a decimal");
  EXPECT_EQ(Count(db, "focus_rows"), rows);
  EXPECT_EQ(Count(db, "focus_imports"), imports);
  EXPECT_EQ(Count(db, "focus_tagsets"), tagsets);
  EXPECT_EQ(Count(db, "focus_tagset_tags"), tags);
  EXPECT_EQ(Count(db, "focus_dict"), dict);
}

TEST_P(FocusStoreTest, SkippedRowsLeaveTheirNeighboursIntact) {
  // Rows are added one row behind the parsing (focus_store.cc): bad rows next to each other and
  // around the reader's batch boundaries must leave every other row exactly as a clean import.
  BURSAR_FINOPS_TEST_DB(db);
  const std::string sample = ReadFile(SamplePath());
  std::string clean = Temp("clean.csv");
  WriteFile(clean, sample);
  ASSERT_TRUE(ImportFocusFile(db, clean, {}).ok());
  std::string broken = sample;
  for (int line : {2, 256, 257, 258, 513, 1001}) broken = BreakLine(broken, line, "x");
  std::string path = Temp("holes.csv");
  WriteFile(path, broken);
  ImportOptions options;
  options.skip_bad_rows = true;
  auto result = ImportFocusFile(db, path, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows, 994);
  EXPECT_EQ(result->skipped, 6);
  auto same = db.QueryAll(
      "SELECT COUNT(*) FROM focus_rows a JOIN focus_rows b ON b.line = a.line AND "
      "b.import_id = $1 AND a.import_id <> $1 AND a.billed_cost = b.billed_cost AND "
      "a.billed_cost_pico = b.billed_cost_pico AND a.charge_period_start = "
      "b.charge_period_start AND a.tagset_id IS NOT DISTINCT FROM b.tagset_id AND "
      "a.resource_id IS NOT DISTINCT FROM b.resource_id AND a.service_name = b.service_name AND "
      "a.charge_description IS NOT DISTINCT FROM b.charge_description",
      {result->import_id});
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->at(0).Int(0), 994);
}

TEST_P(FocusStoreTest, SkipBadRowsLoadsTheRestAndListsTheSkipped) {
  BURSAR_FINOPS_TEST_DB(db);
  std::string path = Temp("skips.csv");
  WriteFile(path, BreakLine(BreakLine(ReadFile(SamplePath()), 10, "abc"), 700, "1.2.3"));
  ImportOptions options;
  options.skip_bad_rows = true;
  auto result = ImportFocusFile(db, path, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows, 998);
  EXPECT_EQ(result->skipped, 2);
  ASSERT_EQ(result->skipped_rows.size(), 2u);
  EXPECT_EQ(result->skipped_rows[0].line, 10);
  EXPECT_EQ(result->skipped_rows[0].error,
            "skips.csv:10: column BilledCost: \"abc\" is not a decimal");
  EXPECT_EQ(result->skipped_rows[1].line, 700);
  EXPECT_EQ(Count(db, "focus_rows"), 998);
  auto lines = db.QueryAll("SELECT COUNT(*) FROM focus_rows WHERE line IN (10, 700)");
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(lines->at(0).Int(0), 0);
}

TEST_P(FocusStoreTest, ReimportIsIdempotentWhateverTheNameOrCompression) {
  BURSAR_FINOPS_TEST_DB(db);
  auto first = ImportFocusFile(db, SamplePath(), {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  int64_t tagsets = Count(db, "focus_tagsets");
  auto again = ImportFocusFile(db, SamplePath(), {});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->already_imported);
  EXPECT_EQ(again->import_id, first->import_id);
  EXPECT_EQ(again->sha256, first->sha256);
  std::string gz = Temp("renamed.csv.gz");
  Gzip(ReadFile(SamplePath()), gz);
  auto zipped = ImportFocusFile(db, gz, {});
  ASSERT_TRUE(zipped.ok()) << zipped.status().ToString();
  EXPECT_TRUE(zipped->already_imported);
  EXPECT_EQ(Count(db, "focus_rows"), 1000);
  EXPECT_EQ(Count(db, "focus_imports"), 1);
  EXPECT_EQ(Count(db, "focus_tagsets"), tagsets);
}

// SQLite: an import with no other connection open runs with a rollback journal and leaves the
// ledger in WAL mode; with another connection open (a gateway) it stays in WAL mode and still
// loads everything, visible to that connection.
TEST(FocusStoreSqliteTest, BulkJournalOnlyWhenAloneAndWalAfterwards) {
  auto holder = testing::TestDb::Make(Backend::kSqlite);
  ledger::Db& db = holder->db();
  auto mode = [](ledger::Db& d) { return d.QueryAll("PRAGMA journal_mode")->at(0).Text(0); };
  auto alone = ImportFocusFile(db, SamplePath(), {});
  ASSERT_TRUE(alone.ok()) << alone.status().ToString();
  EXPECT_EQ(mode(db), "wal");
  EXPECT_EQ(db.QueryAll("SELECT COUNT(*) FROM focus_rows")->at(0).Int(0), 1000);

  auto other = ledger::OpenDatabase(holder->url());  // e.g. a running gateway's connection
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ASSERT_TRUE((*other)->QueryAll("SELECT COUNT(*) FROM focus_imports").ok());
  std::string copy = (std::filesystem::path(holder->url()) / "second.csv").string();
  std::string text = testing::ReadFile(SamplePath());
  testing::WriteFile(copy, text + text.substr(text.find('\n') + 1));  // other bytes, 2000 rows
  auto shared = ImportFocusFile(db, copy, {});
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  EXPECT_EQ(shared->rows, 2000);
  EXPECT_EQ(mode(**other), "wal");
  EXPECT_EQ((*other)->QueryAll("SELECT COUNT(*) FROM focus_rows")->at(0).Int(0), 3000);
}

TEST_P(FocusStoreTest, ImportsGzip) {
  BURSAR_FINOPS_TEST_DB(db);
  std::string gz = Temp("sample.csv.gz");
  Gzip(ReadFile(SamplePath()), gz);
  auto result = ImportFocusFile(db, gz, {});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows, 1000);
  EXPECT_EQ(SqlTotals(db, "COALESCE(d.value, '')", Dict("provider_name")),
            PythonTotals(SamplePath(), "col", "ProviderName"));
}

TEST_P(FocusStoreTest, StoresQuirksNormalisedWithRawKept) {
  BURSAR_FINOPS_TEST_DB(db);
  std::string path = Temp("quirks.csv");
  WriteFile(path,
            "ServiceProviderName,BilledCost,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,"
            "ServiceName,ChargeCategory,ServiceCategory,Tags,x_CostCenter\r\n"
            "Amazon Web Services,-0.00000764078,2025-03-01T23:30:00-01:00,2025-03-02T01:30:00Z,"
            "USD,S3,refund,storage,\"{\"\" team \"\": \"\"ml\"\"}\",cc1\r\n"
            "AWS,0.1,2025-03-02 00:30:00,2025-03-02 01:30:00,USD,S3,Usage,Storage,"
            "\"{\"\"team\"\": \"\"ml\"\"}\",NULL\r\n");
  auto result = ImportFocusFile(db, path, {});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->version, FocusVersion::k1_2);
  auto rows = db.QueryAll(
      "SELECT p.value, c.value, s.value, r.charge_period_start, r.raw, r.extra, r.tagset_id, "
      "r.billed_cost, r.billed_cost_pico FROM focus_rows r JOIN focus_dict p ON p.id = "
      "r.provider_name JOIN focus_dict c ON c.id = r.charge_category JOIN focus_dict s ON s.id = "
      "r.service_category ORDER BY r.line");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  const auto& a = (*rows)[0];
  EXPECT_EQ(a.Text(0), "AWS");
  EXPECT_EQ(a.Text(1), "Credit");
  EXPECT_EQ(a.Text(2), "Storage");
  EXPECT_EQ(a.Int(3), (*rows)[1].Int(3));  // 23:30-01:00 == 00:30Z
  EXPECT_EQ(a.Text(4),
            "{\"ChargeCategory\":\"refund\",\"ServiceProviderName\":\"Amazon Web Services\","
            "\"ServiceCategory\":\"storage\"}");
  EXPECT_EQ(a.Text(5), "{\"x_CostCenter\":\"cc1\"}");
  EXPECT_TRUE((*rows)[1].IsNull(5));
  EXPECT_EQ(a.Int(6), (*rows)[1].Int(6));  // " team " and "team": one tag set
  EXPECT_EQ(FormatPicos(JoinPicos(a.Int(7), a.Int(8)), 0), "-0.00000764078");
}

INSTANTIATE_TEST_SUITE_P(Backends, FocusStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::BackendName);

}  // namespace
}  // namespace bursar::finops
