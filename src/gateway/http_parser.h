// HTTP/1.1 message heads (RFC 9112) parsed in place, the server's requests and the upstream
// client's responses: the start line and header fields are string_views into the connection's
// read buffer, so parsing a head allocates nothing. This replaced Beast's parsers on the data
// plane, whose per-field allocations and per-message construction were a measurable part of
// each proxied request (docs/PERFORMANCE.md).
//
// Strict where leniency enables request smuggling or ambiguity: CRLF line endings only, no
// obsolete line folding, no whitespace before a field's colon, one Content-Length value (repeats
// must agree), Transfer-Encoding only "chunked" and never together with Content-Length.
// Errors name what is wrong; the server answers them with 400 (501 for an unknown
// Transfer-Encoding, 505 for an HTTP version other than 1.0/1.1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bursar::gateway {

struct RequestHead {
  std::string_view method;
  std::string_view target;
  int version_minor = 1;  // HTTP/1.<minor>: 0 or 1
  std::string_view authorization;
  std::string_view request_id;  // x-request-id
  std::string_view content_type;
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool chunked = false;
  bool keep_alive = true;  // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with keep-alive
  bool expect_continue = false;
  // Every field in order (name, value), optional whitespace trimmed from the value.
  std::vector<std::pair<std::string_view, std::string_view>> fields;
};

// A response's status line and the fields the upstream client reads.
struct ResponseHead {
  int status = 0;
  int version_minor = 1;
  std::string_view content_type;
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool chunked = false;
  bool keep_alive = true;
};

enum class HeadStatus { kComplete, kIncomplete, kBad, kUnsupportedVersion, kUnsupportedCoding };

// Parses the request line and header fields at the start of `data`. kComplete: `*head` is
// filled and `*head_bytes` is the length through the blank line. kIncomplete: the blank line
// has not arrived yet (the caller enforces the header size limit). Otherwise `*error` says
// what is wrong. `head->fields` is reused (cleared first).
HeadStatus ParseRequestHead(std::string_view data, RequestHead* head, size_t* head_bytes,
                            std::string* error);

// The same for a response head (the upstream client's side). Without Content-Length or chunked
// coding, the body runs until the connection closes (the caller's framing decision, with the
// status: 1xx, 204 and 304 have none).
HeadStatus ParseResponseHead(std::string_view data, ResponseHead* head, size_t* head_bytes,
                             std::string* error);

// Incremental decoder of a chunked body: feed it bytes as they arrive; it appends the payload to
// `body` and reports how many bytes it consumed. Trailer fields are read and dropped.
class ChunkedDecoder {
 public:
  enum class Result { kNeedMore, kDone, kBad, kTooLarge };
  // Consumes from `in` (sets *consumed); stops at the end of the body (kDone; bytes after it
  // are the next request's). kTooLarge once the payload would exceed `max_body`.
  Result Feed(std::string_view in, size_t max_body, std::string* body, size_t* consumed,
              std::string* error);

 private:
  enum class State {
    kSize,
    kSizeExt,
    kSizeLf,
    kData,
    kDataCr,
    kDataLf,
    kTrailer,
    kTrailerLf,
    kTrailerLine,
    kTrailerLineLf
  };
  State state_ = State::kSize;
  uint64_t remaining_ = 0;  // of the current chunk
  int size_digits_ = 0;
  size_t trailer_bytes_ = 0;
};

}  // namespace bursar::gateway
