#include "finops/flat_map.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bursar::finops {
namespace {

TEST(FlatTextMap, FindsWhatWasInsertedAcrossGrowth) {
  FlatTextMap m;
  for (int i = 0; i < 5000; ++i) m.Insert("value-" + std::to_string(i), int64_t{i} * 7);
  EXPECT_EQ(m.size(), 5000u);
  for (int i = 0; i < 5000; ++i) {
    const int64_t* v = m.Find("value-" + std::to_string(i));
    ASSERT_NE(v, nullptr) << i;
    EXPECT_EQ(*v, i * 7);
  }
  EXPECT_EQ(m.Find("value-5000"), nullptr);
  EXPECT_EQ(m.Find(""), nullptr);
  m.Insert("", -1);
  ASSERT_NE(m.Find(""), nullptr);
  EXPECT_EQ(*m.Find(""), -1);
}

TEST(FlatTupleMap, AbsentAndEmptyAndLongTextsAreDistinct) {
  FlatTupleMap m(2);
  TupleKey key;
  auto find = [&](std::vector<std::string_view> t, std::vector<uint8_t> p, int64_t* out) {
    key.Set(t.data(), p.data(), 3);
    return m.Find(key, out);
  };
  auto insert = [&](std::vector<std::string_view> t, std::vector<uint8_t> p, int64_t a, int64_t b) {
    int64_t ids[2] = {a, b};
    key.Set(t.data(), p.data(), 3);
    return m.Insert(key, ids);
  };
  EXPECT_TRUE(insert({"a", "", "bc"}, {1, 0, 1}, 1, 2));
  EXPECT_TRUE(insert({"a", "", "bc"}, {1, 1, 1}, 3, 4));  // empty text, not absent
  EXPECT_TRUE(insert({"ab", "", "c"}, {1, 0, 1}, 5, 6));  // same bytes, other split
  int64_t out[2] = {0, 0};
  ASSERT_TRUE(find({"a", "", "bc"}, {1, 0, 1}, out));
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[1], 2);
  ASSERT_TRUE(find({"a", "", "bc"}, {1, 1, 1}, out));
  EXPECT_EQ(out[0], 3);
  ASSERT_TRUE(find({"ab", "", "c"}, {1, 0, 1}, out));
  EXPECT_EQ(out[1], 6);
  EXPECT_FALSE(find({"a", "", "b"}, {1, 0, 1}, out));
  // Entries are compact: values beyond int32 and texts of 64 KiB are not stored.
  EXPECT_FALSE(insert({"x", "", ""}, {1, 0, 0}, int64_t{1} << 40, 1));
  std::string big(70000, 'z');
  EXPECT_FALSE(insert({big, "", ""}, {1, 0, 0}, 1, 1));
  EXPECT_FALSE(find({big, "", ""}, {1, 0, 0}, out));
  std::string edge(0xFFFF, 'q');  // as long as the "absent" marker
  EXPECT_FALSE(find({"a", edge, "bc"}, {1, 1, 1}, out));
  EXPECT_EQ(m.size(), 3u);
}

TEST(FlatTupleMap, ManyTuplesSurviveGrowth) {
  FlatTupleMap m(1);
  TupleKey key;
  std::vector<std::string> keys;
  keys.reserve(3000);
  for (int i = 0; i < 3000; ++i) keys.push_back("resource-" + std::to_string(i));
  uint8_t p[2] = {1, 1};
  for (int i = 0; i < 3000; ++i) {
    std::string_view t[2] = {keys[i], "USD"};
    int64_t id = i;
    ASSERT_TRUE(key.Set(t, p, 2));
    ASSERT_TRUE(m.Insert(key, &id));
  }
  for (int i = 0; i < 3000; ++i) {
    std::string_view t[2] = {keys[i], "USD"};
    int64_t id = -1;
    ASSERT_TRUE(key.Set(t, p, 2));
    ASSERT_TRUE(m.Find(key, &id)) << i;
    EXPECT_EQ(id, i);
  }
}

}  // namespace
}  // namespace bursar::finops
