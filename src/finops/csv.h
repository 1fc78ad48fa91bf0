// Streaming RFC 4180 CSV reader (and a field quoter for writers).
//
// Reads records one at a time from a ByteSource (a plain or gzip file through zlib's gzFile, or
// memory) without loading the input: quoted fields, "" escapes, newlines inside quotes, CRLF or
// LF line ends, a leading UTF-8 BOM, and a blank line (skipped). Each record carries the 1-based
// line number on which it starts, so callers can name "file:LINE" in errors.
// Hand-written because no CSV library in Debian 12 streams with line numbers at this speed:
// libfccp-dev (fast-cpp-csv-parser) refuses newlines inside quoted fields and reads no gzip.
//
// Ownership: CsvReader owns its ByteSource. field(i) views point into the reader's buffer and
// stay valid until the next call to Next(); with parse_ahead, until the second call after (so a
// caller may finish one record while it reads the next). Threads: one thread per reader.
// Errors: InvalidArgument "NAME:LINE: ..." for an unterminated quote, text after a closing
// quote, or a record over max_record_bytes; Unavailable/NotFound for I/O errors.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace bursar::finops {

// A stream of bytes. Read returns 0 at the end of input.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual StatusOr<size_t> Read(char* buf, size_t n) = 0;
};

// Opens a file for reading; gzip input (by its magic bytes) is inflated transparently.
// NotFound when it does not exist or cannot be opened.
StatusOr<std::unique_ptr<ByteSource>> OpenFileSource(const std::string& path);
// Reads from a copy of `data` (tests, fuzzing).
std::unique_ptr<ByteSource> MemorySource(std::string data);

struct CsvOptions {
  char delimiter = ',';
  size_t max_record_bytes = 64 << 20;  // longest record (all its fields and quotes)
  size_t max_fields = 4096;
  // Split records on a thread of the reader's own, a few hundred records ahead of Next(), so
  // that tokenizing overlaps the caller's work on each record (same records, lines and errors).
  bool parse_ahead = false;
};

class CsvReader {
 public:
  // `name` is used in error messages (usually the file name).
  CsvReader(std::unique_ptr<ByteSource> source, std::string name, CsvOptions options = {});

  // Reads the next record: true when one was read, false at the end of input.
  StatusOr<bool> Next();

  size_t size() const { return fields_.size(); }
  std::string_view field(size_t i) const { return fields_[i].text; }
  // True when the field was enclosed in quotes in the input.
  bool quoted(size_t i) const { return fields_[i].quoted; }
  // 1-based line number where the current record starts.
  int64_t line() const { return record_line_; }
  // Number of records read so far (the current one included).
  int64_t records() const { return records_; }
  const std::string& name() const { return name_; }

  // Called with every chunk of input bytes as it is read (e.g. to hash the content).
  // REQUIRES: before the first Next(). With parse_ahead it runs on the reader's thread.
  void set_observer(std::function<void(std::string_view)> observer) {
    observer_ = std::move(observer);
  }

  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;
  ~CsvReader();

 private:
  struct Field {
    std::string_view text;
    bool quoted = false;
  };
  struct Span {
    size_t begin = 0, end = 0;  // offsets into buf_
    bool quoted = false, escaped = false;
  };
  class Ahead;        // csv.cc: the parse-ahead thread
  struct AheadBatch;  // csv.cc: records it parsed, with a copy of their bytes
  // Parses one record starting at pos_; returns 1 complete, 0 needs more input, -1 error.
  int ParseRecord(Status* error);
  StatusOr<bool> NextAhead();
  Status Refill();

  std::unique_ptr<ByteSource> source_;
  std::string name_;
  CsvOptions options_;
  std::function<void(std::string_view)> observer_;
  std::vector<char> buf_;
  size_t pos_ = 0;           // start of unparsed data
  size_t record_begin_ = 0;  // where the current record starts in buf_ (its fields lie between
                             // here and pos_)
  size_t len_ = 0;           // bytes of valid data in buf_
  bool eof_ = false;
  bool started_ = false;
  int64_t line_ = 1;         // line at pos_
  int64_t record_line_ = 0;  // line of the current record
  int64_t records_ = 0;
  std::vector<Span> spans_;
  std::vector<Field> fields_;
  std::unique_ptr<Ahead> ahead_;            // parse_ahead only
  std::unique_ptr<AheadBatch> batch_;       // parse_ahead: the batch holding the current record
  std::unique_ptr<AheadBatch> prev_batch_;  // parse_ahead: the one before (kept one Next longer)
  size_t batch_next_ = 0;
};

// Quotes a field for CSV output when it holds a delimiter, quote, CR or LF (or when `always`).
void AppendCsvField(std::string* out, std::string_view field, bool always = false);

}  // namespace bursar::finops
