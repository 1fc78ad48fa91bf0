#include "finops/csv.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

namespace bursar::finops {
namespace {

// Returns at most one byte per Read, to exercise every buffer boundary.
class TrickleSource : public ByteSource {
 public:
  explicit TrickleSource(std::string data) : data_(std::move(data)) {}
  StatusOr<size_t> Read(char* buf, size_t n) override {
    if (pos_ >= data_.size() || n == 0) return size_t{0};
    buf[0] = data_[pos_++];
    return size_t{1};
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

struct Rec {
  int64_t line;
  std::vector<std::string> fields;
};

std::vector<Rec> ReadAll(std::unique_ptr<ByteSource> src, Status* error = nullptr,
                         bool parse_ahead = false) {
  CsvOptions options;
  options.parse_ahead = parse_ahead;
  CsvReader reader(std::move(src), "t.csv", options);
  std::vector<Rec> out;
  while (true) {
    auto more = reader.Next();
    if (!more.ok()) {
      if (error) *error = more.status();
      break;
    }
    if (!*more) break;
    Rec r{reader.line(), {}};
    for (size_t i = 0; i < reader.size(); ++i) r.fields.emplace_back(reader.field(i));
    out.push_back(r);
  }
  return out;
}

const char kTricky[] =
    "\xEF\xBB\xBF"
    "a,b,c\r\n"
    "1,\"x,y\",\"say \"\"hi\"\"\"\r\n"
    "\r\n"
    "2,\"multi\nline\nvalue\",end\n"
    "3,,\"\"\n"
    "4,last,no-newline";

void ExpectTricky(const std::vector<Rec>& recs) {
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[0].fields, (std::vector<std::string>{"a", "b", "c"}));  // BOM stripped
  EXPECT_EQ(recs[0].line, 1);
  EXPECT_EQ(recs[1].fields, (std::vector<std::string>{"1", "x,y", "say \"hi\""}));
  EXPECT_EQ(recs[1].line, 2);
  EXPECT_EQ(recs[2].fields, (std::vector<std::string>{"2", "multi\nline\nvalue", "end"}));
  EXPECT_EQ(recs[2].line, 4);  // the blank line 3 is skipped
  EXPECT_EQ(recs[3].fields, (std::vector<std::string>{"3", "", ""}));
  EXPECT_EQ(recs[3].line, 7);  // after the two embedded newlines
  EXPECT_EQ(recs[4].fields, (std::vector<std::string>{"4", "last", "no-newline"}));
  EXPECT_EQ(recs[4].line, 8);
}

TEST(CsvReader, QuotesEscapesNewlinesCrlfBom) { ExpectTricky(ReadAll(MemorySource(kTricky))); }

TEST(CsvReader, SameResultOneByteAtATime) {
  ExpectTricky(ReadAll(std::make_unique<TrickleSource>(kTricky)));
}

TEST(CsvReader, EscapedQuotesAtEveryPosition) {
  auto recs =
      ReadAll(MemorySource("\"\"\"a\"\"\",\"\"\"\",\"a\"\"\"\"b\",\"x\ny\"\"\"\n2,\"\",z\n"));
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].fields, (std::vector<std::string>{"\"a\"", "\"", "a\"\"b", "x\ny\""}));
  EXPECT_EQ(recs[1].line, 3);
  EXPECT_EQ(recs[1].fields, (std::vector<std::string>{"2", "", "z"}));
}

TEST(CsvReader, ParseAheadGivesTheSameRecordsLinesAndErrors) {
  ExpectTricky(ReadAll(MemorySource(kTricky), nullptr, true));
  ExpectTricky(ReadAll(std::make_unique<TrickleSource>(kTricky), nullptr, true));
  std::string many = "h1,h2\n";
  for (int i = 0; i < 2000; ++i) many += std::to_string(i) + ",\"v\n" + std::to_string(i) + "\"\n";
  many += "bad,\"unterminated\n";
  Status plain_error, ahead_error;
  auto plain = ReadAll(MemorySource(many), &plain_error);
  auto ahead = ReadAll(MemorySource(many), &ahead_error, true);
  ASSERT_EQ(plain.size(), 2001u);
  ASSERT_EQ(ahead.size(), plain.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(ahead[i].line, plain[i].line);
    EXPECT_EQ(ahead[i].fields, plain[i].fields);
  }
  EXPECT_FALSE(plain_error.ok());
  EXPECT_EQ(ahead_error.message(), plain_error.message());
  // Stopping early joins the thread.
  CsvOptions options;
  options.parse_ahead = true;
  CsvReader early(MemorySource(many), "t.csv", options);
  ASSERT_TRUE(*early.Next());
}

TEST(CsvReader, QuotedFlagDistinguishesEmptyAndNull) {
  CsvReader r(MemorySource("NULL,\"NULL\",\n"), "t.csv");
  ASSERT_TRUE(*r.Next());
  ASSERT_EQ(r.size(), 3u);
  EXPECT_FALSE(r.quoted(0));
  EXPECT_TRUE(r.quoted(1));
  EXPECT_EQ(r.field(2), "");
}

TEST(CsvReader, UnterminatedQuoteNamesItsLine) {
  Status error;
  auto recs = ReadAll(MemorySource("a,b\n1,2\n3,\"open\nstill open\n"), &error);
  EXPECT_EQ(recs.size(), 2u);
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(error.message(), "t.csv:3: unterminated quoted field");
}

TEST(CsvReader, TextAfterClosingQuoteIsAnError) {
  Status error;
  ReadAll(MemorySource("a,b\n\"x\"y,2\n"), &error);
  EXPECT_EQ(error.message(), "t.csv:2: unexpected text after a closing quote");
}

TEST(CsvReader, RecordLongerThanLimitIsAnError) {
  CsvOptions options;
  options.max_record_bytes = 64;
  CsvReader r(MemorySource("a," + std::string(200, 'x') + "\n"), "t.csv", options);
  auto more = r.Next();
  ASSERT_FALSE(more.ok());
  EXPECT_NE(more.status().message().find("longer than 64 bytes"), std::string::npos);
}

TEST(CsvReader, ReadsGzipAndPlainFilesAndHashesEveryByte) {
  auto dir = std::filesystem::temp_directory_path() / ("csv_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string plain = (dir / "t.csv").string(), gz = (dir / "t.csv.gz").string();
  std::string content;
  for (int i = 0; i < 50000; ++i)
    content += std::to_string(i) + ",\"v" + std::to_string(i) + "\"\n";
  std::ofstream(plain, std::ios::binary) << content;
  gzFile f = gzopen(gz.c_str(), "wb");
  gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
  gzclose(f);
  for (const std::string& path : {plain, gz}) {
    auto src = OpenFileSource(path);
    ASSERT_TRUE(src.ok());
    CsvReader r(std::move(*src), path);
    std::string seen;
    r.set_observer([&](std::string_view chunk) { seen.append(chunk); });
    int64_t n = 0;
    while (*r.Next()) {
      ASSERT_EQ(r.field(1), "v" + std::to_string(n)) << path;
      ++n;
    }
    EXPECT_EQ(n, 50000);
    EXPECT_EQ(seen, content) << path;  // the decompressed bytes, whatever the file
  }
  std::filesystem::remove_all(dir);
  EXPECT_EQ(OpenFileSource("/nonexistent/x.csv").status().code(), StatusCode::kNotFound);
}

TEST(CsvWriter, QuotesOnlyWhenNeeded) {
  std::string out;
  AppendCsvField(&out, "plain");
  out += ',';
  AppendCsvField(&out, "a,\"b\"\n");
  EXPECT_EQ(out, "plain,\"a,\"\"b\"\"\n\"");
  CsvReader r(MemorySource(out), "t");
  ASSERT_TRUE(*r.Next());
  EXPECT_EQ(r.field(1), "a,\"b\"\n");
}

}  // namespace
}  // namespace bursar::finops
