// Audio duration from encoded bytes, for metering `input_audio` content parts.
//
// WAV (RIFF/WAVE with "fmt " and "data" chunks, any chunk order, PCM or other codecs with a
// byte rate): exact duration, rounded up to whole milliseconds. MP3: an estimate from the
// first frame header's bitrate and sample rate (CBR assumption; a Xing/Info header's frame
// count is used when present), rounded up. No other formats.
//
// Threads: pure functions. Errors: InvalidArgument naming what is malformed; Unimplemented
// for formats other than wav and mp3.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace bursar::gateway {

// Exact duration of a WAV file in milliseconds (rounded up). A "data" chunk whose declared
// size runs past the end of `bytes` is measured by its declared size (streams often write
// 0xFFFFFFFF or the final size up front); size 0xFFFFFFFF uses the bytes present.
StatusOr<int64_t> WavDurationMillis(std::string_view bytes);

// Estimated duration of an MP3 stream in milliseconds (rounded up). Skips an ID3v2 tag.
StatusOr<int64_t> Mp3DurationMillis(std::string_view bytes);

// Dispatches on OpenAI's input_audio.format: "wav" or "mp3".
StatusOr<int64_t> AudioDurationMillis(std::string_view format, std::string_view bytes);

}  // namespace bursar::gateway
