#include "gateway/image_tokens.h"

#include <algorithm>
#include <cmath>

namespace bursar::gateway {
namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Scales so that the short side is at most `short_max` (aspect kept, floored).
Size FitShortEdge(Size s, int short_max) {
  if (s.width <= s.height) {
    if (s.width <= short_max) return s;
    return {short_max, std::max<int>(1, static_cast<int>(int64_t{s.height} * short_max / s.width))};
  }
  if (s.height <= short_max) return s;
  return {std::max<int>(1, static_cast<int>(int64_t{s.width} * short_max / s.height)), short_max};
}

int64_t OpenAITokens(Size s, ImageDetail detail) {
  if (detail == ImageDetail::kLow) return 85;
  s = FitLongEdge(s.width, s.height, 2048);
  s = FitShortEdge(s, 768);
  return 85 + 170 * CeilDiv(s.width, 512) * CeilDiv(s.height, 512);
}

int64_t AnthropicTokens(Size s) {
  s = FitLongEdge(s.width, s.height, 1568);
  int64_t area = int64_t{s.width} * s.height;
  if (area > kAnthropicMaxPixels) {
    const double scale =
        std::sqrt(static_cast<double>(kAnthropicMaxPixels) / static_cast<double>(area));
    int64_t w = std::max<int64_t>(1, static_cast<int64_t>(std::floor(s.width * scale)));
    int64_t h = std::max<int64_t>(1, static_cast<int64_t>(std::floor(s.height * scale)));
    while (w * h > kAnthropicMaxPixels) {  // guard against rounding in sqrt
      if (w >= h)
        --w;
      else
        --h;
    }
    area = w * h;
  }
  return CeilDiv(area, 750);
}

int64_t GeminiTokens(Size s) {
  if (s.width <= 384 && s.height <= 384) return 258;
  return 258 * CeilDiv(s.width, 768) * CeilDiv(s.height, 768);
}

}  // namespace

std::string_view ToString(ImageDetail d) {
  switch (d) {
    case ImageDetail::kLow:
      return "low";
    case ImageDetail::kHigh:
      return "high";
    case ImageDetail::kAuto:
      break;
  }
  return "auto";
}

Size FitLongEdge(int width, int height, int max_long_edge) {
  if (max_long_edge <= 0 || (width <= max_long_edge && height <= max_long_edge)) {
    return {width, height};
  }
  if (width >= height) {
    return {max_long_edge,
            std::max<int>(1, static_cast<int>(int64_t{height} * max_long_edge / width))};
  }
  return {std::max<int>(1, static_cast<int>(int64_t{width} * max_long_edge / height)),
          max_long_edge};
}

int64_t ImageTokens(config::ImageTokenScheme scheme, int width, int height, ImageDetail detail,
                    int max_long_edge) {
  if (width <= 0 || height <= 0) return 0;
  const Size s = FitLongEdge(width, height, max_long_edge);
  switch (scheme) {
    case config::ImageTokenScheme::kOpenAITiles:
      return OpenAITokens(s, detail);
    case config::ImageTokenScheme::kAnthropic:
      return AnthropicTokens(s);
    case config::ImageTokenScheme::kGemini:
      return GeminiTokens(s);
    case config::ImageTokenScheme::kFlat:
    case config::ImageTokenScheme::kNone:
      break;
  }
  return 0;
}

int64_t MaxImageTokens(config::ImageTokenScheme scheme, ImageDetail detail, int max_long_edge) {
  int edge = kAssumedMaxImageEdge;
  if (max_long_edge > 0 && max_long_edge < edge) edge = max_long_edge;
  int64_t best = 0;
  for (int h = 1; h <= edge; ++h) {
    best = std::max(best, ImageTokens(scheme, edge, h, detail, max_long_edge));
  }
  return best;
}

}  // namespace bursar::gateway
