// HTTP/1.1 client to OpenAI-compatible upstreams (the data plane's outbound side).
//
// One UpstreamClient per worker thread (it is not thread-safe): it owns that worker's keep-alive
// connection pool, keyed by scheme://host:port. http:// and https:// (OpenSSL, SNI, peer
// verification against the system CAs and the host name). Responses are read incrementally, so a
// streaming (SSE) answer can be passed on piece by piece as it arrives.
//
// Errors (as Status): Unavailable - could not connect, or the upstream dropped the connection /
// sent a malformed HTTP response; DeadlineExceeded - the request's timeout elapsed. A connection
// taken from the pool that turns out stale (closed by the upstream while idle) is replaced once
// transparently. API keys are sent in the Authorization header and never appear in a Status.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "gateway/asio.h"

namespace boost::asio::ssl {
class context;
}

namespace bursar::gateway {

// Where a Model's base URL points.
struct UpstreamTarget {
  bool tls = false;
  std::string host;         // name or literal address, without brackets
  std::string port;         // decimal
  std::string base_path;    // e.g. "/v1" (no trailing slash; may be "")
  std::string host_header;  // "host[:port]" as sent in Host
  std::string pool_key;     // "https://host:port"

  // Parses "http[s]://host[:port][/path]". InvalidArgument otherwise.
  static StatusOr<UpstreamTarget> Parse(std::string_view base_url);
};

struct UpstreamRequest {
  const UpstreamTarget* target = nullptr;
  std::string_view method = "POST";
  std::string_view path;        // appended to base_path, e.g. "/chat/completions"
  std::string_view body;        // JSON
  std::string_view api_key;     // "" = no Authorization header
  std::string_view request_id;  // sent as x-request-id
  std::chrono::milliseconds timeout{30000};
};

struct UpstreamConnection;
struct UpstreamPool;
struct DeadlineRegistry;

// One exchange: the status line and headers are read; the body is read by ReadSome/ReadAll.
// Holds the connection until destroyed; a fully read keep-alive response returns it to the pool.
class UpstreamResponse {
 public:
  ~UpstreamResponse();
  UpstreamResponse(const UpstreamResponse&) = delete;
  UpstreamResponse& operator=(const UpstreamResponse&) = delete;

  int status() const { return status_; }
  const std::string& content_type() const { return content_type_; }
  bool done() const;

  // Reads the next available piece of the body into `out` (replacing its contents). Returns
  // false once the body is complete (out empty). Errors: see the file comment.
  Awaitable<StatusOr<bool>> ReadSome(std::string& out);
  // Reads the rest of the body, at most max_bytes (Unavailable beyond).
  Awaitable<Status> ReadAll(std::string& out, size_t max_bytes = 64 << 20);
  // The whole body without waiting, when all of it (a Content-Length body of at most max_bytes)
  // arrived with the head, as a short answer does: true, with the body in `out` (replaced).
  // False, with nothing taken, when ReadAll has to read it.
  bool TakeWhole(std::string& out, size_t max_bytes = 64 << 20);

 private:
  friend class UpstreamClient;
  UpstreamResponse() = default;
  // Appends the next available piece of the body to `out`; false once the body is complete.
  Awaitable<StatusOr<bool>> ReadInto(std::string& out);
  std::weak_ptr<UpstreamPool> pool_;
  std::unique_ptr<UpstreamConnection> conn_;
  int status_ = 0;
  std::string content_type_;
  std::chrono::milliseconds timeout_{30000};
  std::chrono::steady_clock::time_point deadline_;
  bool streaming_deadline_ = false;  // per-read timeout instead of an overall deadline
};

class UpstreamClient {
 public:
  // `tls` (shared by all workers; may be null when no upstream uses https).
  UpstreamClient(asio::io_context& ioc, std::shared_ptr<asio::ssl::context> tls);
  ~UpstreamClient();

  // Sends the request and reads the response's headers. With `streaming`, the timeout applies
  // to each read (time to first byte, then between pieces); otherwise to the whole exchange.
  Awaitable<StatusOr<std::unique_ptr<UpstreamResponse>>> Send(const UpstreamRequest& request,
                                                              bool streaming);

  // Idle pooled connections (for tests and metrics).
  size_t idle_connections() const;

 private:
  Awaitable<StatusOr<std::unique_ptr<UpstreamConnection>>> Connect(
      const UpstreamTarget& target, std::chrono::steady_clock::time_point deadline);
  asio::io_context& ioc_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::shared_ptr<UpstreamPool> pool_;
  std::shared_ptr<DeadlineRegistry> registry_;  // every connection, for the deadline sweep
};

// A TLS client context: system CAs, peer verification on. Internal on failure.
StatusOr<std::shared_ptr<asio::ssl::context>> MakeClientTlsContext();

}  // namespace bursar::gateway
