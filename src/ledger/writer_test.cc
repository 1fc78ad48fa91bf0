#include "ledger/writer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "ledger/ledger_test_util.h"

namespace bursar::ledger {
namespace {

using testing::kT0;

class WriterTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    tdb_ = std::make_unique<testing::TestDatabase>(GetParam());
    BURSAR_REQUIRE_DB(*tdb_);
    log_dir_ = tdb_->dir() + "/log";
  }
  LedgerWriter::Options Opts() const {
    LedgerWriter::Options o;
    o.log_dir = log_dir_;
    o.store_url = tdb_->url();
    return o;
  }
  std::unique_ptr<Store> OpenStore() {
    auto s = Store::Open(tdb_->url());
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  // requests counted by the hourly rollup: equals COUNT(*) only if nothing was counted twice.
  int64_t RollupRequests(Store& store) {
    auto t = store.Aggregate({}, {});
    EXPECT_TRUE(t.ok());
    int64_t n = 0;
    for (const auto& g : *t) n += g.totals.requests;
    return n;
  }
  size_t SegmentFiles() const {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(log_dir_)) {
      n += e.path().filename().string().starts_with("spend-");
    }
    return n;
  }

  std::unique_ptr<testing::TestDatabase> tdb_;
  std::string log_dir_;
};

TEST_P(WriterTest, ConcurrentAppendsAllReachTheStore) {
  auto opts = Opts();
  opts.segment_max_bytes = 4096;  // rotate and checkpoint often
  auto w = LedgerWriter::Open(opts);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  constexpr int kThreads = 8, kPer = 250;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        auto r = testing::MakeRecord("t" + std::to_string(t) + "-" + std::to_string(i),
                                     kT0 + int64_t{i} * 1'000'000, 10);
        if (!(*w)->Append(r).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_TRUE((*w)->Flush().ok());
  auto store = OpenStore();
  EXPECT_EQ(*store->CountRecords(), kThreads * kPer);
  EXPECT_EQ(RollupRequests(*store), kThreads * kPer);
  auto stats = (*w)->stats();
  EXPECT_EQ(stats.appended, kThreads * kPer);
  EXPECT_EQ(stats.stored, kThreads * kPer);
  EXPECT_TRUE((*w)->Close().ok());
  EXPECT_EQ(SegmentFiles(), 0u) << "a clean close leaves no log to replay";
  EXPECT_EQ((*w)->Append(testing::MakeRecord("late", kT0, 1)).code(),
            StatusCode::kFailedPrecondition);
}

TEST_P(WriterTest, FullQueueFallsBackToTheLog) {
  auto opts = Opts();
  opts.queue_capacity = 2;
  opts.batch_max = 3;
  auto w = LedgerWriter::Open(opts);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        ASSERT_TRUE((*w)->Append(testing::MakeRecord(
                                     "o" + std::to_string(t) + "-" + std::to_string(i), kT0 + i, 3))
                        .ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE((*w)->Flush().ok());
  auto store = OpenStore();
  EXPECT_EQ(*store->CountRecords(), 800);
  EXPECT_EQ(RollupRequests(*store), 800);
  EXPECT_EQ((*store->Aggregate({}, {}))[0].totals.cost_micros, 2400);
  EXPECT_GT((*w)->stats().overflowed, 0) << "the test did not fill the queue";
  EXPECT_TRUE((*w)->Close().ok());
  EXPECT_EQ(SegmentFiles(), 0u);
}

// What a crashed process leaves: a log segment with records, some already stored, a torn line.
TEST_P(WriterTest, OpenReplaysTheLogWithoutDuplicates) {
  {
    auto store = OpenStore();
    std::vector<SpendRecord> stored = {testing::MakeRecord("a", kT0, 5),
                                       testing::MakeRecord("b", kT0 + 1, 7)};
    ASSERT_TRUE(store->InsertBatch(stored).ok());
  }
  std::filesystem::create_directories(log_dir_);
  {
    // a and b as the log holds them (same id and time), c and d not stored yet.
    std::ofstream out(log_dir_ + "/spend-00000000000000000003.log", std::ios::binary);
    for (const char* id : {"a", "b", "c", "d"}) {
      int64_t t = kT0 + std::min<int64_t>(id[0] - 'a', 2);
      out << SpendLog::Frame(EncodeSpendRecord(testing::MakeRecord(id, t, 11)));
    }
    std::string torn = SpendLog::Frame(EncodeSpendRecord(testing::MakeRecord("e", kT0, 1)));
    out << torn.substr(0, torn.size() / 2);
  }
  {
    auto w = LedgerWriter::Open(Opts());
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    auto stats = (*w)->stats();
    EXPECT_EQ(stats.replayed, 4);
    EXPECT_EQ(stats.stored, 2);
    EXPECT_EQ(stats.skipped_lines, 1);
    EXPECT_FALSE(std::filesystem::exists(log_dir_ + "/spend-00000000000000000003.log"));
    ASSERT_TRUE((*w)->Append(testing::MakeRecord("f", kT0, 13)).ok());
    ASSERT_TRUE((*w)->Close().ok());
  }
  auto store = OpenStore();
  EXPECT_EQ(*store->CountRecords(), 5);  // a b c d f
  EXPECT_EQ(RollupRequests(*store), 5);
  EXPECT_EQ(store->GetRecord("a")->cost_micros, 5);  // the stored one wins
  EXPECT_EQ(store->GetRecord("d")->cost_micros, 11);
  EXPECT_EQ(store->GetRecord("e").status().code(), StatusCode::kNotFound);
}

// A record the store refuses for good goes to quarantine.log; the rest of its batch is stored and
// the writer does not stall, neither live nor when replaying the log at Open.
TEST_P(WriterTest, RefusedRecordIsQuarantined) {
  {
    auto store = OpenStore();
    Status s =
        store->db().dialect() == Dialect::kPostgres
            ? store->db().ExecScript(
                  "ALTER TABLE spend_rows ADD CONSTRAINT no_poison CHECK (request_id NOT LIKE "
                  "'poison%')")
            : store->db().ExecScript(
                  "CREATE TRIGGER no_poison BEFORE INSERT ON spend_rows WHEN NEW.request_id "
                  "LIKE 'poison%' BEGIN SELECT RAISE(ABORT, 'poison'); END");
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  std::filesystem::create_directories(log_dir_);
  {
    std::ofstream out(log_dir_ + "/spend-00000000000000000001.log", std::ios::binary);
    for (const char* id : {"old-1", "poison-old", "old-2"}) {
      out << SpendLog::Frame(EncodeSpendRecord(testing::MakeRecord(id, kT0, 1)));
    }
  }
  auto w = LedgerWriter::Open(Opts());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  for (const char* id : {"a", "poison-new", "b"}) {
    ASSERT_TRUE((*w)->Append(testing::MakeRecord(id, kT0, 1)).ok());
  }
  ASSERT_TRUE((*w)->Flush().ok());
  EXPECT_EQ((*w)->stats().quarantined, 2);
  ASSERT_TRUE((*w)->Close().ok());
  auto store = OpenStore();
  EXPECT_EQ(*store->CountRecords(), 4);
  EXPECT_EQ(RollupRequests(*store), 4);
  std::vector<std::string> quarantined;
  ASSERT_TRUE(SpendLog::ReadSegment(log_dir_ + "/quarantine.log", [&](std::string_view p) {
                auto j = nlohmann::json::parse(p);
                quarantined.push_back(j["record"]["request_id"]);
                EXPECT_FALSE(j["error"].get<std::string>().empty());
                return OkStatus();
              }).ok());
  EXPECT_EQ(quarantined, (std::vector<std::string>{"poison-old", "poison-new"}));
}

// kill -9 mid-stream: every record whose Append returned (the child reports it on a pipe) is
// in the store exactly once after the next Open.
// Thread t's i-th record in SurvivesKill9: a key per thread, and a route that changes every 50
// records, so that the log's context lines change while it is killed.
SpendRecord Kill9Record(int t, int i) {
  SpendRecord r =
      testing::MakeRecord("k" + std::to_string(t) + "-" + std::to_string(i), kT0 + i, 1);
  r.key_name = "key-" + std::to_string(t);
  r.route = "chat-" + std::to_string(i / 50);
  r.tags["thread"] = std::to_string(t);
  return r;
}

TEST_P(WriterTest, SurvivesKill9) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  LedgerWriter::Options opts = Opts();
  opts.segment_max_bytes = 64 << 10;  // segments rotate (and start with context lines) meanwhile
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    auto w = LedgerWriter::Open(opts);
    if (!w.ok()) _exit(3);
    std::vector<std::thread> threads;
    threads.reserve(4);
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          std::string id = "k" + std::to_string(t) + "-" + std::to_string(i);
          if (!(*w)->Append(Kill9Record(t, i)).ok()) _exit(4);
          std::string line = id + "\n";
          if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
            _exit(5);
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    _exit(0);
  }
  close(fds[1]);
  std::set<std::string> acked;
  std::string buf;
  char chunk[4096];
  bool killed = false;
  for (;;) {
    ssize_t n = read(fds[0], chunk, sizeof chunk);
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      acked.insert(buf.substr(0, nl));
      buf.erase(0, nl + 1);
    }
    if (!killed && acked.size() >= 2000) {
      kill(pid, SIGKILL);
      killed = true;
    }
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_GE(acked.size(), 2000u);

  auto w = LedgerWriter::Open(Opts());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->Close().ok());
  auto store = OpenStore();
  for (const std::string& id : acked) {
    StatusOr<SpendRecord> got = store->GetRecord(id);
    ASSERT_TRUE(got.ok()) << "acknowledged record lost: " << id;
    // The log holds the configuration's fields once per segment and thread: each record gets
    // its own back.
    const size_t dash = id.find('-');
    const SpendRecord want =
        Kill9Record(std::stoi(id.substr(1, dash - 1)), std::stoi(id.substr(dash + 1)));
    EXPECT_EQ(got->key_name, want.key_name) << id;
    EXPECT_EQ(got->route, want.route) << id;
    EXPECT_EQ(got->tags, want.tags) << id;
  }
  int64_t count = *store->CountRecords();
  EXPECT_GE(count, static_cast<int64_t>(acked.size()));
  EXPECT_EQ(RollupRequests(*store), count);
  EXPECT_EQ((*store->Aggregate({}, {}))[0].totals.cost_micros, count);
}

// A segment whose records are all stored already (the writer stored them, then died before
// deleting it) is replayed as a no-op: nothing inserted, rollups unchanged.
TEST_P(WriterTest, ReplayOfStoredSegmentInsertsNothing) {
  std::vector<SpendRecord> records;
  for (int i = 0; i < 300; ++i) {
    SpendRecord r =
        testing::MakeRecord("s" + std::to_string(i), kT0 + int64_t{i} * 60'000'000, 3 + i % 7);
    r.key_name = i % 2 ? "key-a" : "key-b";
    records.push_back(r);
  }
  auto rollups = [](Store& store) {
    std::vector<std::vector<std::string>> rows;
    for (const char* sql :
         {"SELECT * FROM spend_hourly ORDER BY 1, 2", "SELECT * FROM spend_daily ORDER BY 1, 2"}) {
      auto got = store.db().QueryAll(sql);
      EXPECT_TRUE(got.ok()) << got.status().ToString();
      for (const Row& r : got.ok() ? *got : std::vector<Row>{}) {
        rows.emplace_back();
        for (size_t i = 0; i < r.size(); ++i) rows.back().push_back(r.Text(i));
      }
    }
    return rows;
  };
  std::vector<std::vector<std::string>> before;
  {
    auto store = OpenStore();
    ASSERT_EQ(*store->InsertBatch(records, InsertMode::kFresh), 300);
    before = rollups(*store);
    ASSERT_FALSE(before.empty());
  }
  std::filesystem::create_directories(log_dir_);
  {
    std::ofstream out(log_dir_ + "/spend-00000000000000000002.log", std::ios::binary);
    for (const SpendRecord& r : records) out << SpendLog::Frame(EncodeSpendRecord(r));
    out << SpendLog::Frame(EncodeSpendRecord(records[5]));  // and one line twice
  }
  {
    auto w = LedgerWriter::Open(Opts());
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_EQ((*w)->stats().replayed, 301);
    EXPECT_EQ((*w)->stats().stored, 0);
    ASSERT_TRUE((*w)->Close().ok());
  }
  auto store = OpenStore();
  EXPECT_EQ(*store->CountRecords(), 300);
  EXPECT_EQ(rollups(*store), before);
}

// A batch that fails after part of it was committed (here: record by record around a refused
// record, then a transient error) is retried without storing that part twice.
TEST_P(WriterTest, RetriedBatchDoesNotDuplicate) {
  {
    auto store = OpenStore();
    Status s =
        store->db().dialect() == Dialect::kPostgres
            ? store->db().ExecScript(
                  "CREATE TABLE fail_flag (x INTEGER); INSERT INTO fail_flag VALUES (1); "
                  "ALTER TABLE spend_rows ADD CONSTRAINT no_poison CHECK (request_id NOT LIKE "
                  "'poison%'); "
                  "CREATE FUNCTION flaky() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                  "IF NEW.request_id LIKE 'flaky%' AND EXISTS (SELECT 1 FROM fail_flag) "
                  "THEN RAISE EXCEPTION 'flaky store' USING ERRCODE = '40001'; END IF; "
                  "RETURN NEW; END $$; "
                  "CREATE TRIGGER flaky BEFORE INSERT ON spend_rows FOR EACH ROW EXECUTE "
                  "FUNCTION flaky()")
            : store->db().ExecScript(
                  "CREATE TABLE fail_flag (x INTEGER); INSERT INTO fail_flag VALUES (1); "
                  "CREATE TRIGGER no_poison BEFORE INSERT ON spend_rows WHEN NEW.request_id "
                  "LIKE 'poison%' BEGIN SELECT RAISE(ABORT, 'poison'); END; "
                  // json() of a non-JSON text: a runtime error that is no data error
                  "CREATE TRIGGER flaky BEFORE INSERT ON spend_rows WHEN NEW.request_id LIKE "
                  "'flaky%' AND EXISTS (SELECT 1 FROM fail_flag) BEGIN SELECT "
                  "json(NEW.request_id); END");
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  auto opts = Opts();
  opts.batch_max = 3;
  opts.linger = std::chrono::milliseconds(10'000);  // the three records make one batch
  auto w = LedgerWriter::Open(opts);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  for (const char* id : {"a", "poison", "flaky"}) {
    ASSERT_TRUE((*w)->Append(testing::MakeRecord(id, kT0, 1)).ok());
  }
  EXPECT_FALSE((*w)->Flush().ok());
  auto store = OpenStore();
  auto count_a = [&] {
    auto rows = store->db().QueryAll("SELECT COUNT(*) FROM spend WHERE request_id = 'a'");
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? (*rows)[0].Int(0) : -1;
  };
  ASSERT_EQ(count_a(), 1) << "the failed batch committed a before failing";
  ASSERT_TRUE(store->db().ExecScript("DELETE FROM fail_flag").ok());
  Status flushed = (*w)->Flush();
  for (int i = 0; i < 50 && !flushed.ok(); ++i) flushed = (*w)->Flush();
  ASSERT_TRUE(flushed.ok()) << flushed.ToString();
  EXPECT_GE((*w)->stats().store_errors, 1);
  EXPECT_GE((*w)->stats().quarantined, 1);
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ(count_a(), 1);
  EXPECT_EQ(*store->CountRecords(), 2);  // a, flaky
  EXPECT_EQ(RollupRequests(*store), 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, WriterTest, ::testing::Values("sqlite", "postgres"),
                         testing::BackendName);

}  // namespace
}  // namespace bursar::ledger
