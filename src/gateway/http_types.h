// Plain HTTP request/response types shared by the server, the handler and the upstream client,
// free of Boost so that the request flow compiles without Asio/Beast.
//
// An HttpRequest's string_views point into the connection's read buffer and are valid only until
// the handler's coroutine returns. Thread safety: values owned by one worker.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bursar::gateway {

using HeaderList = std::vector<std::pair<std::string, std::string>>;
// Response header fields to send, as views (name, value): what they point into must stay alive
// until the send returns (a coroutine's locals do).
using HeaderField = std::pair<std::string_view, std::string_view>;
using HeaderFields = std::span<const HeaderField>;

struct HttpRequest {
  std::string_view method;         // "GET", "POST", ...
  std::string_view target;         // path and query, e.g. "/v1/chat/completions"
  std::string_view authorization;  // the Authorization header value ("" when absent)
  std::string_view request_id;     // the client's x-request-id ("" when absent)
  std::string_view content_type;
  std::string body;    // owned (moved out of the parser), so JSON parsers may pad a copy
  HeaderList headers;  // every header, filled only for /hooks/ targets (webhook signatures)
};

// Endpoints served beside the gateway's own (the GitOps control loop: /hooks/git, /api/sync-*,
// /api/drift, /admin/overrides, /admin/drift). Returns false when it does not serve the target.
// Runs on the worker's thread and may block briefly (a database read, a snapshot swap).
using ExtraRoutes = std::function<bool(const HttpRequest& req, int* status,
                                       std::string* content_type, std::string* body)>;

// The status line's reason phrase for the codes the gateway uses.
std::string_view ReasonPhrase(int status);

// OpenAI's error JSON: {"error":{"message":..,"type":..,"param":null,"code":..}}.
std::string ErrorJson(std::string_view message, std::string_view type, std::string_view code);

}  // namespace bursar::gateway
