// libFuzzer target: the HTTP/1.1 request and response head parsers and the chunked body decoder,
// from untrusted bytes. Checks invariants, not just the absence of crashes: a complete head lies
// inside the input and its views point into it; decoding a chunked body gives the same result
// whether the bytes come at once or one at a time.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/http_parser.h"

using namespace bursar::gateway;

namespace {

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  RequestHead head;
  size_t head_bytes = 0;
  std::string error;
  HeadStatus status = ParseRequestHead(in, &head, &head_bytes, &error);
  if (status == HeadStatus::kComplete) {
    if (head_bytes > size || head.method.empty() || head.target.empty()) std::abort();
    for (std::string_view v :
         {head.method, head.target, head.authorization, head.request_id, head.content_type}) {
      if (!Inside(v, in.substr(0, head_bytes))) std::abort();
    }
    if (head.chunked && head.has_content_length) std::abort();
  } else if (status != HeadStatus::kIncomplete && error.empty()) {
    std::abort();  // every refusal says why
  }

  ResponseHead response;
  size_t response_bytes = 0;
  std::string response_error;
  HeadStatus rs = ParseResponseHead(in, &response, &response_bytes, &response_error);
  if (rs == HeadStatus::kComplete) {
    if (response_bytes > size || response.status < 100 || response.status > 999 ||
        !Inside(response.content_type, in.substr(0, response_bytes))) {
      std::abort();
    }
  } else if (rs != HeadStatus::kIncomplete && response_error.empty()) {
    std::abort();
  }

  // The rest of the input (or all of it) as a chunked body, at once and byte by byte.
  std::string_view body = status == HeadStatus::kComplete ? in.substr(head_bytes) : in;
  ChunkedDecoder whole, bytewise;
  std::string out1, out2, e1, e2;
  size_t used1 = 0;
  auto r1 = whole.Feed(body, 1 << 16, &out1, &used1, &e1);
  if (used1 > body.size()) std::abort();
  ChunkedDecoder::Result r2 = ChunkedDecoder::Result::kNeedMore;
  size_t used2 = 0;
  while (used2 < body.size() && r2 == ChunkedDecoder::Result::kNeedMore) {
    size_t n = 0;
    r2 = bytewise.Feed(body.substr(used2, 1), 1 << 16, &out2, &n, &e2);
    used2 += n;
  }
  if (r1 != r2 || out1 != out2 || used1 != used2 || e1 != e2) std::abort();
  return 0;
}
