#include "finops/read_ahead.h"

#include <gtest/gtest.h>

#include <string>

namespace bursar::finops {
namespace {

// Hands out at most 3 bytes per Read, then fails after `fail_at` bytes when set.
class SlowSource : public ByteSource {
 public:
  SlowSource(std::string data, size_t fail_at) : data_(std::move(data)), fail_at_(fail_at) {}
  StatusOr<size_t> Read(char* buf, size_t n) override {
    if (pos_ >= fail_at_) return UnavailableError("disk on fire");
    size_t k = std::min({n, size_t{3}, data_.size() - pos_, fail_at_ - pos_});
    data_.copy(buf, k, pos_);
    pos_ += k;
    return k;
  }

 private:
  std::string data_;
  size_t pos_ = 0;
  size_t fail_at_;
};

std::string Pattern(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + i % 26));
  return s;
}

TEST(ReadAheadTest, ReturnsEveryByteInOrderAndObservesThemFirst) {
  std::string data = Pattern(100'000);
  std::string observed;
  auto src = ReadAheadSource(
      std::make_unique<SlowSource>(data, std::string::npos),
      [&](std::string_view c) { observed.append(c); }, 1000, 2);
  std::string out;
  char buf[777];
  while (true) {
    auto got = src->Read(buf, sizeof buf);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    if (*got == 0) break;
    out.append(buf, *got);
  }
  EXPECT_EQ(out, data);
  EXPECT_EQ(observed, data);  // complete once the end was read
}

TEST(ReadAheadTest, ReportsTheErrorAfterTheBytesBeforeIt) {
  std::string data = Pattern(5000);
  auto src = ReadAheadSource(std::make_unique<SlowSource>(data, 2500), nullptr, 1000, 2);
  std::string out;
  char buf[64];
  Status error;
  while (true) {
    auto got = src->Read(buf, sizeof buf);
    if (!got.ok()) {
      error = got.status();
      break;
    }
    ASSERT_NE(*got, 0u);
    out.append(buf, *got);
  }
  EXPECT_EQ(out, data.substr(0, 2500));
  EXPECT_EQ(error.code(), StatusCode::kUnavailable);
}

TEST(ReadAheadTest, StopsWhenDestroyedEarly) {
  auto src = ReadAheadSource(std::make_unique<SlowSource>(Pattern(1 << 20), std::string::npos),
                             nullptr, 100, 2);
  char buf[10];
  ASSERT_TRUE(src->Read(buf, sizeof buf).ok());
  src.reset();  // must not hang
}

}  // namespace
}  // namespace bursar::finops
