// libFuzzer target: image headers, base64, data: URLs and audio durations from untrusted bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/audio.h"
#include "gateway/image_header.h"

using namespace bursar::gateway;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto info = DecodeImageHeader(bytes);
  if (info.ok() && (info->width <= 0 || info->height <= 0)) std::abort();
  (void)WavDurationMillis(bytes);
  (void)Mp3DurationMillis(bytes);
  auto decoded = DecodeBase64(bytes, 1 << 20);
  if (decoded.ok() && EncodeBase64(*decoded) != bytes) std::abort();  // strict: one encoding
  const std::string encoded = EncodeBase64(bytes);
  auto round = DecodeBase64(encoded, size);
  if (!round.ok() || *round != bytes) std::abort();
  auto url = ParseDataUrl("data:image/png;base64," + encoded, size);
  if (!url.ok() || url->data != bytes) std::abort();
  size_t full = 0;
  auto prefix = ParseDataUrlPrefix("data:image/png;base64," + encoded, size, 7, &full);
  if (!prefix.ok() || full != size || prefix->data != bytes.substr(0, 7)) std::abort();
  auto raw = ParseDataUrl(bytes, 1 << 20);
  auto raw_prefix = ParseDataUrlPrefix(bytes, 1 << 20, 5, &full);
  if (raw.ok() != raw_prefix.ok()) std::abort();
  if (raw.ok() && (full != raw->data.size() || raw_prefix->data != raw->data.substr(0, 5))) {
    std::abort();
  }
  return 0;
}
