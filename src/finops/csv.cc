#include "finops/csv.h"

#include <zlib.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

namespace bursar::finops {
namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};

class GzFileSource : public ByteSource {
 public:
  GzFileSource(gzFile f, std::string path) : file_(f), path_(std::move(path)) {}
  StatusOr<size_t> Read(char* buf, size_t n) override {
    unsigned want = static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
    int got = gzread(file_.get(), buf, want);
    if (got < 0) {
      int errnum = 0;
      const char* msg = gzerror(file_.get(), &errnum);
      return UnavailableError(path_ + ": read failed: " + (msg ? msg : "unknown error"));
    }
    return static_cast<size_t>(got);
  }

 private:
  std::unique_ptr<gzFile_s, GzCloser> file_;
  std::string path_;
};

class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string data) : data_(std::move(data)) {}
  StatusOr<size_t> Read(char* buf, size_t n) override {
    size_t k = std::min(n, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

constexpr size_t kInitialBuffer = 1 << 20;

// The scans below look at 16 bytes at a time (SSE2, part of x86-64) and finish byte by byte: most
// fields are 5-40 bytes, too short for memchr's call to pay off.

// Offset of the first '"' in b[from, len) (len when none); counts the '\n' before it.
inline size_t FindQuote(const char* b, size_t from, size_t len, int64_t* newlines) {
  size_t i = from;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), nl = _mm_set1_epi8('\n');
  for (; i + 16 <= len; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    unsigned q = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)));
    unsigned n = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, nl)));
    if (q != 0) {
      unsigned k = static_cast<unsigned>(__builtin_ctz(q));
      n &= (1u << k) - 1;
      if (n != 0) *newlines += __builtin_popcount(n);  // rare (and a call without -mpopcnt)
      return i + k;
    }
    if (n != 0) *newlines += __builtin_popcount(n);
  }
#endif
  for (; i < len; ++i) {
    if (b[i] == '"') return i;
    if (b[i] == '\n') ++*newlines;
  }
  return len;
}

// Offset of the first delimiter, '\n' or '\r' in b[from, len) (len when none).
inline size_t FindFieldEnd(const char* b, size_t from, size_t len, char delim) {
  size_t i = from;
#if defined(__SSE2__)
  const __m128i d = _mm_set1_epi8(delim), nl = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
  for (; i + 16 <= len; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, d), _mm_cmpeq_epi8(v, nl)),
                               _mm_cmpeq_epi8(v, cr));
    unsigned m = static_cast<unsigned>(_mm_movemask_epi8(hit));
    if (m != 0) return i + static_cast<unsigned>(__builtin_ctz(m));
  }
#endif
  for (; i < len; ++i) {
    char c = b[i];
    if (c == delim || c == '\n' || c == '\r') return i;
  }
  return len;
}

}  // namespace

StatusOr<std::unique_ptr<ByteSource>> OpenFileSource(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) {
    return NotFoundError(path + ": cannot open: " + std::strerror(errno));
  }
  gzbuffer(f, 1 << 18);
  return std::unique_ptr<ByteSource>(new GzFileSource(f, path));
}

std::unique_ptr<ByteSource> MemorySource(std::string data) {
  return std::make_unique<StringSource>(std::move(data));
}

struct CsvReader::AheadBatch {
  std::string bytes;
  struct FieldRef {
    uint32_t offset, size;  // into bytes (a batch holds at most kBytes plus one record)
    bool quoted;
  };
  std::vector<FieldRef> fields;
  struct Record {
    int64_t line;
    size_t first, count;  // into fields
  };
  std::vector<Record> records;
  Status error;      // after the records
  bool end = false;  // no more batches
};

// Runs an inner CsvReader on its own thread and hands its records over in batches: each batch
// owns a copy of its records' bytes, so views into it stay valid while the thread reads on.
class CsvReader::Ahead {
 public:
  using Batch = AheadBatch;

  explicit Ahead(std::unique_ptr<CsvReader> inner)
      : inner_(std::move(inner)), thread_([this] { Loop(); }) {}
  ~Ahead() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    space_.notify_all();
    thread_.join();
  }

  // The next batch (blocks); `done` is the previous one, given back for reuse.
  std::unique_ptr<Batch> Take(std::unique_ptr<Batch> done) {
    std::unique_lock<std::mutex> lock(mu_);
    if (done) free_.push_back(std::move(done));
    ready_.wait(lock, [this] { return !queue_.empty(); });
    auto b = std::move(queue_.front());
    queue_.pop_front();
    space_.notify_all();
    return b;
  }

 private:
  static constexpr size_t kRecords = 256;
  static constexpr size_t kBytes = 1 << 20;
  static constexpr size_t kQueued = 4;

  void Loop() {
    while (true) {
      std::unique_ptr<Batch> b;
      {
        std::unique_lock<std::mutex> lock(mu_);
        space_.wait(lock, [this] { return stop_ || queue_.size() < kQueued; });
        if (stop_) return;
        if (!free_.empty()) {
          b = std::move(free_.back());
          free_.pop_back();
        }
      }
      if (!b) b = std::make_unique<Batch>();
      b->bytes.clear();
      b->fields.clear();
      b->records.clear();
      b->error = OkStatus();
      b->end = false;
      while (b->records.size() < kRecords && b->bytes.size() < kBytes) {
        auto more = inner_->Next();
        if (!more.ok() || !*more) {
          b->error = more.ok() ? OkStatus() : more.status();
          b->end = true;
          break;
        }
        // The record's fields (unescaped in place) lie within its bytes in the inner buffer:
        // copy those bytes once and keep each field as an offset into the copy.
        const size_t n = inner_->size();
        const char* begin = inner_->buf_.data() + inner_->record_begin_;
        const size_t base = b->bytes.size();
        const size_t len = inner_->pos_ - inner_->record_begin_;
        if (base + len > UINT32_MAX) {
          b->error = InvalidArgumentError(inner_->name_ + ":" + std::to_string(inner_->line()) +
                                          ": record longer than 4 GiB");
          b->end = true;
          break;
        }
        b->records.push_back({inner_->line(), b->fields.size(), n});
        b->bytes.append(begin, len);
        size_t at = b->fields.size();
        b->fields.resize(at + n);
        for (size_t i = 0; i < n; ++i) {
          std::string_view f = inner_->field(i);
          b->fields[at + i] = {static_cast<uint32_t>(base + (f.data() - begin)),
                               static_cast<uint32_t>(f.size()), inner_->quoted(i)};
        }
      }
      bool end = b->end;
      {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back(std::move(b));
      }
      ready_.notify_all();
      if (end) return;
    }
  }

  std::unique_ptr<CsvReader> inner_;  // used by the thread only
  std::mutex mu_;                     // guards queue_, free_, stop_
  std::condition_variable ready_, space_;
  std::deque<std::unique_ptr<Batch>> queue_;
  std::vector<std::unique_ptr<Batch>> free_;
  bool stop_ = false;
  std::thread thread_;  // last: started once the members above exist
};

CsvReader::CsvReader(std::unique_ptr<ByteSource> source, std::string name, CsvOptions options)
    : source_(std::move(source)), name_(std::move(name)), options_(options) {
  if (!options_.parse_ahead) {
    buf_.resize(std::min(kInitialBuffer, std::max<size_t>(options_.max_record_bytes, 16)));
  }
}

CsvReader::~CsvReader() = default;

StatusOr<bool> CsvReader::NextAhead() {
  if (ahead_ == nullptr) {
    CsvOptions inner = options_;
    inner.parse_ahead = false;
    auto reader = std::make_unique<CsvReader>(std::move(source_), name_, inner);
    reader->set_observer(std::move(observer_));
    ahead_ = std::make_unique<Ahead>(std::move(reader));
  }
  while (batch_ == nullptr || batch_next_ >= batch_->records.size()) {
    if (batch_ != nullptr && batch_->end) {
      if (!batch_->error.ok()) return batch_->error;
      return false;
    }
    // The batch before is given back only now, so the previous record's views stay valid.
    auto next = ahead_->Take(std::move(prev_batch_));
    prev_batch_ = std::move(batch_);
    batch_ = std::move(next);
    batch_next_ = 0;
  }
  const auto& rec = batch_->records[batch_next_++];
  fields_.resize(rec.count);
  const char* bytes = batch_->bytes.data();
  for (size_t i = 0; i < rec.count; ++i) {
    const auto& f = batch_->fields[rec.first + i];
    fields_[i].text = std::string_view(bytes + f.offset, f.size);
    fields_[i].quoted = f.quoted;
  }
  record_line_ = rec.line;
  ++records_;
  return true;
}

Status CsvReader::Refill() {
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, len_ - pos_);
    len_ -= pos_;
    pos_ = 0;
  }
  if (len_ == buf_.size()) {
    if (buf_.size() >= options_.max_record_bytes) {
      return InvalidArgumentError(name_ + ":" + std::to_string(line_) + ": record longer than " +
                                  std::to_string(options_.max_record_bytes) + " bytes");
    }
    buf_.resize(std::min(buf_.size() * 2, options_.max_record_bytes));
  }
  auto got = source_->Read(buf_.data() + len_, buf_.size() - len_);
  if (!got.ok()) return got.status();
  if (*got == 0) {
    eof_ = true;
  } else {
    if (observer_) observer_(std::string_view(buf_.data() + len_, *got));
    len_ += *got;
  }
  return OkStatus();
}

int CsvReader::ParseRecord(Status* error) {
  const char* b = buf_.data();
  const char delim = options_.delimiter;
  size_t p = pos_;
  const size_t begin = pos_;
  int64_t newlines = 0;
  spans_.clear();
  auto fail = [&](int64_t at_line, const std::string& what) {
    *error = InvalidArgumentError(name_ + ":" + std::to_string(at_line) + ": " + what);
    return -1;
  };
  while (true) {
    if (spans_.size() >= options_.max_fields) {
      return fail(line_, "more than " + std::to_string(options_.max_fields) + " fields");
    }
    Span span;
    if (p < len_ && b[p] == '"') {
      span.quoted = true;
      size_t q = p + 1;
      span.begin = q;
      while (true) {
        size_t at = FindQuote(b, q, len_, &newlines);
        if (at >= len_) {
          if (!eof_) return 0;
          return fail(line_, "unterminated quoted field");
        }
        if (at + 1 < len_ && b[at + 1] == '"') {
          span.escaped = true;
          q = at + 2;
          continue;
        }
        if (at + 1 >= len_ && !eof_) return 0;
        span.end = at;
        p = at + 1;
        break;
      }
      if (p < len_ && b[p] != delim && b[p] != '\n' && b[p] != '\r') {
        return fail(line_ + newlines, "unexpected text after a closing quote");
      }
    } else {
      span.begin = p;
      p = FindFieldEnd(b, p, len_, delim);
      span.end = p;
    }
    spans_.push_back(span);
    if (p >= len_) {
      if (!eof_) return 0;
      pos_ = p;
      break;
    }
    char c = b[p];
    if (c == delim) {
      ++p;
      continue;
    }
    // End of record: \n, \r\n or a lone \r.
    if (c == '\r') {
      if (p + 1 >= len_ && !eof_) return 0;
      if (p + 1 < len_ && b[p + 1] == '\n') ++p;
    }
    ++p;
    ++newlines;
    pos_ = p;
    break;
  }
  // Unescape "" in place now that the record is complete (it is never parsed again).
  fields_.clear();
  for (Span& s : spans_) {
    char* data = buf_.data();
    size_t end = s.end;
    if (s.escaped) {
      // Move the runs between quotes down, keeping one quote of each "".
      size_t w = s.begin, r = s.begin;
      while (r < s.end) {
        const void* hit = std::memchr(data + r, '"', s.end - r);
        size_t q = hit ? static_cast<size_t>(static_cast<const char*>(hit) - data) : s.end;
        size_t run = q < s.end ? q - r + 1 : q - r;  // through the first quote of ""
        if (w != r) std::memmove(data + w, data + r, run);
        w += run;
        r += run + (q < s.end ? 1 : 0);  // skip the second quote
      }
      end = w;
    }
    fields_.push_back({std::string_view(data + s.begin, end - s.begin), s.quoted});
  }
  record_begin_ = begin;
  record_line_ = line_;
  line_ += newlines;
  return 1;
}

StatusOr<bool> CsvReader::Next() {
  if (options_.parse_ahead) return NextAhead();
  while (true) {
    if (!started_) {
      while (len_ < 3 && !eof_) BURSAR_RETURN_IF_ERROR(Refill());
      if (len_ >= 3 && std::memcmp(buf_.data(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
      started_ = true;
    }
    if (pos_ >= len_) {
      if (eof_) return false;
      BURSAR_RETURN_IF_ERROR(Refill());
      continue;
    }
    Status error;
    int r = ParseRecord(&error);
    if (r < 0) return error;
    if (r == 0) {
      BURSAR_RETURN_IF_ERROR(Refill());
      continue;
    }
    if (fields_.size() == 1 && fields_[0].text.empty() && !fields_[0].quoted) continue;  // blank
    ++records_;
    return true;
  }
}

void AppendCsvField(std::string* out, std::string_view field, bool always) {
  bool needs = always || field.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!needs) {
    out->append(field);
    return;
  }
  out->push_back('"');
  for (char c : field) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace bursar::finops
