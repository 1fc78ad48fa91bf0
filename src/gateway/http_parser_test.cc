#include "gateway/http_parser.h"

#include <gtest/gtest.h>

namespace bursar::gateway {
namespace {

struct Parsed {
  HeadStatus status;
  RequestHead head;
  size_t bytes = 0;
  std::string error;
};

Parsed Parse(std::string_view data) {
  Parsed p;
  p.status = ParseRequestHead(data, &p.head, &p.bytes, &p.error);
  return p;
}

TEST(HttpParserTest, ParsesRequestLineAndTheFieldsTheGatewayReads) {
  std::string data =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nauthorization:  Bearer sk-1 \r\n"
      "Content-Type: application/json\r\nX-Request-Id: abc\r\nContent-Length: 12\r\n\r\n"
      "{\"a\":\"body\"}";
  Parsed p = Parse(data);
  ASSERT_EQ(p.status, HeadStatus::kComplete) << p.error;
  EXPECT_EQ(p.head.method, "POST");
  EXPECT_EQ(p.head.target, "/v1/chat/completions");
  EXPECT_EQ(p.head.version_minor, 1);
  EXPECT_EQ(p.head.authorization, "Bearer sk-1");
  EXPECT_EQ(p.head.content_type, "application/json");
  EXPECT_EQ(p.head.request_id, "abc");
  EXPECT_TRUE(p.head.has_content_length);
  EXPECT_EQ(p.head.content_length, 12u);
  EXPECT_FALSE(p.head.chunked);
  EXPECT_TRUE(p.head.keep_alive);
  EXPECT_EQ(p.bytes, data.size() - 12);
  ASSERT_EQ(p.head.fields.size(), 5u);
  EXPECT_EQ(p.head.fields[0], (std::pair<std::string_view, std::string_view>("Host", "gw")));
}

TEST(HttpParserTest, IncompleteUntilTheBlankLineArrives) {
  std::string data = "GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n";
  for (size_t n = 0; n < data.size(); ++n) {
    EXPECT_EQ(Parse(data.substr(0, n)).status, HeadStatus::kIncomplete) << n;
  }
  EXPECT_EQ(Parse(data).status, HeadStatus::kComplete);
  // Leading empty lines are skipped and counted.
  Parsed p = Parse("\r\n\r\n" + data + "next");
  ASSERT_EQ(p.status, HeadStatus::kComplete);
  EXPECT_EQ(p.bytes, data.size() + 4);
}

TEST(HttpParserTest, KeepAliveFollowsVersionAndConnection) {
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").head.keep_alive);
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n").head.keep_alive);
  EXPECT_FALSE(Parse("GET / HTTP/1.0\r\n\r\n").head.keep_alive);
  EXPECT_TRUE(Parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").head.keep_alive);
  EXPECT_TRUE(Parse("GET / HTTP/1.1\r\n\r\n").head.keep_alive);
  EXPECT_TRUE(Parse("POST / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n").head.expect_continue);
}

TEST(HttpParserTest, RejectsAmbiguousFramingAndMalformedLines) {
  struct Case {
    const char* data;
    HeadStatus want;
    const char* error_has;
  } cases[] = {
      {"GET / HTTP/1.1\nHost: a\r\n\r\n", HeadStatus::kBad, "CRLF"},
      {"GET / HTTP/1.1\r\nHost: a\n\r\n", HeadStatus::kBad, "CRLF"},
      {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", HeadStatus::kBad, "folding"},
      {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", HeadStatus::kBad, "header name"},
      {"GET / HTTP/1.1\r\n: a\r\n\r\n", HeadStatus::kBad, "without a name"},
      {"GET / HTTP/1.1\r\nX: a\x01"
       "b\r\n\r\n",
       HeadStatus::kBad, "bad character"},
      {"GET  / HTTP/1.1\r\n\r\n", HeadStatus::kBad, "request line"},
      {"GET /a b HTTP/1.1\r\n\r\n", HeadStatus::kBad, "version"},
      {"G(T / HTTP/1.1\r\n\r\n", HeadStatus::kBad, "method"},
      {"GET / HTTP/2.0\r\n\r\n", HeadStatus::kUnsupportedVersion, "2.0"},
      {"GET / HTTX/1.1\r\n\r\n", HeadStatus::kBad, "version"},
      {"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", HeadStatus::kBad, "Content-Length"},
      {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", HeadStatus::kBad, "Content-Length"},
      {"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", HeadStatus::kBad,
       "Content-Length"},
      {"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", HeadStatus::kBad,
       "conflicting"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
       HeadStatus::kBad, "both"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
       HeadStatus::kUnsupportedCoding, "gzip"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
       HeadStatus::kBad, "twice"},
      {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", HeadStatus::kBad, "HTTP/1.0"},
  };
  for (const Case& c : cases) {
    Parsed p = Parse(c.data);
    EXPECT_EQ(p.status, c.want) << c.data;
    EXPECT_NE(p.error.find(c.error_has), std::string::npos) << c.data << " -> " << p.error;
  }
  // Repeated equal Content-Length values are one value.
  Parsed same = Parse("POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n");
  EXPECT_EQ(same.status, HeadStatus::kComplete);
  EXPECT_EQ(same.head.content_length, 3u);
}

// Names and values are checked and matched 8 bytes at a time; every byte position counts.
TEST(HttpParserTest, FieldsMatchInAnyCaseAndOnlyTheirOwnBytes) {
  Parsed p = Parse(
      "POST /v1/a HTTP/1.0\r\nCONTENT-LENGTH: 3\r\nx-ReQuEsT-iD: r\r\n"
      "AUTHORIZATION: Bearer k\r\nConnection: x, KEEP-ALIVE\r\n\r\n");
  ASSERT_EQ(p.status, HeadStatus::kComplete) << p.error;
  EXPECT_EQ(p.head.content_length, 3u);
  EXPECT_EQ(p.head.request_id, "r");
  EXPECT_EQ(p.head.authorization, "Bearer k");
  EXPECT_TRUE(p.head.keep_alive);
  // A name that differs from one the gateway reads only in a punctuation byte does not match.
  p = Parse("POST / HTTP/1.1\r\nContent_Length: 3\r\nX^Request-Id: r\r\n\r\n");
  ASSERT_EQ(p.status, HeadStatus::kComplete) << p.error;
  EXPECT_FALSE(p.head.has_content_length);
  EXPECT_EQ(p.head.request_id, "");
  p = Parse("POST / HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n");
  ASSERT_EQ(p.status, HeadStatus::kComplete) << p.error;
  EXPECT_TRUE(p.head.chunked);
  p = Parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunke\x04\r\n\r\n");
  EXPECT_EQ(p.status, HeadStatus::kBad);
  // A control byte or DEL anywhere in a long value or target is refused; a tab in a value is not.
  const std::string value(40, 'v');
  for (size_t at = 0; at < value.size(); ++at) {
    for (char bad : {'\x01', '\x1f', '\x7f'}) {
      std::string v = value;
      v[at] = bad;
      EXPECT_EQ(Parse("GET / HTTP/1.1\r\nX-A: " + v + "\r\n\r\n").status, HeadStatus::kBad) << at;
      EXPECT_EQ(Parse("GET /" + v + " HTTP/1.1\r\n\r\n").status, HeadStatus::kBad) << at;
    }
    std::string v = value;
    v[at] = '\t';
    p = Parse("GET / HTTP/1.1\r\nX-A: " + v + "\r\n\r\n");
    ASSERT_EQ(p.status, HeadStatus::kComplete) << at << " " << p.error;
    v[at] = ' ';
    EXPECT_EQ(Parse("GET /" + v + " HTTP/1.1\r\n\r\n").status, HeadStatus::kBad) << at;
    v[at] = '\x80';  // obs-text: allowed in a value and (as the gateway checks it) a target
    EXPECT_EQ(Parse("GET / HTTP/1.1\r\nX-A: " + v + "\r\n\r\n").status, HeadStatus::kComplete);
    EXPECT_EQ(Parse("GET /" + v + " HTTP/1.1\r\n\r\n").status, HeadStatus::kComplete);
  }
}

TEST(HttpParserTest, ParsesResponseHeads) {
  ResponseHead h;
  size_t bytes = 0;
  std::string error;
  std::string data =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
  ASSERT_EQ(ParseResponseHead(data, &h, &bytes, &error), HeadStatus::kComplete) << error;
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.content_type, "application/json");
  EXPECT_EQ(h.content_length, 2u);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(bytes, data.size() - 2);
  // No reason phrase (with or without its space), chunked, HTTP/1.0 closes by default.
  ASSERT_EQ(
      ParseResponseHead("HTTP/1.1 502\r\nTransfer-Encoding: chunked\r\n\r\n", &h, &bytes, &error),
      HeadStatus::kComplete)
      << error;
  EXPECT_EQ(h.status, 502);
  EXPECT_TRUE(h.chunked);
  ASSERT_EQ(ParseResponseHead("HTTP/1.0 204 \r\n\r\n", &h, &bytes, &error), HeadStatus::kComplete);
  EXPECT_FALSE(h.keep_alive);
  EXPECT_EQ(ParseResponseHead("HTTP/1.1 200 OK\r\nContent-", &h, &bytes, &error),
            HeadStatus::kIncomplete);
  for (const char* bad : {"HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n",
                          "HTTP/1.1 099 Low\r\n\r\n", "ICY 200 OK\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"}) {
    EXPECT_EQ(ParseResponseHead(bad, &h, &bytes, &error), HeadStatus::kBad) << bad;
  }
}

// Decodes `body` fed in pieces of `step` bytes; returns the payload or "ERR:<error>".
std::string Dechunk(std::string_view body, size_t step, size_t max = 1 << 20,
                    size_t* left = nullptr) {
  ChunkedDecoder d;
  std::string out, error;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t used = 0;
    auto piece = body.substr(pos, step);
    auto r = d.Feed(piece, max, &out, &used, &error);
    pos += used;
    if (r == ChunkedDecoder::Result::kDone) {
      if (left) *left = body.size() - pos;
      return out;
    }
    if (r == ChunkedDecoder::Result::kBad) return "ERR:" + error;
    if (r == ChunkedDecoder::Result::kTooLarge) return "ERR:" + error;
    EXPECT_EQ(used, piece.size());
  }
  return "ERR:incomplete";
}

TEST(HttpParserTest, ChunkedBodiesDecodeInAnyPieces) {
  std::string body =
      "5\r\nhello\r\n7;ext=1\r\n, world\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nNEXT";
  for (size_t step : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, body.size()}) {
    size_t left = 0;
    EXPECT_EQ(Dechunk(body, step, 1 << 20, &left), "hello, world0123456789") << step;
    EXPECT_EQ(left, 4u) << step;  // "NEXT" belongs to the next request
  }
  EXPECT_EQ(Dechunk("0\r\n\r\n", 1), "");
}

TEST(HttpParserTest, MalformedOrOversizedChunkedBodiesAreRefused) {
  EXPECT_EQ(Dechunk("g\r\nx\r\n0\r\n\r\n", 4), "ERR:malformed chunk size");
  EXPECT_EQ(Dechunk("3\r\nabcX\r\n0\r\n\r\n", 4), "ERR:chunk data does not end with CRLF");
  EXPECT_EQ(Dechunk("3\nabc\r\n0\r\n\r\n", 4), "ERR:malformed chunk size");
  EXPECT_EQ(Dechunk("ffffffffffffffff\r\n", 4), "ERR:chunk size too large");
  EXPECT_EQ(Dechunk("0\r\nX\n\r\n", 4), "ERR:malformed trailer");
  EXPECT_EQ(Dechunk("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 3, 8), "ERR:request body too large");
}

}  // namespace
}  // namespace bursar::gateway
