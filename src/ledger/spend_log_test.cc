#include "ledger/spend_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
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

TEST(SpendLogFrameTest, CrcIsZlibCrc32AtEveryLength) {
  // The on-disk format names zlib's CRC-32; the frame computes it with ISA-L. zlib is the
  // reference, over lengths that exercise every tail of the 64-byte folding loop.
  std::string payload;
  uint32_t x = 12345;
  for (size_t n = 0; n <= 1100; ++n) {
    const uint32_t want = static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(n)));
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", want);
    const std::string line = SpendLog::Frame(payload);
    ASSERT_EQ(line.substr(0, 9), std::string(hex) + " ") << n;
    x = x * 1103515245 + 12345;
    payload.push_back(static_cast<char>(' ' + (x >> 16) % 95));
  }
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

TEST_F(SpendLogTest, PrefaultAheadMapsPagesBeforeTheAppendsReachThem) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  {  // MADV_POPULATE_WRITE is Linux 5.14+; before that PrefaultAhead does nothing
    void* p = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    const bool supported = ::madvise(p, page, MADV_POPULATE_WRITE) == 0;
    ::munmap(p, page);
    if (!supported) GTEST_SKIP() << "the kernel has no MADV_POPULATE_WRITE";
  }
  auto log = SpendLog::Open({dir_, false, size_t{1} << 20});
  ASSERT_TRUE(log.ok());
  // Records of a quarter page, made before counting so that only the appends can fault.
  std::vector<std::string> want;
  for (int i = 0; i < 64; ++i) {
    std::string r = "record-" + std::to_string(i);
    r.resize(page / 4 - 10, 'x');
    want.push_back(r);
  }
  auto faults = [] {
    rusage u{};
    ::getrusage(RUSAGE_THREAD, &u);
    return u.ru_minflt + u.ru_majflt;
  };
  // 32 records (8 pages) without prefaulting: the appends fault the pages in.
  long before = faults();
  for (int i = 0; i < 32; ++i) ASSERT_TRUE((*log)->Append(want[i]).ok());
  EXPECT_GE(faults() - before, 4);
  // The next 8 pages faulted in ahead: the appends that reach them take (almost) no fault.
  (*log)->PrefaultAhead(8 * page);
  before = faults();
  for (int i = 32; i < 64; ++i) ASSERT_TRUE((*log)->Append(want[i]).ok());
  EXPECT_LE(faults() - before, 1);
  // Every record reads back in order, and retiring the segment cut it to what was appended.
  const std::string path = (*log)->SegmentPath((*log)->current_segment());
  auto closed = (*log)->Rotate();
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->records, 64);
  SpendLog::ReadStats stats;
  EXPECT_EQ(ReadAll(path, &stats), want);
  EXPECT_EQ(stats.skipped, 0);
  EXPECT_EQ(std::filesystem::file_size(path), 64 * (page / 4));
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

// A context line goes into a segment once per thread, before the first record that refers to it,
// and again in the next segment; it is not counted as a record.
void ContextOncePerSegment(const std::string& dir_, bool sync) {
  auto log = SpendLog::Open({dir_, sync});
  ASSERT_TRUE(log.ok());
  const SpendLog::Context x{101, "ctx-x"}, y{102, "ctx-y"};
  uint64_t s1 = 0, s2 = 0;
  ASSERT_TRUE((*log)->Append("a", &s1, &x).ok());
  ASSERT_TRUE((*log)->Append("b", nullptr, &x).ok());
  ASSERT_TRUE((*log)->Append("c", nullptr, &y).ok());
  ASSERT_TRUE((*log)->Append("d", nullptr, &x).ok());  // x is still remembered
  ASSERT_TRUE((*log)->Append("e").ok());               // no context
  std::thread other([&] { ASSERT_TRUE((*log)->Append("f", nullptr, &x).ok()); });
  other.join();
  auto closed = (*log)->Rotate();
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->segment, s1);
  EXPECT_EQ(closed->records, 6);
  ASSERT_TRUE((*log)->Append("g", &s2, &x).ok());
  ASSERT_TRUE((*log)->Append("h", nullptr, &x).ok());
  EXPECT_EQ(s2, s1 + 1);
  EXPECT_EQ(ReadAll((*log)->SegmentPath(s1)),
            (std::vector<std::string>{"ctx-x", "a", "b", "ctx-y", "c", "d", "e", "ctx-x", "f"}));
  // A thread remembers its last 8 contexts: after 8 others, x is written again.
  std::vector<std::string> want2 = {"ctx-x", "g", "h"};
  for (uint64_t i = 0; i < 8; ++i) {
    const std::string name = "ctx-" + std::to_string(i);
    const SpendLog::Context other{200 + i, name};
    ASSERT_TRUE((*log)->Append("p" + std::to_string(i), nullptr, &other).ok());
    want2.push_back(name);
    want2.push_back("p" + std::to_string(i));
  }
  ASSERT_TRUE((*log)->Append("q", nullptr, &x).ok());
  want2.insert(want2.end(), {"ctx-x", "q"});
  EXPECT_EQ(ReadAll((*log)->SegmentPath(s2)), want2);
  const SpendLog::Context bad{103, "two\nlines"};
  EXPECT_EQ((*log)->Append("i", nullptr, &bad).code(), StatusCode::kInvalidArgument);
  const std::string s2_path = (*log)->SegmentPath(s2);
  log->reset();

  // A new log in the same process that numbers its segment as the old one's last (s2, deleted
  // after it was stored) does not trust the thread's memo of the old log.
  ASSERT_TRUE(std::filesystem::remove(s2_path));
  auto again = SpendLog::Open({dir_, sync});
  ASSERT_TRUE(again.ok());
  uint64_t s3 = 0;
  ASSERT_TRUE((*again)->Append("j", &s3, &x).ok());
  EXPECT_EQ(s3, s2);
  (*again)->Close();
  EXPECT_EQ(ReadAll((*again)->SegmentPath(s3)), (std::vector<std::string>{"ctx-x", "j"}));
}

TEST_F(SpendLogTest, ContextIsWrittenOncePerSegmentAndThread) {
  ContextOncePerSegment(dir_, false);
}

TEST_F(SpendLogTest, ContextIsWrittenOncePerSegmentAndThreadWithFsync) {
  ContextOncePerSegment(dir_, true);
}

// Many threads append at once while another rotates: every acknowledged payload is in exactly
// one segment, in the segment Append reported, and each rotation counts its segment exactly.
// With fdatasync the appends are batched by group commit; without, each writes outside the lock.
// With contexts, each thread's records refer to a context line of its own ("ctx-T"), which must
// be in the record's segment before it, and is not counted as a record.
void ManyThreadsLoseNothing(const std::string& dir_, bool sync, size_t map_bytes = 80 << 20,
                            bool contexts = false) {
  SpendLog::Options options{dir_, sync};
  options.map_bytes = map_bytes;
  auto opened = SpendLog::Open(options);
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
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string p = "t" + std::to_string(t) + "-" + std::to_string(i);
        const std::string ctx = "ctx-" + std::to_string(t);
        const SpendLog::Context context{static_cast<uint64_t>(1000 + t), ctx};
        uint64_t seg = 0;
        if (log.Append(p, &seg, contexts ? &context : nullptr).ok()) acked[t].emplace_back(p, seg);
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
    std::set<std::string> contexts_seen;
    int64_t context_lines = 0;
    for (const std::string& p : ReadAll(entry.path().string(), &st)) {
      if (p.starts_with("ctx-")) {
        EXPECT_TRUE(contexts) << p;
        EXPECT_TRUE(contexts_seen.insert(p).second) << p << " twice in segment " << seg;
        ++context_lines;
        continue;
      }
      EXPECT_TRUE(where.emplace(p, seg).second) << "duplicate " << p;
      if (contexts) {
        const std::string ctx = "ctx-" + p.substr(1, p.find('-') - 1);
        EXPECT_TRUE(contexts_seen.count(ctx)) << p << " before its " << ctx << " in " << seg;
      }
    }
    EXPECT_EQ(st.skipped, 0);
    total += st.records - context_lines;
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

// A mapping of 2 KB: most lines of a segment go past it, through pwrite at their offsets.
TEST_F(SpendLogTest, UnsyncedAppendsPastTheMappingLoseNothing) {
  ManyThreadsLoseNothing(dir_, false, 2048);
}

TEST_F(SpendLogTest, ContextsUnderManyThreadsAndRotationsLandInTheirRecordsSegment) {
  ManyThreadsLoseNothing(dir_, false, 80 << 20, true);
}

TEST_F(SpendLogTest, ContextsPastTheMappingLandInTheirRecordsSegment) {
  ManyThreadsLoseNothing(dir_, false, 2048, true);
}

TEST_F(SpendLogTest, ContextsWithGroupCommitLandInTheirRecordsSegment) {
  ManyThreadsLoseNothing(dir_, true, 80 << 20, true);
}

// The mapped log's promise: a record whose Append returned is in the file even when the process
// is killed right after, without Close (the file still has its preallocated NUL tail).
TEST_F(SpendLogTest, KilledProcessLeavesEveryAppendedRecord) {
  constexpr int kRecords = 5000;
  SpendLog::Options options{dir_, false};
  options.map_bytes = 1 << 20;
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto log = SpendLog::Open(options);
    if (!log.ok()) ::_exit(2);
    for (int i = 0; i < kRecords; ++i) {
      if (!(*log)->Append("{\"n\":" + std::to_string(i) + "}").ok()) ::_exit(3);
    }
    ::raise(SIGKILL);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited with " << WEXITSTATUS(wstatus);
  std::string path;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (entry.path().filename().string().starts_with("spend-")) path = entry.path().string();
  }
  ASSERT_FALSE(path.empty());
  EXPECT_EQ(std::filesystem::file_size(path), options.map_bytes);  // never trimmed
  SpendLog::ReadStats stats;
  std::vector<std::string> got = ReadAll(path, &stats);
  ASSERT_EQ(got.size(), static_cast<size_t>(kRecords));
  EXPECT_EQ(stats.skipped, 0);
  for (int i = 0; i < kRecords; ++i) EXPECT_EQ(got[i], "{\"n\":" + std::to_string(i) + "}");
}

// An append killed mid-copy leaves some of its bytes NUL; the records after it still count.
TEST_F(SpendLogTest, AppendCutOffMidCopyIsSkippedAndTheNextRecordKept) {
  for (size_t zero_from : {size_t{0}, size_t{4}, size_t{12}}) {
    std::string cut = SpendLog::Frame("{\"cut\":true}");
    for (size_t i = zero_from; i < cut.size(); i += 3) cut[i] = '\0';  // newline included
    std::string data =
        SpendLog::Frame("first") + cut + SpendLog::Frame("after") + std::string(300, '\0');
    std::vector<std::string> got;
    auto stats = SpendLog::ParseSegment(data, [&](std::string_view p) {
      got.emplace_back(p);
      return OkStatus();
    });
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(got, (std::vector<std::string>{"first", "after"})) << zero_from;
    EXPECT_EQ(stats->skipped, 1) << zero_from;
  }
  // Its newline written but a byte before it not: the CRC catches it.
  std::string cut = SpendLog::Frame("{\"cut\":true}");
  cut[12] = '\0';
  std::string data = cut + SpendLog::Frame("after");
  int n = 0;
  auto stats = SpendLog::ParseSegment(data, [&](std::string_view p) {
    EXPECT_EQ(p, "after");
    ++n;
    return OkStatus();
  });
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(n, 1);
  EXPECT_EQ(stats->skipped, 1);
}

TEST_F(SpendLogTest, PayloadWithNulIsRefused) {
  auto log = SpendLog::Open({dir_, false});
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->Append(std::string_view("a\0b", 3)).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace bursar::ledger
