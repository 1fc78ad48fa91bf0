#include "common/status.h"

#include <gtest/gtest.h>

#include <memory>

namespace bursar {
namespace {

StatusOr<int> Half(int v) {
  if (v % 2 != 0) return InvalidArgumentError("odd: " + std::to_string(v));
  return v / 2;
}

StatusOr<int> Quarter(int v) {
  BURSAR_ASSIGN_OR_RETURN(int half, Half(v));
  BURSAR_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(Status, CarriesCodeAndMessage) {
  Status s = NotFoundError("no route \"chat\"");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "NOT_FOUND: no route \"chat\"");
  EXPECT_TRUE(OkStatus().ok());
}

TEST(StatusOr, PropagatesErrorsThroughMacros) {
  EXPECT_EQ(*Quarter(8), 2);
  StatusOr<int> bad = Quarter(6);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "odd: 3");
}

TEST(StatusOr, HoldsMoveOnlyValues) {
  StatusOr<std::unique_ptr<int>> p = std::make_unique<int>(7);
  ASSERT_TRUE(p.ok());
  std::unique_ptr<int> taken = std::move(p).value();
  EXPECT_EQ(*taken, 7);
}

}  // namespace
}  // namespace bursar
