#include "gateway/audio.h"

#include <string>

namespace bursar::gateway {
namespace {

uint32_t Le16(std::string_view b, size_t i) {
  return static_cast<uint8_t>(b[i]) | (static_cast<uint32_t>(static_cast<uint8_t>(b[i + 1])) << 8);
}
uint32_t Le32(std::string_view b, size_t i) { return Le16(b, i) | (Le16(b, i + 2) << 16); }
uint32_t Be32(std::string_view b, size_t i) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(b[i])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[i + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[i + 2])) << 8) |
         static_cast<uint8_t>(b[i + 3]);
}
uint8_t U8(std::string_view b, size_t i) { return static_cast<uint8_t>(b[i]); }

int64_t CeilDiv(__int128 a, __int128 b) { return static_cast<int64_t>((a + b - 1) / b); }

constexpr int kBitrates[5][16] = {
    {0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 0},  // V1 L1
    {0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 0},     // V1 L2
    {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0},      // V1 L3
    {0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256, 0},     // V2 L1
    {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0},          // V2 L2/L3
};
constexpr int kSampleRates[3][3] = {
    {44100, 48000, 32000}, {22050, 24000, 16000}, {11025, 12000, 8000}};

struct Mp3Frame {
  int version = 0;  // 1: MPEG1, 2: MPEG2, 3: MPEG2.5
  int layer = 0;    // 1, 2, 3
  int kbps = 0;
  int sample_rate = 0;
  bool mono = false;
};

bool ParseMp3Header(std::string_view b, size_t i, Mp3Frame* f) {
  if (i + 4 > b.size()) return false;
  if (U8(b, i) != 0xFF || (U8(b, i + 1) & 0xE0) != 0xE0) return false;
  const int v = (U8(b, i + 1) >> 3) & 3;
  const int l = (U8(b, i + 1) >> 1) & 3;
  const int br = U8(b, i + 2) >> 4;
  const int sr = (U8(b, i + 2) >> 2) & 3;
  if (v == 1 || l == 0 || br == 0 || br == 15 || sr == 3) return false;
  f->version = v == 3 ? 1 : (v == 2 ? 2 : 3);
  f->layer = 4 - l;
  const int table = f->version == 1 ? f->layer - 1 : (f->layer == 1 ? 3 : 4);
  f->kbps = kBitrates[table][br];
  f->sample_rate = kSampleRates[f->version - 1][sr];
  f->mono = ((U8(b, i + 3) >> 6) & 3) == 3;
  return true;
}

}  // namespace

StatusOr<int64_t> WavDurationMillis(std::string_view b) {
  if (b.size() < 12 || b.substr(0, 4) != "RIFF" || b.substr(8, 4) != "WAVE") {
    return InvalidArgumentError("wav: not a RIFF/WAVE file");
  }
  bool have_fmt = false, have_data = false;
  uint32_t format = 0, sample_rate = 0, byte_rate = 0, block_align = 0;
  uint64_t data_size = 0;
  size_t i = 12;
  while (i + 8 <= b.size() && !(have_fmt && have_data)) {
    const std::string_view id = b.substr(i, 4);
    const uint64_t size = Le32(b, i + 4);
    const size_t body = i + 8;
    const uint64_t present = b.size() - body;
    if (id == "fmt ") {
      if (size < 16 || present < 16) return InvalidArgumentError("wav: fmt chunk too short");
      format = Le16(b, body);
      sample_rate = Le32(b, body + 4);
      byte_rate = Le32(b, body + 8);
      block_align = Le16(b, body + 12);
      have_fmt = true;
    } else if (id == "data") {
      data_size = (size == 0xFFFFFFFFu || (size == 0 && present > 0)) ? present : size;
      have_data = true;
    }
    if (size > present) break;  // chunk runs past what we have
    i = body + size + (size & 1);
  }
  if (!have_fmt) return InvalidArgumentError("wav: no fmt chunk");
  if (!have_data) return InvalidArgumentError("wav: no data chunk");
  const bool pcm_like =
      format == 1 || format == 3 || format == 6 || format == 7 || format == 0xFFFE;
  if (pcm_like && block_align > 0 && sample_rate > 0) {
    const uint64_t frames = data_size / block_align;
    return CeilDiv(static_cast<__int128>(frames) * 1000, sample_rate);
  }
  if (byte_rate == 0) return InvalidArgumentError("wav: byte rate is 0");
  return CeilDiv(static_cast<__int128>(data_size) * 1000, byte_rate);
}

StatusOr<int64_t> Mp3DurationMillis(std::string_view b) {
  size_t start = 0;
  if (b.size() >= 10 && b.substr(0, 3) == "ID3") {
    const uint32_t size = ((U8(b, 6) & 0x7F) << 21) | ((U8(b, 7) & 0x7F) << 14) |
                          ((U8(b, 8) & 0x7F) << 7) | (U8(b, 9) & 0x7F);
    start = 10 + static_cast<size_t>(size) + ((U8(b, 5) & 0x10) ? 10 : 0);
  }
  constexpr size_t kSearch = 64 << 10;
  Mp3Frame f;
  size_t i = start;
  const size_t limit = b.size() < start + kSearch ? b.size() : start + kSearch;
  while (i < limit && !ParseMp3Header(b, i, &f)) ++i;
  if (i >= limit) return InvalidArgumentError("mp3: no frame header found");
  if (f.layer == 3) {
    // A Xing/Info header in the first frame gives the exact number of frames.
    const size_t side = f.version == 1 ? (f.mono ? 17 : 32) : (f.mono ? 9 : 17);
    const size_t x = i + 4 + side;
    if (x + 12 <= b.size() && (b.substr(x, 4) == "Xing" || b.substr(x, 4) == "Info") &&
        (Be32(b, x + 4) & 1)) {
      const uint64_t frames = Be32(b, x + 8);
      const int samples = f.version == 1 ? 1152 : 576;
      return CeilDiv(static_cast<__int128>(frames) * samples * 1000, f.sample_rate);
    }
  }
  const uint64_t audio_bytes = b.size() - i;
  return CeilDiv(static_cast<__int128>(audio_bytes) * 8, f.kbps);
}

StatusOr<int64_t> AudioDurationMillis(std::string_view format, std::string_view bytes) {
  if (format == "wav") return WavDurationMillis(bytes);
  if (format == "mp3") return Mp3DurationMillis(bytes);
  return UnimplementedError("audio format \"" + std::string(format) +
                            "\" has no duration decoder (wav and mp3 do)");
}

}  // namespace bursar::gateway
