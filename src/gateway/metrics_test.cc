#include "gateway/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace bursar::gateway {
namespace {

int64_t Count(const MetricsShard::Counters& m, const std::string& labels) {
  auto it = m.find(labels);
  return it == m.end() ? -1 : it->second;
}

TEST(MetricsShardTest, RequestsCountPerSeriesWhenLabelsAlternate) {
  MetricsShard shard;
  shard.RecordRequest("chat", "m1", 200, 100);
  shard.RecordRequest("chat", "m2", 200, 100);
  shard.RecordRequest("chat", "m1", 500, 100);
  shard.RecordRequest("chat", "m1", 200, 3000);
  shard.RecordRequest("chat2", "m1", 200, 100);
  shard.RecordRequest("chat", "m1", 200, 100);
  MetricsShard::Data d = shard.Copy();
  EXPECT_EQ(d.requests.size(), 4u);
  EXPECT_EQ(Count(d.requests, R"(route="chat",model="m1",status="200")"), 3);
  EXPECT_EQ(Count(d.requests, R"(route="chat",model="m2",status="200")"), 1);
  EXPECT_EQ(Count(d.requests, R"(route="chat",model="m1",status="500")"), 1);
  EXPECT_EQ(Count(d.requests, R"(route="chat2",model="m1",status="200")"), 1);
  ASSERT_EQ(d.latency.size(), 2u);
  const Histogram& h = d.latency.at(R"(route="chat")");
  EXPECT_EQ(h.count, 5);
  EXPECT_EQ(h.sum_us, 3400);
  EXPECT_EQ(h.buckets[0], 4);  // <= 0.5 ms
  EXPECT_EQ(h.buckets[3], 1);  // 3 ms: in (2.5 ms, 5 ms]
}

TEST(MetricsShardTest, UsageByModalityFollowsTheLabels) {
  MetricsShard shard;
  Usage a;
  a.prompt_tokens = 10;
  a.completion_tokens = 4;
  Usage b;
  b.prompt_tokens = 7;
  b.cached_tokens = 2;
  b.completion_tokens = 5;
  b.reasoning_tokens = 3;
  shard.RecordUsage("chat", "m1", a);
  shard.RecordUsage("chat", "m2", b);
  shard.RecordUsage("chat", "m1", b);  // a modality m1 had not seen yet
  shard.RecordUsage("chat", "m1", a);
  MetricsShard::Data d = shard.Copy();
  EXPECT_EQ(Count(d.tokens, R"(route="chat",model="m1",modality="text_input")"), 10 + 5 + 10);
  EXPECT_EQ(Count(d.tokens, R"(route="chat",model="m1",modality="cached_input")"), 2);
  EXPECT_EQ(Count(d.tokens, R"(route="chat",model="m1",modality="text_output")"), 4 + 2 + 4);
  EXPECT_EQ(Count(d.tokens, R"(route="chat",model="m1",modality="reasoning_output")"), 3);
  EXPECT_EQ(Count(d.tokens, R"(route="chat",model="m2",modality="text_input")"), 5);
  EXPECT_EQ(Count(d.tokens, R"(route="chat",model="m2",modality="cached_input")"), 2);
  EXPECT_EQ(Count(d.tokens, R"(route="chat",model="m2",modality="text_output")"), 2);
  EXPECT_EQ(Count(d.tokens, R"(route="chat",model="m2",modality="reasoning_output")"), 3);
  EXPECT_EQ(d.tokens.size(), 8u);
}

TEST(MetricsShardTest, CostByKeyRouteModel) {
  MetricsShard shard;
  shard.RecordCost("k1", "chat", "m1", 5);
  shard.RecordCost("k1", "chat", "m1", 7);
  shard.RecordCost("k2", "chat", "m1", 11);
  shard.RecordCost("k1", "chat", "m1", 13);
  shard.RecordCost("k1", "chat", "m", 1);  // a prefix of the last model is another series
  MetricsShard::Data d = shard.Copy();
  EXPECT_EQ(Count(d.cost, R"(key="k1",route="chat",model="m1")"), 25);
  EXPECT_EQ(Count(d.cost, R"(key="k2",route="chat",model="m1")"), 11);
  EXPECT_EQ(Count(d.cost, R"(key="k1",route="chat",model="m")"), 1);
  EXPECT_EQ(d.cost.size(), 3u);
}

TEST(MetricsTest, RenderMergesShardsAndEscapesLabels) {
  Metrics metrics;
  MetricsShard& s1 = metrics.AddShard();
  MetricsShard& s2 = metrics.AddShard();
  s1.RecordRequest("chat", "m\"1", 200, 100);
  s2.RecordRequest("chat", "m\"1", 200, 100);
  s2.RecordCost("k", "chat", "m\"1", 9);
  std::string text = metrics.Render(MetricsGauges{});
  EXPECT_NE(text.find("bursar_requests_total{route=\"chat\",model=\"m\\\"1\",status=\"200\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("bursar_cost_micros_total{key=\"k\",route=\"chat\",model=\"m\\\"1\"} 9\n"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace bursar::gateway
