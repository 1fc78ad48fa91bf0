// Input tokens an image costs under a model's image-token scheme (config::ImageTokenScheme).
//
//   kOpenAITiles: detail low -> 85. high/auto -> fit within 2048x2048, then scale down so the
//                 short side is at most 768, then 85 + 170 * ceil(w/512) * ceil(h/512).
//   kAnthropic:   downscale (aspect kept) so the long edge <= 1568 and w*h <= kAnthropicMaxPixels,
//                 then ceil(w*h / 750).
//   kGemini:      both sides <= 384 -> 258; else 258 * ceil(w/768) * ceil(h/768).
//   kFlat, kNone: 0 tokens (kFlat images are priced per image, see pricing.h).
// A route's ImagePolicy max_long_edge (> 0) downscales the image first (aspect kept).
// Scaled sizes are floored to whole pixels, and never below 1.
//
// Threads: pure functions. No errors: non-positive sizes give 0 tokens.
#pragma once

#include <cstdint>
#include <string_view>

#include "config/model.h"

namespace bursar::gateway {

enum class ImageDetail { kAuto, kLow, kHigh };

std::string_view ToString(ImageDetail d);  // "auto", "low", "high"

inline constexpr int64_t kAnthropicMaxPixels = 1'150'000;
// Edge assumed for an image whose size is unknown (an https URL) under schemes without a cap.
inline constexpr int kAssumedMaxImageEdge = 2048;

// Tokens for one image of width x height pixels.
int64_t ImageTokens(config::ImageTokenScheme scheme, int width, int height, ImageDetail detail,
                    int max_long_edge = 0);

// The most tokens any image can cost under the scheme (for images of unknown size): the
// maximum of ImageTokens over all sizes whose long edge is at most kAssumedMaxImageEdge (or
// max_long_edge when smaller, or the scheme's own cap).
int64_t MaxImageTokens(config::ImageTokenScheme scheme, ImageDetail detail, int max_long_edge = 0);

// Size after downscaling (aspect kept, floored, >= 1) so that the long edge <= max_long_edge.
// Unchanged when max_long_edge <= 0 or the image already fits.
struct Size {
  int width = 0;
  int height = 0;
  friend bool operator==(const Size&, const Size&) = default;
};
Size FitLongEdge(int width, int height, int max_long_edge);

}  // namespace bursar::gateway
