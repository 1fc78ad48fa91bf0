#include "finops/csv.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

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

CsvReader::CsvReader(std::unique_ptr<ByteSource> source, std::string name, CsvOptions options)
    : source_(std::move(source)), name_(std::move(name)), options_(options) {
  buf_.resize(std::min(kInitialBuffer, std::max<size_t>(options_.max_record_bytes, 16)));
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
        const void* hit = q < len_ ? std::memchr(b + q, '"', len_ - q) : nullptr;
        if (hit == nullptr) {
          if (!eof_) return 0;
          return fail(line_, "unterminated quoted field");
        }
        size_t at = static_cast<const char*>(hit) - b;
        newlines += std::count(b + q, b + at, '\n');
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
      while (p < len_) {
        char c = b[p];
        if (c == delim || c == '\n' || c == '\r') break;
        ++p;
      }
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
      size_t w = s.begin;
      for (size_t r = s.begin; r < s.end; ++r) {
        data[w++] = data[r];
        if (data[r] == '"') ++r;  // skip the second quote of ""
      }
      end = w;
    }
    fields_.push_back({std::string_view(data + s.begin, end - s.begin), s.quoted});
  }
  record_line_ = line_;
  line_ += newlines;
  return 1;
}

StatusOr<bool> CsvReader::Next() {
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
