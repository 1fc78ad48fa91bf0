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
  (void)ParseDataUrl(bytes, 1 << 20);
  return 0;
}
