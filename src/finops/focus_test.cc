#include "finops/focus.h"

#include <gtest/gtest.h>

namespace bursar::finops {
namespace {

const char kHeader10[] =
    "BilledCost,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,ServiceName,ProviderName,"
    "ChargeCategory,Tags,x_Team\n";

struct Parsed {
  Status status;
  FocusSchema schema;
  FocusRow row;
  std::unique_ptr<CsvReader> reader;  // the row's text views point into its buffer
};

// Parses the header and the first data row of `csv`.
Parsed ParseFirst(const std::string& csv) {
  Parsed p;
  p.reader = std::make_unique<CsvReader>(MemorySource(csv), "focus.csv");
  CsvReader& r = *p.reader;
  EXPECT_TRUE(*r.Next());
  auto schema = DetectSchema(r);
  if (!schema.ok()) {
    p.status = schema.status();
    return p;
  }
  p.schema = *schema;
  EXPECT_TRUE(*r.Next());
  p.status = ParseFocusRow(r, p.schema, &p.row);
  return p;
}

const Cell& Col(const FocusRow& row, std::string_view sql) {
  const auto& names = StoredColumnNames();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == sql) return row.values[i];
  }
  ADD_FAILURE() << "no column " << sql;
  static Cell none;
  return none;
}

TEST(Focus, DetectsVersionFromHeaders) {
  auto v = [](const std::string& header) {
    CsvReader r(MemorySource(header + "\n"), "h.csv");
    EXPECT_TRUE(*r.Next());
    auto s = DetectSchema(r);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? s->version : FocusVersion::k1_0;
  };
  std::string base =
      "BilledCost,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,ServiceName,ChargeCategory";
  EXPECT_EQ(v(base + ",ProviderName"), FocusVersion::k1_0);
  EXPECT_EQ(v(base + ",ProviderName,SkuMeter,CapacityReservationId"), FocusVersion::k1_1);
  EXPECT_EQ(v(base + ",ServiceProviderName,HostProviderName,InvoiceId"), FocusVersion::k1_2);
  // 1.2 keeps the deprecated ProviderName beside ServiceProviderName: the new name wins.
  CsvReader r(MemorySource(base + ",ProviderName,ServiceProviderName\n"), "h.csv");
  ASSERT_TRUE(*r.Next());
  auto s = DetectSchema(r);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->index[FindFocusColumn("ServiceProviderName")], 7);
  ASSERT_EQ(s->extras.size(), 1u);
  EXPECT_EQ(s->extras[0].second, "ProviderName");
}

TEST(Focus, MissingRequiredColumnsAreNamedWithTheVersionsSpelling) {
  Parsed p = ParseFirst("BilledCost,ChargePeriodStart,ChargePeriodEnd,ServiceName\n1,x,y,z\n");
  EXPECT_EQ(p.status.message(),
            "focus.csv:1: not a FOCUS 1.0 header: missing required columns BillingCurrency, "
            "ChargeCategory, ProviderName");
  Parsed q = ParseFirst(
      "BilledCost,ChargePeriodStart,ChargePeriodEnd,ServiceName,BillingCurrency,ChargeCategory,"
      "InvoiceId\n");
  EXPECT_NE(q.status.message().find("FOCUS 1.2 header: missing required column "
                                    "ServiceProviderName"),
            std::string::npos)
      << q.status.message();
  Parsed dup = ParseFirst("BilledCost,billedcost\n");
  EXPECT_EQ(dup.status.message(), "focus.csv:1: column billedcost appears twice");
}

TEST(Focus, AnyColumnOrderAndQuirks) {
  // Columns shuffled, literal NULL, RFC 3339 with offset, odd tag keys, a credit, a spelling.
  Parsed p = ParseFirst(
      "Tags, ServiceName ,ChargeCategory,ProviderName,BillingCurrency,ChargePeriodEnd,"
      "ChargePeriodStart,BilledCost,ChargeFrequency,ServiceCategory,x_Team,Id\n"
      "\"{\"\" org\"\": \"\"a\"\", \"\"env \"\": 1}\",Amazon EC2,credit,Amazon Web Services,"
      "USD,2024-09-02T00:00:00+02:00,2024-09-01 22:00:00,-2.61370000000,Usage-based,AI/ML,"
      "core,NULL\n");
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  const FocusRow& row = p.row;
  EXPECT_EQ(Col(row, "service_name").s, "Amazon EC2");
  EXPECT_EQ(Col(row, "charge_category").s, "Credit");
  EXPECT_EQ(Col(row, "provider_name").s, "AWS");
  EXPECT_EQ(Col(row, "charge_frequency").s, "Usage-Based");
  EXPECT_EQ(Col(row, "service_category").s, "AI and Machine Learning");
  EXPECT_EQ(row.raw_json,
            "{\"ChargeCategory\":\"credit\",\"ChargeFrequency\":\"Usage-based\","
            "\"ProviderName\":\"Amazon Web Services\",\"ServiceCategory\":\"AI/ML\"}");
  EXPECT_EQ(row.billed_cost, -2'613'700'000'000);
  EXPECT_EQ(Col(row, "billed_cost").i, -2'613'700);
  EXPECT_EQ(Col(row, "billed_cost_pico").i, 0);
  // 22:00 UTC both ways: "YYYY-MM-DD HH:MM:SS" is UTC, the offset form is converted.
  EXPECT_EQ(Col(row, "charge_period_start").i, 1725228000LL * 1'000'000);
  EXPECT_EQ(Col(row, "charge_period_end").i, 1725228000LL * 1'000'000);
  EXPECT_EQ(Col(row, "effective_cost").type, Cell::kNull);  // missing
  EXPECT_EQ(row.extra_json, "{\"x_Team\":\"core\"}");       // Id was NULL: dropped
  auto tags = CanonicalTags(row.tags);
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(*tags, "{\"env\":\"1\",\"org\":\"a\"}");
}

TEST(Focus, BadValuesNameLineColumnAndValue) {
  std::string head = kHeader10;
  auto msg = [&](const std::string& row) { return ParseFirst(head + row).status.message(); };
  EXPECT_EQ(msg("\"12,5\",2024-01-01,2024-01-02,USD,S,AWS,Usage,NULL,\n"),
            "focus.csv:2: column BilledCost: \"12,5\" is not a decimal");
  EXPECT_EQ(msg("1,yesterday,2024-01-02,USD,S,AWS,Usage,NULL,\n"),
            "focus.csv:2: column ChargePeriodStart: \"yesterday\" is not a timestamp");
  EXPECT_EQ(msg("NULL,2024-01-01,2024-01-02,USD,S,AWS,Usage,NULL,\n"),
            "focus.csv:2: column BilledCost: \"NULL\" is required");
  EXPECT_EQ(msg("0.0000000000001,2024-01-01,2024-01-02,USD,S,AWS,Usage,NULL,\n"),
            "focus.csv:2: column BilledCost: \"0.0000000000001\" has more than 12 fraction "
            "digits");
  EXPECT_EQ(msg("1,2024-01-01,2024-01-02,USD\n"), "focus.csv:2: has 4 fields, the header has 9");
}

TEST(Focus, NormalisesKnownSpellingsOnly) {
  EXPECT_EQ(NormalizeEnum("charge_category", "USAGE"), "Usage");
  EXPECT_EQ(NormalizeEnum("charge_category", "Refund"), "Credit");
  EXPECT_EQ(NormalizeEnum("charge_frequency", "usage based"), "Usage-Based");
  EXPECT_EQ(NormalizeEnum("service_category", "management & governance"),
            "Management and Governance");
  EXPECT_EQ(NormalizeEnum("service_category", "Quantum"), "Quantum");
  EXPECT_EQ(NormalizeEnum("service_name", "compute"), "compute");  // free text untouched
  EXPECT_EQ(NormalizeProvider("Microsoft Azure"), "Microsoft");
}

TEST(Focus, CanonicalTags) {
  EXPECT_EQ(*CanonicalTags("{\"b\": \"2\", \" a \": \"1\", \"n\": null, \"t\": true}"),
            "{\"a\":\"1\",\"b\":\"2\",\"t\":\"true\"}");
  EXPECT_EQ(*CanonicalTags("{}"), "");
  EXPECT_FALSE(CanonicalTags("[1]").ok());
  EXPECT_FALSE(CanonicalTags("{bad").ok());
}

}  // namespace
}  // namespace bursar::finops
