// Scalar syntaxes: durations, Kubernetes quantities, names, hashes, secrets, URLs, time zones.
#include "config/syntax.h"

#include <gtest/gtest.h>

#include "config/yaml_tree.h"

namespace bursar::config {
namespace {

TEST(DurationTest, ParsesUnitsAndSums) {
  EXPECT_EQ(*ParseDuration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(*ParseDuration("30s"), std::chrono::seconds(30));
  EXPECT_EQ(*ParseDuration("5m"), std::chrono::minutes(5));
  EXPECT_EQ(*ParseDuration("1h"), std::chrono::hours(1));
  EXPECT_EQ(*ParseDuration("1h30m"), std::chrono::minutes(90));
  EXPECT_EQ(*ParseDuration("0s"), std::chrono::milliseconds(0));
  EXPECT_EQ(*ParseDuration("8784h"), std::chrono::hours(8784));  // 366 days
}

TEST(DurationTest, RejectsMalformed) {
  for (const char* bad : {"", "30", "s", "1.5s", "-1s", "1d", "1 s", "1S", "10x", "8785h",
                          "99999999999999999999ms", "1h-"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
}

TEST(QuantityTest, CpuInMillicores) {
  EXPECT_EQ(*ParseQuantity("500m", 3), 500);
  EXPECT_EQ(*ParseQuantity("2", 3), 2000);
  EXPECT_EQ(*ParseQuantity("1.5", 3), 1500);
  EXPECT_EQ(*ParseQuantity("0.1", 3), 100);
  EXPECT_EQ(*ParseQuantity("1e3", 3), 1'000'000);
  EXPECT_EQ(*ParseQuantity("+4", 3), 4000);
  EXPECT_FALSE(ParseQuantity("1.0005", 3).ok());  // finer than 1m
  EXPECT_FALSE(ParseQuantity("100u", 3).ok());
}

TEST(QuantityTest, MemoryInBytes) {
  EXPECT_EQ(*ParseQuantity("1Gi", 0), int64_t{1} << 30);
  EXPECT_EQ(*ParseQuantity("1.5Gi", 0), int64_t{3} << 29);
  EXPECT_EQ(*ParseQuantity("512Mi", 0), int64_t{512} << 20);
  EXPECT_EQ(*ParseQuantity("100M", 0), 100'000'000);
  EXPECT_EQ(*ParseQuantity("128974848", 0), 128'974'848);
  EXPECT_EQ(*ParseQuantity("129e6", 0), 129'000'000);
  EXPECT_EQ(*ParseQuantity("1Ti", 0), int64_t{1} << 40);
  EXPECT_EQ(*ParseQuantity("0", 0), 0);
  EXPECT_EQ(*ParseQuantity("1k", 0), 1000);
  EXPECT_EQ(*ParseQuantity("1Ki", 0), 1024);
}

TEST(QuantityTest, RejectsMalformedAndOverflow) {
  for (const char* bad : {"", "-1", "1GB", "1gi", "Gi", "1..5", "1e", "1e+", "0x10", "1 Gi",
                          "1.5.2", "8Ei", "99999999999999999999", "1e100", "m"}) {
    EXPECT_FALSE(ParseQuantity(bad, 0).ok()) << bad;
  }
  EXPECT_FALSE(ParseQuantity("0.5", 0).ok());  // half a GPU / byte
}

TEST(SyntaxTest, EnvNames) {
  EXPECT_TRUE(IsValidEnvName("OPENAI_API_KEY"));
  EXPECT_TRUE(IsValidEnvName("_x1"));
  EXPECT_FALSE(IsValidEnvName(""));
  EXPECT_FALSE(IsValidEnvName("1KEY"));
  EXPECT_FALSE(IsValidEnvName("openai-key"));
  EXPECT_FALSE(IsValidEnvName("A B"));
}

TEST(SyntaxTest, KeyHash) {
  std::string hex(64, 'a');
  EXPECT_EQ(KeyHashHex("sha256:" + hex), hex);
  EXPECT_EQ(KeyHashHex("sha256:" + std::string(63, 'a')), "");
  EXPECT_EQ(KeyHashHex("sha256:" + std::string(64, 'A')), "");
  EXPECT_EQ(KeyHashHex("sha256:" + std::string(63, 'a') + "g"), "");
  EXPECT_EQ(KeyHashHex(hex), "");
}

TEST(SyntaxTest, SecretKinds) {
  EXPECT_NE(SecretKind("sk-proj-abcdefghijklmnop1234"), "");
  EXPECT_NE(SecretKind("sk-ant-api03-abcdefghijklmnopqrst").find("Anthropic"),
            std::string_view::npos);
  EXPECT_NE(SecretKind("AKIAIOSFODNN7EXAMPLE").find("AWS"), std::string_view::npos);
  EXPECT_NE(SecretKind("ghp_abcdefghijklmnopqrstuvwxyz0123456789"), "");
  EXPECT_NE(SecretKind("github_pat_11ABCDEFG0123456789abcdef"), "");
  EXPECT_NE(SecretKind("xoxb-123456789012-abcdef"), "");
  // Ordinary names that share a prefix are not secrets.
  EXPECT_EQ(SecretKind("sk-short"), "");
  EXPECT_EQ(SecretKind("gpt-4o-mini"), "");
  EXPECT_EQ(SecretKind("AKIA"), "");
  EXPECT_EQ(SecretKind("OPENAI_API_KEY"), "");
}

TEST(SyntaxTest, Urls) {
  EXPECT_TRUE(CheckUrl("https://api.openai.com/v1").ok());
  EXPECT_TRUE(CheckUrl("http://127.0.0.1:8080").ok());
  EXPECT_NE(CheckUrl("https://u:p@x.example/").message().find("credentials"), std::string::npos);
  EXPECT_NE(CheckUrl("https://token@x.example/").message().find("credentials"), std::string::npos);
  EXPECT_FALSE(CheckUrl("ftp://x.example").ok());
  EXPECT_FALSE(CheckUrl("api.openai.com").ok());
  EXPECT_FALSE(CheckUrl("https:///v1").ok());
  EXPECT_FALSE(CheckUrl("https://a b/").ok());
  EXPECT_TRUE(CheckUrl("https://x.example/p?q=a@b").ok());  // '@' after the host is not userinfo
}

TEST(SyntaxTest, TimeZonesAndRanges) {
  EXPECT_TRUE(TimeZoneExists("UTC"));
  EXPECT_TRUE(TimeZoneExists("Europe/Berlin"));
  EXPECT_TRUE(TimeZoneExists("America/New_York"));
  EXPECT_FALSE(TimeZoneExists("Europe/Atlantis"));
  EXPECT_FALSE(TimeZoneExists("../../etc/passwd"));
  EXPECT_FALSE(TimeZoneExists("/etc/passwd"));
  EXPECT_FALSE(TimeZoneExists("Europe"));  // a folder, not a zone
  EXPECT_TRUE(IsValidTimeRange("20:00-07:00"));
  EXPECT_TRUE(IsValidTimeRange("00:00-23:59"));
  EXPECT_FALSE(IsValidTimeRange("24:00-07:00"));
  EXPECT_FALSE(IsValidTimeRange("8:00-17:00"));
  EXPECT_FALSE(IsValidTimeRange("08:60-17:00"));
}

TEST(SyntaxTest, Names) {
  EXPECT_TRUE(IsValidName("gpt-4o-mini"));
  EXPECT_TRUE(IsValidName("openai/gpt-4.1:latest"));
  EXPECT_FALSE(IsValidName(""));
  EXPECT_FALSE(IsValidName("-x"));
  EXPECT_FALSE(IsValidName("x y"));
  EXPECT_FALSE(IsValidName(std::string(254, 'a')));
}

TEST(YamlTreeTest, PositionsQuotingAndAliases) {
  YamlFile f;
  YamlError e;
  ASSERT_TRUE(ParseYaml("a: 1\nb: \"1\"\nc: &x [p, q]\nd: *x\n---\n", &f, &e));
  ASSERT_EQ(f.documents.size(), 2u);
  const YamlNode& root = *f.documents[0];
  ASSERT_TRUE(root.IsMapping());
  ASSERT_EQ(root.entries.size(), 4u);
  EXPECT_EQ(root.entries[0].second->TypeName(), "number");
  EXPECT_EQ(root.entries[1].second->TypeName(), "string");
  EXPECT_EQ(root.entries[1].second->line, 2);
  EXPECT_EQ(root.entries[1].second->column, 4);
  EXPECT_EQ(root.entries[3].second, root.entries[2].second);  // alias shares the node
  EXPECT_TRUE(f.documents[1]->IsNull());
}

TEST(YamlTreeTest, ReportsSyntaxErrorPosition) {
  YamlFile f;
  YamlError e;
  EXPECT_FALSE(ParseYaml("a: [1, 2\n", &f, &e));
  EXPECT_EQ(e.line, 2);
  EXPECT_FALSE(e.message.empty());
  EXPECT_TRUE(f.documents.empty());
}

}  // namespace
}  // namespace bursar::config
