#include "gateway/image_header.h"

#include <array>
#include <cstdint>
#include <string>

namespace bursar::gateway {
namespace {

uint32_t Be16(std::string_view b, size_t i) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(b[i])) << 8) | static_cast<uint8_t>(b[i + 1]);
}
uint32_t Be32(std::string_view b, size_t i) { return (Be16(b, i) << 16) | Be16(b, i + 2); }
uint32_t Le16(std::string_view b, size_t i) {
  return static_cast<uint8_t>(b[i]) | (static_cast<uint32_t>(static_cast<uint8_t>(b[i + 1])) << 8);
}
uint32_t Le24(std::string_view b, size_t i) {
  return Le16(b, i) | (static_cast<uint32_t>(static_cast<uint8_t>(b[i + 2])) << 16);
}
uint32_t Le32(std::string_view b, size_t i) { return Le16(b, i) | (Le16(b, i + 2) << 16); }
uint8_t U8(std::string_view b, size_t i) { return static_cast<uint8_t>(b[i]); }

Status Truncated(std::string_view what) {
  return InvalidArgumentError("truncated " + std::string(what) + " header");
}

StatusOr<ImageInfo> Make(ImageFormat f, uint64_t w, uint64_t h) {
  if (w == 0 || h == 0) {
    return InvalidArgumentError(std::string(ToString(f)) + " image has a zero dimension");
  }
  if (w > 0x7fffffff || h > 0x7fffffff) {
    return InvalidArgumentError(std::string(ToString(f)) + " image dimensions are too large");
  }
  return ImageInfo{f, static_cast<int>(w), static_cast<int>(h)};
}

StatusOr<ImageInfo> DecodePng(std::string_view b) {
  // Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4).
  if (b.size() < 24) return Truncated("png");
  if (b.substr(12, 4) != "IHDR") return InvalidArgumentError("png: first chunk is not IHDR");
  return Make(ImageFormat::kPng, Be32(b, 16), Be32(b, 20));
}

bool IsSof(uint8_t m) { return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC; }

StatusOr<ImageInfo> DecodeJpeg(std::string_view b) {
  size_t i = 2;  // after SOI
  while (true) {
    if (i >= b.size()) return Truncated("jpeg");
    if (U8(b, i) != 0xFF)
      return InvalidArgumentError("jpeg: expected a marker at offset " + std::to_string(i));
    while (i < b.size() && U8(b, i) == 0xFF) ++i;  // fill bytes
    if (i >= b.size()) return Truncated("jpeg");
    const uint8_t marker = U8(b, i++);
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;
    if (marker == 0xD9 || marker == 0xDA) {
      return InvalidArgumentError("jpeg: no frame header (SOF) before the image data");
    }
    if (i + 2 > b.size()) return Truncated("jpeg");
    const uint32_t len = Be16(b, i);
    if (len < 2) return InvalidArgumentError("jpeg: segment length below 2");
    if (IsSof(marker)) {
      // length (2), precision (1), height (2), width (2)
      if (len < 7) return InvalidArgumentError("jpeg: frame header too short");
      if (i + 7 > b.size()) return Truncated("jpeg");
      return Make(ImageFormat::kJpeg, Be16(b, i + 5), Be16(b, i + 3));
    }
    i += len;
  }
}

StatusOr<ImageInfo> DecodeWebp(std::string_view b) {
  if (b.size() < 20) return Truncated("webp");
  const std::string_view chunk = b.substr(12, 4);
  if (chunk == "VP8 ") {
    // frame tag (3), start code 9d 01 2a (3), width (2), height (2): 14-bit each.
    if (b.size() < 30) return Truncated("webp");
    if (U8(b, 23) != 0x9d || U8(b, 24) != 0x01 || U8(b, 25) != 0x2a) {
      return InvalidArgumentError("webp: bad VP8 start code");
    }
    return Make(ImageFormat::kWebp, Le16(b, 26) & 0x3fff, Le16(b, 28) & 0x3fff);
  }
  if (chunk == "VP8L") {
    // signature 0x2f, then 14 bits width-1, 14 bits height-1 (little-endian bit order).
    if (b.size() < 25) return Truncated("webp");
    if (U8(b, 20) != 0x2f) return InvalidArgumentError("webp: bad VP8L signature");
    const uint32_t bits = Le32(b, 21);
    return Make(ImageFormat::kWebp, (bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1);
  }
  if (chunk == "VP8X") {
    // flags (4), canvas width-1 (24 bits), canvas height-1 (24 bits).
    if (b.size() < 30) return Truncated("webp");
    return Make(ImageFormat::kWebp, static_cast<uint64_t>(Le24(b, 24)) + 1,
                static_cast<uint64_t>(Le24(b, 27)) + 1);
  }
  return InvalidArgumentError("webp: unknown first chunk (expected VP8, VP8L or VP8X)");
}

StatusOr<ImageInfo> DecodeGif(std::string_view b) {
  if (b.size() < 10) return Truncated("gif");
  return Make(ImageFormat::kGif, Le16(b, 6), Le16(b, 8));
}

constexpr std::array<int8_t, 256> MakeBase64Table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr std::array<int8_t, 256> kBase64 = MakeBase64Table();

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view ToString(ImageFormat f) {
  switch (f) {
    case ImageFormat::kPng:
      return "png";
    case ImageFormat::kJpeg:
      return "jpeg";
    case ImageFormat::kWebp:
      return "webp";
    case ImageFormat::kGif:
      return "gif";
    case ImageFormat::kUnknown:
      break;
  }
  return "unknown";
}

StatusOr<ImageInfo> DecodeImageHeader(std::string_view b) {
  if (b.size() >= 8 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) {
    return DecodePng(b);
  }
  if (b.size() >= 3 && U8(b, 0) == 0xFF && U8(b, 1) == 0xD8 && U8(b, 2) == 0xFF) {
    return DecodeJpeg(b);
  }
  if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") {
    return DecodeWebp(b);
  }
  if (b.size() >= 6 && (b.substr(0, 6) == "GIF87a" || b.substr(0, 6) == "GIF89a")) {
    return DecodeGif(b);
  }
  if (b.size() < 12) return InvalidArgumentError("image data too short to identify its format");
  return InvalidArgumentError("not a PNG, JPEG, WebP or GIF image");
}

std::string EncodeBase64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v =
        (uint32_t{U8(bytes, i)} << 16) | (uint32_t{U8(bytes, i + 1)} << 8) | U8(bytes, i + 2);
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i < bytes.size()) {
    const bool two = i + 2 == bytes.size();
    const uint32_t v = (uint32_t{U8(bytes, i)} << 16) | (two ? uint32_t{U8(bytes, i + 1)} << 8 : 0);
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(two ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

size_t Base64DecodedSize(std::string_view text) {
  if (text.size() % 4 != 0) return 0;
  size_t n = text.size() / 4 * 3;
  if (!text.empty() && text.back() == '=') --n;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --n;
  return n;
}

StatusOr<std::string> DecodeBase64(std::string_view text, size_t max_decoded_bytes) {
  if (text.size() % 4 != 0) {
    return InvalidArgumentError("base64: length " + std::to_string(text.size()) +
                                " is not a multiple of 4");
  }
  const size_t out_size = Base64DecodedSize(text);
  if (out_size > max_decoded_bytes) {
    return ResourceExhaustedError("base64: decoded size " + std::to_string(out_size) +
                                  " bytes exceeds the limit of " +
                                  std::to_string(max_decoded_bytes));
  }
  std::string out;
  out.resize(out_size);
  size_t o = 0;
  const size_t n = text.size();
  for (size_t i = 0; i < n; i += 4) {
    int8_t v[4];
    const bool last = i + 4 == n;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && last && k >= 2 && (k == 3 || text[i + 3] == '=')) {
        v[k] = 0;
        continue;
      }
      v[k] = kBase64[static_cast<uint8_t>(c)];
      if (v[k] < 0) {
        return InvalidArgumentError("base64: invalid character at offset " + std::to_string(i + k));
      }
    }
    const uint32_t triple = (static_cast<uint32_t>(v[0]) << 18) |
                            (static_cast<uint32_t>(v[1]) << 12) |
                            (static_cast<uint32_t>(v[2]) << 6) | static_cast<uint32_t>(v[3]);
    const size_t bytes = (last && text[n - 1] == '=') ? (text[n - 2] == '=' ? 1 : 2) : 3;
    if (bytes < 3) {
      // Strict: the unused bits of the last group must be zero.
      const uint32_t unused = bytes == 1 ? (triple & 0xFFFF) : (triple & 0xFF);
      if (unused != 0) {
        return InvalidArgumentError("base64: non-zero padding bits at offset " + std::to_string(i));
      }
    }
    out[o++] = static_cast<char>(triple >> 16);
    if (bytes > 1) out[o++] = static_cast<char>((triple >> 8) & 0xFF);
    if (bytes > 2) out[o++] = static_cast<char>(triple & 0xFF);
  }
  return out;
}

StatusOr<DataUrl> ParseDataUrl(std::string_view url, size_t max_decoded_bytes) {
  constexpr std::string_view kScheme = "data:";
  if (url.size() < kScheme.size()) return InvalidArgumentError("not a data: URL");
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if ((url[i] | 0x20) != kScheme[i] && url[i] != kScheme[i]) {
      return InvalidArgumentError("not a data: URL");
    }
  }
  url.remove_prefix(kScheme.size());
  const size_t comma = url.find(',');
  if (comma == std::string_view::npos) return InvalidArgumentError("data: URL has no ','");
  std::string_view header = url.substr(0, comma);
  const std::string_view payload = url.substr(comma + 1);
  DataUrl out;
  constexpr std::string_view kB64 = ";base64";
  if (header.size() >= kB64.size() && header.substr(header.size() - kB64.size()) == kB64) {
    out.base64 = true;
    header.remove_suffix(kB64.size());
  }
  const std::string_view type = header.substr(0, header.find(';'));
  out.media_type = type.empty() ? "text/plain" : std::string(type);
  for (char& c : out.media_type) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (out.base64) {
    auto decoded = DecodeBase64(payload, max_decoded_bytes);
    if (!decoded.ok()) {
      return Status(decoded.status().code(), "data: URL " + decoded.status().message());
    }
    out.data = std::move(decoded).value();
    return out;
  }
  out.data.reserve(payload.size());
  for (size_t i = 0; i < payload.size(); ++i) {
    if (payload[i] != '%') {
      out.data.push_back(payload[i]);
    } else {
      const int hi = i + 2 < payload.size() ? HexValue(payload[i + 1]) : -1;
      const int lo = hi >= 0 ? HexValue(payload[i + 2]) : -1;
      if (lo < 0) {
        return InvalidArgumentError("data: URL has a bad percent escape at offset " +
                                    std::to_string(i));
      }
      out.data.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
    if (out.data.size() > max_decoded_bytes) {
      return ResourceExhaustedError("data: URL payload exceeds the limit of " +
                                    std::to_string(max_decoded_bytes) + " bytes");
    }
  }
  return out;
}

}  // namespace bursar::gateway
