#include "common/json_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace bursar {
namespace {

std::string Quoted(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

TEST(JsonTextTest, EscapesLikeNlohmannForValidText) {
  // nlohmann::json is the independent reference: same bytes for every valid UTF-8 input.
  std::string all_ascii;
  for (int c = 1; c < 128; ++c) all_ascii.push_back(static_cast<char>(c));
  for (const std::string& s :
       {std::string(), std::string("plain"), std::string("q\"b\\s/"), all_ascii,
        std::string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), std::string("nul\0in", 6)}) {
    EXPECT_EQ(Quoted(s), nlohmann::json(s).dump()) << s;
  }
}

TEST(JsonTextTest, SpecialBytesAtEveryOffsetOfTheEightByteScan) {
  // The scan skips 8 plain bytes at a time: a byte to escape (or a UTF-8 sequence) in any
  // position of a word, and words of it back to back, must come out as byte by byte.
  for (const std::string& special :
       {std::string("\x01"), std::string("\x1f"), std::string("\""), std::string("\\"),
        std::string("\n"), std::string("\x7f"), std::string(" "), std::string("\xc3\xa9"),
        std::string("\xf0\x9f\x98\x80"), std::string("\0", 1)}) {
    for (size_t at = 0; at < 24; ++at) {
      std::string s(24, 'a');
      s.insert(at, special);
      EXPECT_EQ(Quoted(s), nlohmann::json(s).dump()) << at;
      std::string run;
      for (size_t k = 0; k < at; ++k) run += special;
      EXPECT_EQ(Quoted(run + "tail"), nlohmann::json(run + "tail").dump()) << at;
    }
  }
  std::string invalid(20, 'b');
  invalid[9] = '\xff';
  EXPECT_EQ(Quoted(invalid),
            "\"bbbbbbbbb\xEF\xBF\xBD"
            "bbbbbbbbbb\"");
}

TEST(JsonTextTest, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(Quoted("a\xff"
                   "b"),
            "\"a\xEF\xBF\xBD"
            "b\"");
  EXPECT_EQ(Quoted("\xc0\xaf"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong
  EXPECT_EQ(Quoted("\xe2\x82"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // truncated
  EXPECT_EQ(Quoted("\xed\xa0\x80").size(), 2 + 3 * 3u);           // surrogate
  for (std::string s : {"\xff", "x\xc3", "\xf4\x90\x80\x80", "ok\xed\xbf\xbf"}) {
    // Whatever the bytes, the output is JSON that parses back to valid text.
    auto j = nlohmann::json::parse(Quoted(s), nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << Quoted(s);
    EXPECT_TRUE(j.is_string());
  }
}

TEST(JsonTextTest, EscapedHasNoQuotes) {
  std::string out = "x";
  AppendJsonEscaped(&out, "a\"\n");
  EXPECT_EQ(out, "xa\\\"\\n");
}

TEST(JsonTextTest, Utf8SequenceLength) {
  EXPECT_EQ(Utf8SequenceLength("a", 0), 1u);
  EXPECT_EQ(Utf8SequenceLength("\xc3\xa9", 0), 2u);
  EXPECT_EQ(Utf8SequenceLength("\xe2\x82\xac", 0), 3u);
  EXPECT_EQ(Utf8SequenceLength("\xf0\x9f\x98\x80", 0), 4u);
  EXPECT_EQ(Utf8SequenceLength("\xf0\x9f\x98", 0), 0u);
  EXPECT_EQ(Utf8SequenceLength("\xed\xa0\x80", 0), 0u);
  EXPECT_EQ(Utf8SequenceLength("\x80", 0), 0u);
}

}  // namespace
}  // namespace bursar
