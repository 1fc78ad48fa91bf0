#include "ledger/spend_log.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <thread>

#include "ledger/ledger_test_util.h"

namespace bursar::ledger {
namespace {

std::vector<std::string> ReadAll(const std::string& path, SpendLog::ReadStats* stats = nullptr) {
  std::vector<std::string> out;
  auto s = SpendLog::ReadSegment(path, [&](std::string_view p) {
    out.emplace_back(p);
    return OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (stats && s.ok()) *stats = *s;
  return out;
}

class SpendLogTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir(); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(SpendLogTest, AppendsAreReadBackInOrder) {
  auto log = SpendLog::Open({dir_, true});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  uint64_t seg = 0;
  ASSERT_TRUE((*log)->Append("one", &seg).ok());
  ASSERT_TRUE((*log)->Append("two").ok());
  EXPECT_EQ(seg, (*log)->current_segment());
  EXPECT_EQ((*log)->Append("new\nline").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadAll((*log)->SegmentPath(seg)), (std::vector<std::string>{"one", "two"}));
}

TEST_F(SpendLogTest, TornLastLineAndCorruptLinesAreSkipped) {
  std::string path;
  {
    auto log = SpendLog::Open({dir_, false});
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append("good-1").ok());
    ASSERT_TRUE((*log)->Append("good-2").ok());
    path = (*log)->SegmentPath((*log)->current_segment());
  }
  {
    std::ofstream out(path, std::ios::app | std::ios::binary);
    std::string bad = SpendLog::Frame("flipped");
    bad[10] ^= 1;  // payload no longer matches its CRC
    out << bad << SpendLog::Frame("good-3") << "zz not a frame\n";
    std::string torn = SpendLog::Frame("torn-by-kill-9");
    out << torn.substr(0, torn.size() - 4);  // no newline: a torn write
  }
  SpendLog::ReadStats stats;
  EXPECT_EQ(ReadAll(path, &stats), (std::vector<std::string>{"good-1", "good-2", "good-3"}));
  EXPECT_EQ(stats.records, 3);
  EXPECT_EQ(stats.skipped, 3);
}

TEST_F(SpendLogTest, ReopenStartsANewSegmentAndListsOldOnes) {
  uint64_t first = 0;
  {
    auto log = SpendLog::Open({dir_, false});
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append("a", &first).ok());
  }
  {
    auto log = SpendLog::Open({dir_, false});
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->existing_segments(), std::vector<uint64_t>{first});
    EXPECT_GT((*log)->current_segment(), first);
    // Closing with nothing appended leaves no empty segment behind.
  }
  auto log = SpendLog::Open({dir_, false});
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->existing_segments(), std::vector<uint64_t>{first});
  EXPECT_TRUE((*log)->DeleteSegment(first).ok());
  EXPECT_FALSE(std::filesystem::exists((*log)->SegmentPath(first)));
  EXPECT_EQ((*log)->DeleteSegment((*log)->current_segment()).code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(SpendLogTest, OneProcessPerFolder) {
  auto first = SpendLog::Open({dir_, false});
  ASSERT_TRUE(first.ok());
  // flock locks belong to the open file description: a second open conflicts like a process.
  EXPECT_EQ(SpendLog::Open({dir_, false}).status().code(), StatusCode::kFailedPrecondition);
  first->reset();
  EXPECT_TRUE(SpendLog::Open({dir_, false}).ok());
}

TEST_F(SpendLogTest, RotateCountsRecordsAndMovesOn) {
  auto log = SpendLog::Open({dir_, false});
  ASSERT_TRUE(log.ok());
  uint64_t s1 = 0, s2 = 0;
  ASSERT_TRUE((*log)->Append("a", &s1).ok());
  ASSERT_TRUE((*log)->Append("b").ok());
  auto closed = (*log)->Rotate();
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->segment, s1);
  EXPECT_EQ(closed->records, 2);
  ASSERT_TRUE((*log)->Append("c", &s2).ok());
  EXPECT_EQ(s2, s1 + 1);
  EXPECT_EQ(ReadAll((*log)->SegmentPath(s2)), std::vector<std::string>{"c"});
  (*log)->Close();
  EXPECT_EQ((*log)->Append("d").code(), StatusCode::kFailedPrecondition);
}

// Many threads append at once while another rotates: every acknowledged payload is in exactly
// one segment, in the segment Append reported, and each rotation counts its segment exactly.
// With fdatasync the appends are batched by group commit; without, each writes outside the lock.
void ManyThreadsLoseNothing(const std::string& dir_, bool sync) {
  auto opened = SpendLog::Open({dir_, sync});
  ASSERT_TRUE(opened.ok());
  SpendLog& log = **opened;
  constexpr int kThreads = 16, kPerThread = 300;
  std::vector<std::vector<std::pair<std::string, uint64_t>>> acked(kThreads);
  std::atomic<bool> done{false};
  std::vector<SpendLog::Closed> rotations;
  std::thread rotator([&] {
    while (!done.load()) {
      auto c = log.Rotate();
      if (c.ok()) rotations.push_back(*c);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string p = "t" + std::to_string(t) + "-" + std::to_string(i);
        uint64_t seg = 0;
        if (log.Append(p, &seg).ok()) acked[t].emplace_back(p, seg);
      }
    });
  }
  for (auto& th : threads) th.join();
  done = true;
  rotator.join();
  log.Close();

  std::map<std::string, uint64_t> where;
  int64_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with("spend-")) continue;  // spend.lock
    uint64_t seg = std::stoull(name.substr(6, 20));
    SpendLog::ReadStats st;
    for (const std::string& p : ReadAll(entry.path().string(), &st)) {
      EXPECT_TRUE(where.emplace(p, seg).second) << "duplicate " << p;
    }
    EXPECT_EQ(st.skipped, 0);
    total += st.records;
  }
  EXPECT_EQ(total, kThreads * kPerThread);
  for (const auto& list : acked) {
    ASSERT_EQ(list.size(), static_cast<size_t>(kPerThread));
    for (const auto& [p, seg] : list) EXPECT_EQ(where[p], seg) << p;
  }
  for (const auto& r : rotations) {
    int64_t n = 0;
    for (const auto& [p, seg] : where) n += seg == r.segment;
    EXPECT_EQ(n, r.records) << "segment " << r.segment;
  }
}

TEST_F(SpendLogTest, GroupCommitUnderManyThreadsLosesNothing) {
  ManyThreadsLoseNothing(dir_, true);
}

TEST_F(SpendLogTest, UnsyncedAppendsUnderManyThreadsLoseNothing) {
  ManyThreadsLoseNothing(dir_, false);
}

}  // namespace
}  // namespace bursar::ledger
