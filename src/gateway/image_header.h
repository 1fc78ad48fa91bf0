// Image header decoding and `data:` URLs, for metering images without decoding pixels.
//
// DecodeImageHeader reads width, height and format from the first bytes of a PNG, JPEG (walks
// the segments to the first SOFn), WebP (VP8, VP8L, VP8X) or GIF. It never reads past `bytes`
// and never allocates. ParseDataUrl splits a `data:[<media type>][;base64],<data>` URL and
// decodes its payload (strict base64: the standard alphabet, '=' padding only at the end,
// no whitespace, no characters outside the alphabet).
//
// Threads: pure functions, callable from any thread.
// Errors: InvalidArgument with a message saying what is wrong (truncated, not an image, bad
// base64 at offset N); ResourceExhausted when a decoded payload exceeds the given limit.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bursar::gateway {

enum class ImageFormat { kUnknown, kPng, kJpeg, kWebp, kGif };

std::string_view ToString(ImageFormat f);  // "png", "jpeg", "webp", "gif", "unknown"

struct ImageInfo {
  ImageFormat format = ImageFormat::kUnknown;
  int width = 0;   // pixels, > 0 when decoded
  int height = 0;  // pixels, > 0 when decoded
  friend bool operator==(const ImageInfo&, const ImageInfo&) = default;
};

// Decodes the dimensions from the start of an encoded image. `bytes` may be the whole file
// or a prefix of it; a prefix too short gives InvalidArgument ("truncated ...").
StatusOr<ImageInfo> DecodeImageHeader(std::string_view bytes);

// Strict standard base64 (RFC 4648 section 4). Errors name the offset of the first bad char.
// ResourceExhausted when the decoded size would exceed `max_decoded_bytes`.
StatusOr<std::string> DecodeBase64(std::string_view text, size_t max_decoded_bytes);

// Standard base64 with '=' padding.
std::string EncodeBase64(std::string_view bytes);

// Decoded size of strict base64 text without decoding it (0 for malformed lengths).
size_t Base64DecodedSize(std::string_view text);

struct DataUrl {
  std::string media_type;  // lowercased, e.g. "image/png"; "text/plain" when omitted
  bool base64 = false;     // ";base64" was present
  std::string data;        // decoded payload (base64 or percent-decoded)
};

// Parses a `data:` URL. REQUIRES nothing; non-data URLs give InvalidArgument.
StatusOr<DataUrl> ParseDataUrl(std::string_view url, size_t max_decoded_bytes);

// Like ParseDataUrl, but keeps only the first `prefix_bytes` decoded bytes in `data` (the whole
// payload is still validated) and sets *decoded_size (if not null) to the full decoded size.
// For reading an image header without decoding the image.
StatusOr<DataUrl> ParseDataUrlPrefix(std::string_view url, size_t max_decoded_bytes,
                                     size_t prefix_bytes, size_t* decoded_size);

}  // namespace bursar::gateway
