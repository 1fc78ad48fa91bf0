#include "gateway/http_parser.h"

#include <algorithm>
#include <cstring>

#include "common/swar.h"

namespace bursar::gateway {
namespace {

// Character classes, one table lookup per byte: RFC 9110 tchar (names, methods) and field-value
// characters (VCHAR, SP, HTAB, obs-text).
struct CharClasses {
  bool tchar[256] = {};
  bool value[256] = {};
  constexpr CharClasses() {
    for (int c = 0; c < 256; ++c) {
      tchar[c] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      value[c] = c == '\t' || (c >= 0x20 && c != 0x7f);
    }
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) tchar[static_cast<unsigned char>(c)] = true;
  }
};
constexpr CharClasses kClasses;

bool IsTchar(unsigned char c) { return kClasses.tchar[c]; }

// Field-value characters: 8 at a time while none is a control byte or DEL (a tab, the one
// control byte allowed, goes to the byte loop).
bool AllValueChars(std::string_view v) {
  size_t i = 0;
  for (; i + 8 <= v.size(); i += 8) {
    const uint64_t w = swar::Load8(v.data() + i);
    if ((swar::BelowMask(w, 0x20) | swar::EqualMask(w, 0x7f)) != 0) break;
  }
  for (; i < v.size(); ++i) {
    if (!kClasses.value[static_cast<unsigned char>(v[i])]) return false;
  }
  return true;
}

// Case-insensitive comparison with `lower`, a constant of lowercase letters, digits and '-'.
// REQUIRES: `s` holds no control byte but tab (a checked field name or value). Then OR-ing 0x20
// into a byte of `s` gives a byte of `lower` only from that byte in either case (a tab gives ')'),
// 8 bytes at a time.
bool EqualsNoCase(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    if ((swar::Load8(s.data() + i) | swar::kOnes * 0x20) != swar::Load8(lower.data() + i)) {
      return false;
    }
  }
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) | 0x20) != static_cast<unsigned char>(lower[i])) {
      return false;
    }
  }
  return true;
}

// A request target has no control byte, space or DEL.
bool TargetChars(std::string_view t) {
  size_t i = 0;
  for (; i + 8 <= t.size(); i += 8) {
    const uint64_t w = swar::Load8(t.data() + i);
    if ((swar::BelowMask(w, 0x21) | swar::EqualMask(w, 0x7f)) != 0) return false;
  }
  for (; i < t.size(); ++i) {
    auto u = static_cast<unsigned char>(t[i]);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  return true;
}

std::string_view TrimOws(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// Calls f(token) for each element of a comma-separated list (empty elements skipped).
template <typename F>
void ForEachToken(std::string_view list, F f) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view token = TrimOws(list.substr(0, comma));
    if (!token.empty()) f(token);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

HeadStatus Bad(std::string* error, std::string message) {
  *error = std::move(message);
  return HeadStatus::kBad;
}

// Hands out CRLF-terminated lines (without the CRLF) from the front of `data`.
struct LineReader {
  std::string_view data;
  bool bare_lf = false;  // a line ended with LF alone: malformed
  // False when the next line has not fully arrived (or ends with a bare LF).
  bool Next(std::string_view* line) {
    size_t lf = data.find('\n');
    if (lf == std::string_view::npos) return false;
    if (lf == 0 || data[lf - 1] != '\r') {
      bare_lf = true;
      return false;
    }
    *line = data.substr(0, lf - 1);
    data.remove_prefix(lf + 1);
    return true;
  }
};

// HTTP/1.0 or 1.1 into *minor; kUnsupportedVersion for another HTTP/x.y, else kBad.
HeadStatus ParseVersion(std::string_view version, int* minor, std::string* error) {
  if (version == "HTTP/1.1" || version == "HTTP/1.0") {
    *minor = version[7] - '0';
    return HeadStatus::kComplete;
  }
  if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && version[6] == '.' &&
      version[5] >= '0' && version[5] <= '9' && version[7] >= '0' && version[7] <= '9') {
    *error = "HTTP version " + std::string(version.substr(5)) + " is not supported";
    return HeadStatus::kUnsupportedVersion;
  }
  return Bad(error, "malformed HTTP version");
}

// What both directions read from the header fields: the message framing and its type.
struct Framing {
  std::string_view content_type;
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool chunked = false;
  bool close = false;             // Connection: close
  bool keep_alive_token = false;  // Connection: keep-alive
};

// Parses the field lines up to the blank line; on_field(name, value) sees every field.
template <typename OnField>
HeadStatus ParseFields(LineReader& r, int version_minor, Framing* f, OnField on_field,
                       std::string* error) {
  bool transfer_encoding = false;
  std::string_view line;
  for (;;) {
    if (!r.Next(&line)) {
      if (r.bare_lf) return Bad(error, "header line does not end with CRLF");
      return HeadStatus::kIncomplete;
    }
    if (line.empty()) break;  // the blank line: end of the head
    if (line.front() == ' ' || line.front() == '\t') {
      return Bad(error, "obsolete line folding in a header field");
    }
    // The name: tchars up to the colon, checked in the one pass that finds the colon.
    size_t colon = 0;
    while (colon < line.size() && IsTchar(static_cast<unsigned char>(line[colon]))) ++colon;
    if (colon == 0 || colon == line.size() || line[colon] != ':') {
      colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) {
        return Bad(error, "header line without a name");
      }
      return Bad(error,
                 "bad character in header name \"" + std::string(line.substr(0, colon)) + "\"");
    }
    std::string_view name = line.substr(0, colon);
    std::string_view value = TrimOws(line.substr(colon + 1));
    if (!AllValueChars(value)) {
      return Bad(error, "bad character in header \"" + std::string(name) + "\"");
    }
    on_field(name, value);
    if (name.size() == 10 && EqualsNoCase(name, "connection")) {
      ForEachToken(value, [&](std::string_view t) {
        if (EqualsNoCase(t, "close")) f->close = true;
        if (EqualsNoCase(t, "keep-alive")) f->keep_alive_token = true;
      });
    } else if (name.size() == 12 && EqualsNoCase(name, "content-type")) {
      f->content_type = value;
    } else if (name.size() == 14 && EqualsNoCase(name, "content-length")) {
      if (value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return Bad(error, "bad Content-Length \"" + std::string(value) + "\"");
      }
      uint64_t n = 0;
      for (char c : value) n = n * 10 + static_cast<uint64_t>(c - '0');
      if (f->has_content_length && n != f->content_length) {
        return Bad(error, "conflicting Content-Length values");
      }
      f->has_content_length = true;
      f->content_length = n;
    } else if (name.size() == 17 && EqualsNoCase(name, "transfer-encoding")) {
      if (transfer_encoding) return Bad(error, "Transfer-Encoding given twice");
      transfer_encoding = true;
      if (!EqualsNoCase(value, "chunked")) {
        *error = "Transfer-Encoding \"" + std::string(value) + "\" is not supported";
        return HeadStatus::kUnsupportedCoding;
      }
      f->chunked = true;
    }
  }
  if (f->chunked && f->has_content_length) {
    return Bad(error, "both Transfer-Encoding and Content-Length");
  }
  if (f->chunked && version_minor == 0) {
    return Bad(error, "Transfer-Encoding in an HTTP/1.0 message");
  }
  return HeadStatus::kComplete;
}

// Copies the framing into a request or response head; keep-alive by the version's default.
template <typename Head>
void SetFraming(const Framing& f, Head* h) {
  h->content_type = f.content_type;
  h->has_content_length = f.has_content_length;
  h->content_length = f.content_length;
  h->chunked = f.chunked;
  h->keep_alive = h->version_minor == 1 ? !f.close : f.keep_alive_token && !f.close;
}

}  // namespace

HeadStatus ParseRequestHead(std::string_view data, RequestHead* head, size_t* head_bytes,
                            std::string* error) {
  // A server ignores empty lines before the request line (RFC 9112 2.2).
  size_t skipped = 0;
  while (data.size() >= skipped + 2 && data[skipped] == '\r' && data[skipped + 1] == '\n') {
    skipped += 2;
  }
  LineReader r{data.substr(skipped)};
  std::string_view line;
  if (!r.Next(&line)) {
    if (r.bare_lf) return Bad(error, "request line does not end with CRLF");
    return HeadStatus::kIncomplete;
  }
  // request-line = method SP request-target SP HTTP-version
  size_t sp1 = line.find(' ');
  if (sp1 == 0 || sp1 == std::string_view::npos) return Bad(error, "malformed request line");
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) {
    return Bad(error, "malformed request line");
  }
  RequestHead& h = *head;
  {
    auto fields = std::move(h.fields);
    h = RequestHead();
    h.fields = std::move(fields);
    h.fields.clear();
  }
  h.method = line.substr(0, sp1);
  h.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  for (char c : h.method) {
    if (!IsTchar(static_cast<unsigned char>(c))) return Bad(error, "bad character in method");
  }
  if (!TargetChars(h.target)) return Bad(error, "bad character in request target");
  HeadStatus v = ParseVersion(line.substr(sp2 + 1), &h.version_minor, error);
  if (v != HeadStatus::kComplete) return v;

  Framing f;
  HeadStatus st = ParseFields(
      r, h.version_minor, &f,
      [&h](std::string_view name, std::string_view value) {
        h.fields.emplace_back(name, value);
        if (name.size() == 13 && EqualsNoCase(name, "authorization")) h.authorization = value;
        if (name.size() == 12 && EqualsNoCase(name, "x-request-id")) h.request_id = value;
        if (name.size() == 6 && EqualsNoCase(name, "expect") &&
            EqualsNoCase(value, "100-continue")) {
          h.expect_continue = true;
        }
      },
      error);
  if (st != HeadStatus::kComplete) return st;
  SetFraming(f, &h);
  *head_bytes = data.size() - r.data.size();
  return HeadStatus::kComplete;
}

HeadStatus ParseResponseHead(std::string_view data, ResponseHead* head, size_t* head_bytes,
                             std::string* error) {
  LineReader r{data};
  std::string_view line;
  if (!r.Next(&line)) {
    if (r.bare_lf) return Bad(error, "status line does not end with CRLF");
    return HeadStatus::kIncomplete;
  }
  // status-line = HTTP-version SP status-code SP [ reason-phrase ] (the SP before an empty
  // reason is tolerated missing, as common servers omit it)
  ResponseHead& h = *head;
  h = ResponseHead();
  if (line.size() < 12 || line[8] != ' ' || (line.size() > 12 && line[12] != ' ')) {
    return Bad(error, "malformed status line");
  }
  HeadStatus v = ParseVersion(line.substr(0, 8), &h.version_minor, error);
  if (v != HeadStatus::kComplete) return v;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return Bad(error, "malformed status code");
    h.status = h.status * 10 + (line[i] - '0');
  }
  if (h.status < 100) return Bad(error, "malformed status code");
  Framing f;
  HeadStatus st = ParseFields(
      r, h.version_minor, &f, [](std::string_view, std::string_view) {}, error);
  if (st != HeadStatus::kComplete) return st;
  SetFraming(f, &h);
  *head_bytes = data.size() - r.data.size();
  return HeadStatus::kComplete;
}

ChunkedDecoder::Result ChunkedDecoder::Feed(std::string_view in, size_t max_body, std::string* body,
                                            size_t* consumed, std::string* error) {
  constexpr size_t kMaxTrailerBytes = 64 << 10;
  constexpr size_t kMaxExtensionBytes = 4 << 10;
  size_t i = 0;
  auto bad = [&](const char* what) {
    *consumed = i;
    *error = what;
    return Result::kBad;
  };
  while (i < in.size()) {
    const char c = in[i];
    switch (state_) {
      case State::kSize: {
        int d = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (d >= 0) {
          if (++size_digits_ > 15) return bad("chunk size too large");
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(d);
          ++i;
        } else if (size_digits_ > 0 && (c == ';' || c == ' ' || c == '\t')) {
          state_ = State::kSizeExt;
          trailer_bytes_ = 0;
          ++i;
        } else if (size_digits_ > 0 && c == '\r') {
          state_ = State::kSizeLf;
          ++i;
        } else {
          return bad("malformed chunk size");
        }
        break;
      }
      case State::kSizeExt:  // chunk extensions are ignored
        if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (c == '\n' || ++trailer_bytes_ > kMaxExtensionBytes) {
          return bad("malformed chunk extension");
        }
        ++i;
        break;
      case State::kSizeLf:
        if (c != '\n') return bad("chunk size line does not end with CRLF");
        ++i;
        size_digits_ = 0;
        trailer_bytes_ = 0;
        state_ = remaining_ == 0 ? State::kTrailer : State::kData;
        break;
      case State::kData: {
        // The whole chunk is checked against the limit, however much of it arrived.
        if (remaining_ > max_body - std::min(max_body, body->size())) {
          *consumed = i;
          *error = "request body too large";
          return Result::kTooLarge;
        }
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - i));
        body->append(in.data() + i, n);
        i += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
        if (c != '\r') return bad("chunk data does not end with CRLF");
        ++i;
        state_ = State::kDataLf;
        break;
      case State::kDataLf:
        if (c != '\n') return bad("chunk data does not end with CRLF");
        ++i;
        state_ = State::kSize;
        break;
      case State::kTrailer:  // at the start of a trailer line, or of the final blank line
        ++i;
        state_ = c == '\r' ? State::kTrailerLf : State::kTrailerLine;
        if (c == '\n') return bad("trailer line does not end with CRLF");
        break;
      case State::kTrailerLf:
        if (c != '\n') return bad("chunked body does not end with CRLF");
        ++i;
        state_ = State::kSize;
        *consumed = i;
        return Result::kDone;
      case State::kTrailerLine:
        if (c == '\n' || ++trailer_bytes_ > kMaxTrailerBytes) return bad("malformed trailer");
        if (c == '\r') state_ = State::kTrailerLineLf;
        ++i;
        break;
      case State::kTrailerLineLf:
        if (c != '\n') return bad("trailer line does not end with CRLF");
        ++i;
        state_ = State::kTrailer;
        break;
    }
  }
  *consumed = i;
  return Result::kNeedMore;
}

}  // namespace bursar::gateway
