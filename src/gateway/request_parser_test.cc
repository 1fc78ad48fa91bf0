#include "gateway/request_parser.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace bursar::gateway {
namespace {

std::string PngDataUrl() {
  const char* dir = std::getenv("BURSAR_SOURCE_DIR");
  std::ifstream in(
      std::string(dir ? dir : BURSAR_SOURCE_DIR) + "/fuzz/corpus/image_header_fuzz/png37x23.png",
      std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return "data:image/png;base64," + EncodeBase64(ss.str());
}

std::string TinyWavBase64() {
  // 8 kHz mono 8-bit, 4000 samples = 500 ms.
  std::string w = "RIFF";
  auto le = [&w](uint32_t v, int n) {
    for (int i = 0; i < n; ++i) w.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  le(36 + 4000, 4);
  w += "WAVEfmt ";
  le(16, 4);
  le(1, 2);
  le(1, 2);
  le(8000, 4);
  le(8000, 4);
  le(1, 2);
  le(8, 2);
  w += "data";
  le(4000, 4);
  w += std::string(4000, '\x80');
  return EncodeBase64(w);
}

TEST(RequestParserTest, TextChat) {
  auto r = ParseChatRequest(R"({"model":"chat-default","stream":true,
    "stream_options":{"include_usage":false},"max_tokens":200,"n":2,"user":"u-1",
    "messages":[{"role":"system","content":"You are helpful."},
                {"role":"user","content":"h\u00e9llo w\u00f6rld","name":"ann"}],
    "temperature":0.2})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->kind, RequestKind::kChatCompletions);
  EXPECT_EQ(r->model, "chat-default");
  EXPECT_TRUE(r->stream);
  EXPECT_FALSE(r->include_usage);
  EXPECT_EQ(r->max_tokens, 200);
  EXPECT_EQ(r->n, 2);
  EXPECT_EQ(r->user, "u-1");
  EXPECT_EQ(r->message_count, 2);
  // "You are helpful." 16 + "héllo wörld" 11 chars / 13 bytes + "ann" 3.
  EXPECT_EQ(r->text_chars, 30);
  EXPECT_EQ(r->text_bytes, 32);
  EXPECT_TRUE(r->images.empty());
}

TEST(RequestParserTest, CountsCodePointsOfMultibyteText) {
  // 2-, 3- and 4-byte sequences across 8-byte words: 22 code points in 34 bytes.
  auto r = ParseChatRequest(
      R"({"model":"m","messages":[{"role":"user","content":"caf\u00e9 \u65e5\u672c\u8a9e\ud83d\ude00 na\u00efve \u00fcber!!"}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->text_chars, 22);
  EXPECT_EQ(r->text_bytes, 34);
}

TEST(RequestParserTest, MaxCompletionTokensWinsInAnyOrder) {
  auto a =
      ParseChatRequest(R"({"max_completion_tokens":7,"max_tokens":9,"model":"m","messages":[]})");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->max_tokens, 7);
  auto b =
      ParseChatRequest(R"({"max_tokens":9,"max_completion_tokens":7,"model":"m","messages":[]})");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->max_tokens, 7);
  auto c = ParseChatRequest(R"({"max_tokens":null,"model":"m","messages":[],"n":null})");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->max_tokens.has_value());
  EXPECT_EQ(c->n, 1);
}

TEST(RequestParserTest, MultimodalParts) {
  const std::string body =
      R"({"model":"vision","messages":[{"role":"user","content":[
        {"type":"text","text":"What is in these?"},
        {"type":"image_url","image_url":{"url":")" +
      PngDataUrl() + R"(","detail":"high"}},
        {"image_url":{"detail":"low","url":"https://example.com/cat.jpg"},"type":"image_url"},
        {"type":"input_audio","input_audio":{"data":")" +
      TinyWavBase64() + R"(","format":"wav"}}]}]})";
  auto r = ParseChatRequest(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->text_chars, 17);
  ASSERT_EQ(r->images.size(), 2u);
  EXPECT_TRUE(r->images[0].inline_data);
  EXPECT_EQ(r->images[0].media_type, "image/png");
  EXPECT_EQ(r->images[0].detail, ImageDetail::kHigh);
  ASSERT_TRUE(r->images[0].info.has_value());
  EXPECT_EQ(*r->images[0].info, (ImageInfo{ImageFormat::kPng, 37, 23}));
  EXPECT_GT(r->images[0].data_bytes, 0u);
  EXPECT_TRUE(r->images[0].url.empty());
  EXPECT_FALSE(r->images[1].inline_data);
  EXPECT_EQ(r->images[1].url, "https://example.com/cat.jpg");
  EXPECT_EQ(r->images[1].detail, ImageDetail::kLow);
  EXPECT_FALSE(r->images[1].info.has_value());
  ASSERT_EQ(r->audio.size(), 1u);
  EXPECT_EQ(r->audio[0].format, "wav");
  EXPECT_EQ(r->audio[0].data_bytes, 4044u);
  EXPECT_EQ(r->audio[0].duration_ms, 500);
}

TEST(RequestParserTest, JpegFrameHeaderBeyondTheFirst64KiB) {
  const char* dir = std::getenv("BURSAR_SOURCE_DIR");
  std::ifstream in(
      std::string(dir ? dir : BURSAR_SOURCE_DIR) + "/fuzz/corpus/image_header_fuzz/jpeg41x19.jpg",
      std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string jpeg = ss.str();
  // SOI, two 64 KiB comment segments, then the rest of the real file.
  std::string big = jpeg.substr(0, 2);
  for (int i = 0; i < 2; ++i) {
    big += std::string("\xFF\xFE\xFF\xFF", 4);
    big += std::string(65533, 'c');
  }
  big += jpeg.substr(2);
  auto r = ParseChatRequest(
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,)" +
      EncodeBase64(big) + R"("}}]}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->images.size(), 1u);
  EXPECT_EQ(*r->images[0].info, (ImageInfo{ImageFormat::kJpeg, 41, 19}));
  EXPECT_EQ(r->images[0].data_bytes, big.size());
}

void ExpectError(std::string_view body, StatusCode code, std::string_view message) {
  auto r = ParseChatRequest(body);
  ASSERT_FALSE(r.ok()) << body;
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  EXPECT_EQ(r.status().message(), message);
}

TEST(RequestParserTest, ErrorsNameTheJsonPath) {
  ExpectError(
      R"({"model":"m","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},
      {"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":5}}]}]})",
      StatusCode::kInvalidArgument, "messages[2].content[1].image_url.url: expected a string");
  ExpectError(R"({"messages":[]})", StatusCode::kInvalidArgument,
              "model: required field is missing");
  ExpectError(R"({"model":"m"})", StatusCode::kInvalidArgument,
              "messages: required field is missing");
  ExpectError(R"([1,2])", StatusCode::kInvalidArgument, "body: expected an object");
  ExpectError(R"({"model":7,"messages":[]})", StatusCode::kInvalidArgument,
              "model: expected a string");
  ExpectError(R"({"model":"m","messages":{}})", StatusCode::kInvalidArgument,
              "messages: expected an array");
  ExpectError(R"({"model":"m","messages":[{"content":"x"}]})", StatusCode::kInvalidArgument,
              "messages[0]: role: required field is missing");
  ExpectError(R"({"model":"m","stream":"yes","messages":[]})", StatusCode::kInvalidArgument,
              "stream: expected a boolean");
  ExpectError(R"({"model":"m","max_tokens":1.5,"messages":[]})", StatusCode::kInvalidArgument,
              "max_tokens: expected an integer");
  ExpectError(R"({"model":"m","n":0,"messages":[]})", StatusCode::kInvalidArgument,
              "n: must be at least 1");
  ExpectError(
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x"}}]}]})",
      StatusCode::kInvalidArgument,
      "messages[0].content[0].image_url.url: expected an https:// or data: URL");
  ExpectError(
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,Zm9v"}}]}]})",
      StatusCode::kInvalidArgument,
      "messages[0].content[0].image_url.url: image data too short to identify its "
      "format");
  ExpectError(
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,Zm9"}}]}]})",
      StatusCode::kInvalidArgument,
      "messages[0].content[0].image_url.url: data: URL base64: length 3 is not a "
      "multiple of 4");
  ExpectError(
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x","detail":"max"}}]}]})",
      StatusCode::kInvalidArgument,
      "messages[0].content[0].image_url.detail: expected \"low\", \"high\" or \"auto\"");
  ExpectError(
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}]}]})",
      StatusCode::kInvalidArgument,
      "messages[0].content[0].input_audio.data: wav: not a RIFF/WAVE file");
  ExpectError(R"({"model":"m","messages":[{"role":"user","content":[{"text":"x"}]}]})",
              StatusCode::kInvalidArgument,
              "messages[0].content[0]: type: required field is missing");
}

TEST(RequestParserTest, MalformedJson) {
  for (std::string_view body : {"", "{", R"({"model":"m")", R"({"model":"m","messages":[]} x)",
                                "{\"model\":\"m\xff\",\"messages\":[]}", "nul"}) {
    auto r = ParseChatRequest(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  }
}

TEST(RequestParserTest, Limits) {
  std::string body = R"({"model":"m","messages":[)";
  for (size_t i = 0; i <= kMaxMessages; ++i) {
    body += i ? "," : "";
    body += R"({"role":"user","content":"x"})";
  }
  body += "]}";
  auto r = ParseChatRequest(body);
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(ParseChatRequest(std::string(kMaxRequestBodyBytes + 1, ' ')).status().code(),
            StatusCode::kResourceExhausted);
}

TEST(RequestParserTest, Embeddings) {
  auto one = ParseEmbeddingsRequest(R"({"model":"emb","input":"hello world"})");
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->kind, RequestKind::kEmbeddings);
  EXPECT_EQ(one->input_count, 1);
  EXPECT_EQ(one->text_chars, 11);
  auto many = ParseEmbeddingsRequest(R"({"model":"emb","input":["ab","cde"],"user":"x"})");
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(many->input_count, 2);
  EXPECT_EQ(many->text_chars, 5);
  auto ids = ParseEmbeddingsRequest(R"({"model":"emb","input":[1,2,3]})");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->input_count, 1);
  EXPECT_EQ(ids->input_token_ids, 3);
  auto nested = ParseEmbeddingsRequest(R"({"model":"emb","input":[[1,2],[3]]})");
  ASSERT_TRUE(nested.ok());
  EXPECT_EQ(nested->input_count, 2);
  EXPECT_EQ(nested->input_token_ids, 3);
  EXPECT_EQ(ParseEmbeddingsRequest(R"({"model":"emb","input":[{}]})").status().message(),
            "input[0]: expected a string, a token id or an array of token ids");
  EXPECT_EQ(ParseEmbeddingsRequest(R"({"model":"emb","input":[[1,"a"]]})").status().message(),
            "input[0][1]: expected an integer token id");
  EXPECT_EQ(ParseEmbeddingsRequest(R"({"model":"emb"})").status().message(),
            "input: required field is missing");
}

TEST(RewriteTest, ReplacesModelKeepsOtherBytes) {
  const std::string body =
      R"({ "model" : "chat-default" , "messages":[{"role":"user","content":"hi"}],  "temperature":0.70 })";
  auto out = RewriteRequestBody(body, "gpt-4o-2024-08-06", false);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(
      *out,
      R"({ "model" : "gpt-4o-2024-08-06" , "messages":[{"role":"user","content":"hi"}],  "temperature":0.70 })");
  auto escaped = RewriteRequestBody(R"({"model":"a"})", "we\"ird\\id", false);
  ASSERT_TRUE(escaped.ok());
  EXPECT_EQ(*escaped, R"({"model":"we\"ird\\id"})");
}

TEST(RewriteTest, EnsuresIncludeUsage) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {R"({"model":"a","stream":true})",
       R"({"model":"b","stream":true,"stream_options":{"include_usage":true}})"},
      {R"({"model":"a","stream":true,"stream_options":{"include_usage":false}})",
       R"({"model":"b","stream":true,"stream_options":{"include_usage":true}})"},
      {R"({"model":"a","stream_options":{ },"stream":true})",
       R"({"model":"b","stream_options":{"include_usage":true },"stream":true})"},
      {R"({"model":"a","stream_options":{"x":1}})",
       R"({"model":"b","stream_options":{"include_usage":true,"x":1}})"},
      {R"({"model":"a","stream_options":null} )",
       R"({"model":"b","stream_options":{"include_usage":true}} )"},
      {R"({"stream_options":{"include_usage":true},"model":"a"})",
       R"({"stream_options":{"include_usage":true},"model":"b"})"},
  };
  // Both ways: parsing the body again, and from the scanner alone for a validated body.
  for (bool validated : {false, true}) {
    for (const Case& c : cases) {
      auto out = RewriteRequestBody(c.in, "b", true, validated);
      ASSERT_TRUE(out.ok()) << c.in << " " << out.status().ToString();
      EXPECT_EQ(*out, c.out) << c.in << " validated=" << validated;
    }
    EXPECT_EQ(RewriteRequestBody(R"({"stream":true})", "b", true, validated).status().message(),
              "model: required field is missing");
    EXPECT_EQ(RewriteRequestBody(R"({"model":"a","stream_options":3})", "b", true, validated)
                  .status()
                  .message(),
              "stream_options: expected an object");
  }
  EXPECT_FALSE(RewriteRequestBody("[]", "b", true).ok());
}

// The scanner skips string text 8 bytes at a time: an escape at any offset of a long string
// before "model" must not lose its place (both paths give the same bytes).
TEST(RewriteTest, EscapesAtEveryOffsetBeforeTheModel) {
  for (std::string esc : {R"(\")", R"(\\)", R"(\n)", R"(\u0041)", R"(\\\")", "\xc3\xa9"}) {
    for (size_t at = 0; at < 20; ++at) {
      std::string text(24, 'x');
      text.insert(at, esc);
      const std::string in =
          R"({"messages":[{"role":"user","content":")" + text + R"("}],"model":"a"})";
      const std::string want =
          R"({"messages":[{"role":"user","content":")" + text + R"("}],"model":"b"})";
      for (bool validated : {false, true}) {
        auto out = RewriteRequestBody(in, "b", false, validated);
        ASSERT_TRUE(out.ok()) << in << " " << out.status().ToString();
        EXPECT_EQ(*out, want) << in << " validated=" << validated;
      }
    }
  }
}

// Escaped keys ("mod\u0065l" is "model") are read unescaped on both paths.
TEST(RewriteTest, EscapedKeysAreUnescapedOnTheValidatedPathToo) {
  const char* in = R"({"mod\u0065l":"a","stream_\u006fptions":{"include\u005fusage":false}})";
  for (bool validated : {false, true}) {
    auto out = RewriteRequestBody(in, "b", true, validated);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(*out, R"({"mod\u0065l":"b","stream_\u006fptions":{"include\u005fusage":true}})");
  }
}

}  // namespace
}  // namespace bursar::gateway
