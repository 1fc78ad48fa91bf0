#include "gateway/image_header.h"

#include <algorithm>
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

// A byte's value in the base64 alphabet, -1 outside it (the table's entries are signed for that).
int Base64Value(uint8_t c) { return kBase64[c]; }  // NOLINT(bugprone-signed-char-misuse)

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

namespace {

Status BadChar(size_t offset) {
  return InvalidArgumentError("base64: invalid character at offset " + std::to_string(offset));
}

// Validates all of `text` (strict) and writes at most `limit` decoded bytes to *out.
Status DecodeBase64Prefix(std::string_view text, size_t max_decoded_bytes, size_t limit,
                          std::string* out) {
  const size_t n = text.size();
  if (n % 4 != 0) {
    return InvalidArgumentError("base64: length " + std::to_string(n) + " is not a multiple of 4");
  }
  const size_t out_size = Base64DecodedSize(text);
  if (out_size > max_decoded_bytes) {
    return ResourceExhaustedError("base64: decoded size " + std::to_string(out_size) +
                                  " bytes exceeds the limit of " +
                                  std::to_string(max_decoded_bytes));
  }
  const size_t keep = std::min(limit, out_size);
  out->resize(keep);
  if (n == 0) return OkStatus();
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  char* o = out->data();
  size_t written = 0;
  // Every group but the last has no padding.
  const size_t full = n - 4;
  for (size_t i = 0; i < full; i += 4) {
    const int a = Base64Value(p[i]), b = Base64Value(p[i + 1]), c = Base64Value(p[i + 2]),
              d = Base64Value(p[i + 3]);
    if ((a | b | c | d) < 0) {
      for (size_t k = 0; k < 4; ++k) {
        if (Base64Value(p[i + k]) < 0) return BadChar(i + k);
      }
    }
    if (written + 3 <= keep) {
      const uint32_t v = (static_cast<uint32_t>(a) << 18) | (static_cast<uint32_t>(b) << 12) |
                         (static_cast<uint32_t>(c) << 6) | static_cast<uint32_t>(d);
      o[written] = static_cast<char>(v >> 16);
      o[written + 1] = static_cast<char>((v >> 8) & 0xFF);
      o[written + 2] = static_cast<char>(v & 0xFF);
      written += 3;
    } else if (written < keep) {
      const uint32_t v = (static_cast<uint32_t>(a) << 18) | (static_cast<uint32_t>(b) << 12) |
                         (static_cast<uint32_t>(c) << 6) | static_cast<uint32_t>(d);
      const char bytes[3] = {static_cast<char>(v >> 16), static_cast<char>((v >> 8) & 0xFF),
                             static_cast<char>(v & 0xFF)};
      for (int k = 0; k < 3 && written < keep; ++k) o[written++] = bytes[k];
    }
  }
  // The last group: "xxxx", "xxx=" or "xx==".
  const size_t i = full;
  const size_t pad = p[n - 1] == '=' ? (p[n - 2] == '=' ? 2 : 1) : 0;
  int v4[4] = {0, 0, 0, 0};
  for (size_t k = 0; k < 4 - pad; ++k) {
    v4[k] = Base64Value(p[i + k]);
    if (v4[k] < 0) return BadChar(i + k);
  }
  const uint32_t v = (static_cast<uint32_t>(v4[0]) << 18) | (static_cast<uint32_t>(v4[1]) << 12) |
                     (static_cast<uint32_t>(v4[2]) << 6) | static_cast<uint32_t>(v4[3]);
  if ((pad == 1 && (v & 0xFF) != 0) || (pad == 2 && (v & 0xFFFF) != 0)) {
    return InvalidArgumentError("base64: non-zero padding bits at offset " + std::to_string(i));
  }
  const char bytes[3] = {static_cast<char>(v >> 16), static_cast<char>((v >> 8) & 0xFF),
                         static_cast<char>(v & 0xFF)};
  for (size_t k = 0; k < 3 - pad && written < keep; ++k) o[written++] = bytes[k];
  return OkStatus();
}

}  // namespace

StatusOr<std::string> DecodeBase64(std::string_view text, size_t max_decoded_bytes) {
  std::string out;
  BURSAR_RETURN_IF_ERROR(DecodeBase64Prefix(text, max_decoded_bytes, SIZE_MAX, &out));
  return out;
}

StatusOr<DataUrl> ParseDataUrlPrefix(std::string_view url, size_t max_decoded_bytes,
                                     size_t prefix_bytes, size_t* decoded_size) {
  constexpr std::string_view kScheme = "data:";
  if (url.size() < kScheme.size()) return InvalidArgumentError("not a data: URL");
  for (size_t i = 0; i < kScheme.size(); ++i) {
    const char c =
        (url[i] >= 'A' && url[i] <= 'Z') ? static_cast<char>(url[i] - 'A' + 'a') : url[i];
    if (c != kScheme[i]) return InvalidArgumentError("not a data: URL");
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
    Status st = DecodeBase64Prefix(payload, max_decoded_bytes, prefix_bytes, &out.data);
    if (!st.ok()) return Status(st.code(), "data: URL " + st.message());
    if (decoded_size) *decoded_size = Base64DecodedSize(payload);
    return out;
  }
  std::string all;
  all.reserve(std::min(payload.size(), max_decoded_bytes));
  for (size_t i = 0; i < payload.size(); ++i) {
    if (payload[i] != '%') {
      all.push_back(payload[i]);
    } else {
      const int hi = i + 2 < payload.size() ? HexValue(payload[i + 1]) : -1;
      const int lo = hi >= 0 ? HexValue(payload[i + 2]) : -1;
      if (lo < 0) {
        return InvalidArgumentError("data: URL has a bad percent escape at offset " +
                                    std::to_string(i));
      }
      all.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
    if (all.size() > max_decoded_bytes) {
      return ResourceExhaustedError("data: URL payload exceeds the limit of " +
                                    std::to_string(max_decoded_bytes) + " bytes");
    }
  }
  if (decoded_size) *decoded_size = all.size();
  if (all.size() > prefix_bytes) all.resize(prefix_bytes);
  out.data = std::move(all);
  return out;
}

StatusOr<DataUrl> ParseDataUrl(std::string_view url, size_t max_decoded_bytes) {
  return ParseDataUrlPrefix(url, max_decoded_bytes, SIZE_MAX, nullptr);
}

}  // namespace bursar::gateway
