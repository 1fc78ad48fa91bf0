#include "gateway/audio.h"

#include <gtest/gtest.h>

#include <string>

namespace bursar::gateway {
namespace {

void PutLe(std::string* s, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

std::string Chunk(std::string_view id, std::string_view body, uint32_t declared) {
  std::string c(id);
  PutLe(&c, declared, 4);
  c += body;
  if (body.size() & 1) c.push_back('\0');
  return c;
}

std::string Fmt(uint16_t format, uint16_t channels, uint32_t rate, uint16_t bits) {
  std::string f;
  const uint16_t align = static_cast<uint16_t>(channels * bits / 8);
  PutLe(&f, format, 2);
  PutLe(&f, channels, 2);
  PutLe(&f, rate, 4);
  PutLe(&f, rate * align, 4);
  PutLe(&f, align, 2);
  PutLe(&f, bits, 2);
  return f;
}

std::string Wav(const std::string& chunks) {
  std::string w = "RIFF";
  PutLe(&w, static_cast<uint32_t>(chunks.size() + 4), 4);
  return w + "WAVE" + chunks;
}

TEST(WavTest, ExactDurationRoundedUpToMillis) {
  // 16 kHz mono 16-bit, 16001 frames: 1000.0625 ms -> 1001.
  const std::string data(size_t{16001} * 2, '\0');
  auto ms = WavDurationMillis(Wav(Chunk("fmt ", Fmt(1, 1, 16000, 16), 16) +
                                  Chunk("data", data, static_cast<uint32_t>(data.size()))));
  ASSERT_TRUE(ms.ok()) << ms.status().ToString();
  EXPECT_EQ(*ms, 1001);
  // 44.1 kHz stereo 16-bit, 22050 frames: exactly 500 ms; a LIST chunk (odd size) comes first.
  const std::string data2(size_t{22050} * 4, '\0');
  auto ms2 =
      WavDurationMillis(Wav(Chunk("LIST", "abc", 3) + Chunk("fmt ", Fmt(1, 2, 44100, 16), 16) +
                            Chunk("data", data2, static_cast<uint32_t>(data2.size()))));
  ASSERT_TRUE(ms2.ok()) << ms2.status().ToString();
  EXPECT_EQ(*ms2, 500);
}

TEST(WavTest, StreamingSizesAndDeclaredSizes) {
  const std::string data(8000, '\0');  // 8 kHz mono 8-bit: 1000 ms present
  auto streamed = WavDurationMillis(
      Wav(Chunk("fmt ", Fmt(1, 1, 8000, 8), 16) + Chunk("data", data, 0xFFFFFFFFu)));
  ASSERT_TRUE(streamed.ok());
  EXPECT_EQ(*streamed, 1000);
  // Declared 16000 bytes but only 8000 present (a prefix): the declared size counts.
  auto declared =
      WavDurationMillis(Wav(Chunk("fmt ", Fmt(1, 1, 8000, 8), 16) + Chunk("data", data, 16000)));
  ASSERT_TRUE(declared.ok());
  EXPECT_EQ(*declared, 2000);
}

TEST(WavTest, Errors) {
  EXPECT_EQ(WavDurationMillis("RIFX").status().message(), "wav: not a RIFF/WAVE file");
  EXPECT_EQ(WavDurationMillis(Wav(Chunk("data", "ab", 2))).status().message(), "wav: no fmt chunk");
  EXPECT_EQ(WavDurationMillis(Wav(Chunk("fmt ", Fmt(1, 1, 8000, 8), 16))).status().message(),
            "wav: no data chunk");
  EXPECT_EQ(WavDurationMillis(Wav(Chunk("fmt ", "abc", 3))).status().message(),
            "wav: fmt chunk too short");
  EXPECT_EQ(AudioDurationMillis("flac", "x").status().code(), StatusCode::kUnimplemented);
}

std::string Mp3Frames(int count) {
  // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, stereo, no padding: 417 bytes a frame.
  std::string frame("\xFF\xFB\x90\x00", 4);
  frame.resize(417, '\0');
  std::string out;
  for (int i = 0; i < count; ++i) out += frame;
  return out;
}

TEST(Mp3Test, CbrEstimateFromBitrate) {
  auto ms = Mp3DurationMillis(Mp3Frames(10));  // 4170 bytes * 8 / 128 kbit/s = 260.625 ms
  ASSERT_TRUE(ms.ok()) << ms.status().ToString();
  EXPECT_EQ(*ms, 261);
  // An ID3v2 tag of 20 bytes is skipped.
  std::string id3("ID3\x03\x00\x00\x00\x00\x00\x14", 10);
  id3 += std::string(20, 'x');
  auto tagged = AudioDurationMillis("mp3", id3 + Mp3Frames(10));
  ASSERT_TRUE(tagged.ok());
  EXPECT_EQ(*tagged, 261);
}

TEST(Mp3Test, XingFrameCountIsExact) {
  std::string b = Mp3Frames(3);
  // Stereo MPEG-1: Xing tag after 4 header bytes + 32 bytes of side info.
  b.replace(36, 12, std::string("Xing\x00\x00\x00\x01\x00\x00\x00\x64", 12));  // 100 frames
  auto ms = Mp3DurationMillis(b);
  ASSERT_TRUE(ms.ok());
  EXPECT_EQ(*ms, 2613);  // 100 * 1152 / 44100 s = 2612.24 ms
  EXPECT_EQ(Mp3DurationMillis("not audio").status().message(), "mp3: no frame header found");
}

}  // namespace
}  // namespace bursar::gateway
