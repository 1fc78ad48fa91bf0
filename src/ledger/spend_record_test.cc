#include "ledger/spend_record.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <utility>
#include <vector>

#include "ledger/ledger_test_util.h"

namespace bursar::ledger {
namespace {

TEST(SpendRecordTest, RoundTripsEveryField) {
  SpendRecord r = testing::MakeRecord("req-1", 1'700'000'000'123'456, 4'567);
  r.usage = Usage{1, 2, 3, 4, 5, 6, 7, 8, 9};
  r.saved_micros = 99;
  r.currency = "EUR";
  r.status = 429;
  r.cache_hit = true;
  r.downgraded_from = "chat-premium";
  r.tags["quote\"d"] = "line\nbreak";
  std::string line = EncodeSpendRecord(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  StatusOr<SpendRecord> back = DecodeSpendRecord(line);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, r);
}

// nlohmann::ordered_json is the reference for the hand-written line: the fields in the line's
// order, numbers and flags at their default (0, false, "") left out.
std::string ReferenceLine(const SpendRecord& r) {
  nlohmann::ordered_json j;
  j["request_id"] = r.request_id;
  j["time_us"] = r.time_us;
  j["key"] = r.key_name;
  j["tags"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : r.tags) j["tags"][k] = v;
  j["route"] = r.route;
  j["model"] = r.model;
  j["upstream_model"] = r.upstream_model;
  j["commit"] = r.commit;
  j["price"] = r.price;
  j["currency"] = r.currency;
  const Usage& u = r.usage;
  j["usage"] = nlohmann::ordered_json::object();
  for (const auto& [name, v] :
       std::vector<std::pair<std::string, int64_t>>{{"prompt_tokens", u.prompt_tokens},
                                                    {"cached_tokens", u.cached_tokens},
                                                    {"completion_tokens", u.completion_tokens},
                                                    {"reasoning_tokens", u.reasoning_tokens},
                                                    {"image_tokens", u.image_tokens},
                                                    {"images", u.images},
                                                    {"audio_input_tokens", u.audio_input_tokens},
                                                    {"audio_output_tokens", u.audio_output_tokens},
                                                    {"audio_millis", u.audio_millis}}) {
    if (v != 0) j["usage"][name] = v;
  }
  j["cost_micros"] = r.cost_micros;
  if (r.saved_micros != 0) j["saved_micros"] = r.saved_micros;
  j["latency_us"] = r.latency_us;
  j["status"] = r.status;
  if (r.cache_hit) j["cache_hit"] = true;
  if (!r.downgraded_from.empty()) j["downgraded_from"] = r.downgraded_from;
  return j.dump();
}

TEST(SpendRecordTest, EncodingIsTheJsonNlohmannWouldWrite) {
  SpendRecord r = testing::MakeRecord("req-\u00e9\t1", -7, 123);
  r.tags = {{"team", "a\"b"}, {"app", "caf\xc3\xa9"}};
  r.usage = Usage{10, 2, 30, 4, 5, 6, 7, 8, 9};
  r.saved_micros = -3;
  r.cache_hit = true;
  r.downgraded_from = "chat-premium";
  r.price = R"({"input_cost_per_token":150000})";
  EXPECT_EQ(EncodeSpendRecord(r), ReferenceLine(r));
  // Defaults left out, in the usage object too (none, the first, the last, one in between).
  for (Usage u : {Usage{}, Usage{19, 0, 0, 0, 0, 0, 0, 0, 0}, Usage{0, 0, 0, 0, 0, 0, 0, 0, 5},
                  Usage{0, 0, 9, 0, 0, 0, 0, 0, 0}, Usage{19, 0, 9, 0, 0, 0, 0, 0, 0}}) {
    SpendRecord z = testing::MakeRecord("req-z", 5, 0);
    z.usage = u;
    const std::string line = EncodeSpendRecord(z);
    EXPECT_EQ(line, ReferenceLine(z));
    StatusOr<SpendRecord> back = DecodeSpendRecord(line);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, z);
  }
}

TEST(SpendRecordTest, ConsecutiveRecordsReuseOnlyWhatRepeats) {
  // Each thread reuses the JSON of the last configuration fields it encoded: a change in any one
  // of them must show in the next line.
  SpendRecord a = testing::MakeRecord("req-a", 10, 1);
  a.tags = {{"team", "x"}};
  std::vector<SpendRecord> rs = {a};
  auto vary = [&](auto change) {
    SpendRecord r = rs.back();
    r.request_id += "+";
    change(r);
    rs.push_back(r);
  };
  vary([](SpendRecord& r) { r.cost_micros = 2; });
  vary([](SpendRecord& r) { r.key_name = "other-key"; });
  vary([](SpendRecord& r) { r.tags["team"] = "y"; });
  vary([](SpendRecord& r) { r.tags["app"] = "z"; });
  vary([](SpendRecord& r) { r.route = "r2"; });
  vary([](SpendRecord& r) { r.model = "m2"; });
  vary([](SpendRecord& r) { r.upstream_model = "u2"; });
  vary([](SpendRecord& r) { r.commit = "c2"; });
  vary([](SpendRecord& r) { r.price = "{}"; });
  vary([](SpendRecord& r) { r.currency = "EUR"; });
  vary([](SpendRecord& r) { r.tags.clear(); });
  rs.push_back(a);
  for (const SpendRecord& r : rs) {
    StatusOr<SpendRecord> back = DecodeSpendRecord(EncodeSpendRecord(r));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, r) << r.request_id;
  }
}

// The spend log's compact lines: a context line for each new set of configuration fields, record
// lines that refer to it, and a decoder that puts the two together again.
TEST(SpendRecordTest, LogLinesRoundTripThroughTheDecoder) {
  SpendRecord a = testing::MakeRecord("req-a", 10, 1);
  SpendRecord b = a;
  b.request_id = "req-b";
  b.usage.images = 2;
  SpendRecord c = a;  // other configuration fields
  c.request_id = "req-c";
  c.route = "r2";
  c.tags["app"] = "x\"y";
  SpendRecord d = a;  // back to a's: the thread still has their context
  d.request_id = "req-d";
  d.cache_hit = true;

  SpendLogDecoder decoder;
  std::vector<uint64_t> ids;
  std::set<uint64_t> given;  // what the log does: each context once, before its first record
  for (const SpendRecord& r : {a, b, c, d}) {
    SpendLogLines lines;
    EncodeSpendLogLines(r, &lines);
    ids.push_back(lines.context_id);
    EXPECT_EQ(lines.record.find("\"key\""), std::string::npos) << lines.record;
    EXPECT_EQ(lines.record.find("gpt-4o-mini"), std::string::npos) << lines.record;
    EXPECT_LT(lines.record.size(), EncodeSpendRecord(r).size() - 200);
    if (given.insert(lines.context_id).second) {
      StatusOr<std::optional<SpendRecord>> ctx = decoder.Decode(lines.context);
      ASSERT_TRUE(ctx.ok()) << ctx.status().ToString() << " " << lines.context;
      EXPECT_FALSE(ctx->has_value());
    }
    StatusOr<std::optional<SpendRecord>> back = decoder.Decode(lines.record);
    ASSERT_TRUE(back.ok()) << back.status().ToString() << " " << lines.record;
    ASSERT_TRUE(back->has_value());
    EXPECT_EQ(**back, r) << lines.record;
  }
  EXPECT_EQ(ids[0], ids[1]);
  EXPECT_NE(ids[1], ids[2]);
  EXPECT_EQ(ids[0], ids[3]);
  EXPECT_EQ(given.size(), 2u);

  // Full lines (older builds, exports) decode as they are.
  StatusOr<std::optional<SpendRecord>> full = decoder.Decode(EncodeSpendRecord(c));
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  ASSERT_TRUE(full->has_value());
  EXPECT_EQ(**full, c);
}

TEST(SpendRecordTest, LogContextsAreKeptPerThreadUpToTheLimit) {
  SpendRecord a = testing::MakeRecord("req-a", 10, 1);
  a.key_name = "limit-test-a";
  SpendLogLines lines;
  EncodeSpendLogLines(a, &lines);
  const uint64_t a_id = lines.context_id;
  std::set<uint64_t> others;
  for (size_t i = 0; i + 1 < kSpendLogContextsPerThread; ++i) {  // a stays among the last ones
    SpendRecord r = a;
    r.key_name = "limit-test-" + std::to_string(i);
    EncodeSpendLogLines(r, &lines);
    others.insert(lines.context_id);
  }
  EXPECT_EQ(others.size(), kSpendLogContextsPerThread - 1);
  EXPECT_EQ(others.count(a_id), 0u);
  EncodeSpendLogLines(a, &lines);
  EXPECT_EQ(lines.context_id, a_id);
  for (size_t i = 0; i < kSpendLogContextsPerThread; ++i) {  // now a is the least recent
    SpendRecord r = a;
    r.key_name = "limit-test-more-" + std::to_string(i);
    EncodeSpendLogLines(r, &lines);
  }
  EncodeSpendLogLines(a, &lines);
  EXPECT_NE(lines.context_id, a_id);  // a new number: its context line is written again
  SpendLogDecoder decoder;
  ASSERT_TRUE(decoder.Decode(lines.context).ok());
  StatusOr<std::optional<SpendRecord>> back = decoder.Decode(lines.record);
  ASSERT_TRUE(back.ok() && back->has_value()) << back.status().ToString();
  EXPECT_EQ(**back, a);
}

TEST(SpendRecordTest, LogDecoderRejectsARecordWithoutItsContext) {
  SpendLogLines lines;
  EncodeSpendLogLines(testing::MakeRecord("req-x", 10, 1), &lines);
  SpendLogDecoder fresh;  // a segment that does not hold the context line
  StatusOr<std::optional<SpendRecord>> r = fresh.Decode(lines.record);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("req-x"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(fresh.Decode(R"({"request_id":"a","ctx":-1})").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(fresh.Decode(R"({"request_id":"a","ctx":"1"})").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(fresh.Decode(R"({"ctx":1,"route":7})").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fresh.Decode(R"({"time_us":1})").status().code(), StatusCode::kInvalidArgument);
}

TEST(SpendRecordTest, InvalidUtf8StillEncodesAsJson) {
  SpendRecord r = testing::MakeRecord("bad-\xff", 1, 1);
  r.tags["k\xfe"] = "v\xc3";
  StatusOr<SpendRecord> back = DecodeSpendRecord(EncodeSpendRecord(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->request_id, "bad-\xEF\xBF\xBD");
  EXPECT_EQ(back->tags.at("k\xEF\xBF\xBD"), "v\xEF\xBF\xBD");
}

TEST(SpendRecordTest, ExtremeIntegersSurvive) {
  SpendRecord r = testing::MakeRecord("req-2", -5, INT64_MAX);
  r.saved_micros = INT64_MIN;
  StatusOr<SpendRecord> back = DecodeSpendRecord(EncodeSpendRecord(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->cost_micros, INT64_MAX);
  EXPECT_EQ(back->saved_micros, INT64_MIN);
  EXPECT_EQ(back->time_us, -5);
}

TEST(SpendRecordTest, RejectsMalformed) {
  EXPECT_EQ(DecodeSpendRecord("{").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeSpendRecord("[]").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeSpendRecord(R"({"time_us":1})").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeSpendRecord(R"({"request_id":"a","cost_micros":1.5})").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeSpendRecord(R"({"request_id":"a","tags":{"t":1}})").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(DecodeSpendRecord(R"({"request_id":"a","future_field":[1]})").ok());
}

TEST(SpendRecordTest, SanitizeMakesTextValidUtf8WithoutNul) {
  SpendRecord r = testing::MakeRecord("ok-\xc3\xa9", 1, 1);
  EXPECT_TRUE(SpendRecordIsClean(r));
  EXPECT_FALSE(SanitizeSpendRecord(&r));
  using std::string_literals::operator""s;  // the literal holds a NUL: its length from the literal
  r.request_id = "bad-\xff-\0-\xed\xa0\x80-\xc0\xaf"s;
  r.tags["t\xfe"] = "v";
  EXPECT_FALSE(SpendRecordIsClean(r));
  EXPECT_TRUE(SanitizeSpendRecord(&r));
  EXPECT_TRUE(SpendRecordIsClean(r));
  EXPECT_EQ(r.request_id,
            "bad-\xEF\xBF\xBD--\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD-\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(r.tags.count("t\xEF\xBF\xBD"), 1u);
  // Long ASCII text (the 8-bytes-at-a-time path) with one NUL or one bad byte deep inside.
  r = testing::MakeRecord("req-0123456789-abcdef", 1, 1);
  EXPECT_TRUE(SpendRecordIsClean(r));
  r.request_id[13] = '\0';
  EXPECT_FALSE(SpendRecordIsClean(r));
  r.request_id[13] = '\x80';
  EXPECT_FALSE(SpendRecordIsClean(r));
  r.request_id[13] = '-';
  r.commit = std::string(40, 'a') + "\xc3\xa9";
  EXPECT_TRUE(SpendRecordIsClean(r));
}

TEST(SpendRecordTest, CleanCheckAfterACleanRecordLooksAtWhatDiffers) {
  const SpendRecord clean = testing::MakeRecord("req-1", 1, 1);
  ASSERT_TRUE(SpendRecordIsClean(clean));
  SpendRecord r = clean;
  r.request_id = "req-2";
  EXPECT_TRUE(SpendRecordIsClean(r, clean));
  r.request_id = "req-\xff";  // same configuration: the request id is still checked
  EXPECT_FALSE(SpendRecordIsClean(r, clean));
  r.request_id = "req-3";
  r.route = "route-\xff";  // another configuration: every text is checked
  EXPECT_FALSE(SpendRecordIsClean(r, clean));
  r.route = clean.route;
  r.tags["team"] = std::string("a\0b", 3);
  EXPECT_FALSE(SpendRecordIsClean(r, clean));
  r.tags = clean.tags;
  r.downgraded_from = "m\xc0";
  EXPECT_FALSE(SpendRecordIsClean(r, clean));
}

TEST(SpendRecordTest, CanonicalTagsAreOrderIndependent) {
  std::map<std::string, std::string> a = {{"team", "x"}, {"app", "y"}};
  EXPECT_EQ(CanonicalTagsJson(a), R"({"app":"y","team":"x"})");
  EXPECT_EQ(CanonicalTagsJson({}), "{}");
}

}  // namespace
}  // namespace bursar::ledger
