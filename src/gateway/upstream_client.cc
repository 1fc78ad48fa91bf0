#include "gateway/upstream_client.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <charconv>
#include <cstring>
#include <deque>
#include <limits>
#include <list>
#include <optional>
#include <unordered_map>

#include "gateway/deadline.h"
#include "gateway/http_parser.h"
#include "gateway/socket_io.h"

namespace bursar::gateway {

// Literals with their length known at compile time: appended without a strlen.
using namespace std::string_view_literals;

namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {
constexpr size_t kMaxIdlePerKey = 512;
constexpr size_t kReadChunk = 16 << 10;

constexpr size_t kMaxResponseHead = 64 << 10;

bool IsDropped(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
         ec == ssl::error::stream_truncated;
}
}  // namespace

// Every connection of a client, for the deadline sweep: an operation stores its deadline in its
// connection, and the sweeper (ticking every kSweepTick) cancels the socket of one whose deadline
// passed, instead of a timer armed and cancelled per operation. Shared with the connections, so
// a connection that outlives its client (a coroutine frame destroyed with the io_context) can
// still unregister.
struct DeadlineRegistry {
  std::list<UpstreamConnection*> conns;
};
constexpr auto kSweepTick = std::chrono::milliseconds(50);

struct UpstreamConnection {
  explicit UpstreamConnection(std::shared_ptr<DeadlineRegistry> r) : registry(std::move(r)) {
    self = registry->conns.insert(registry->conns.end(), this);
  }
  ~UpstreamConnection() { registry->conns.erase(self); }
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  std::shared_ptr<DeadlineRegistry> registry;
  std::list<UpstreamConnection*>::iterator self;
  std::string pool_key;
  std::optional<TcpSocket> plain;
  std::optional<beast::ssl_stream<TcpSocket>> secure;
  // Bytes received and not yet consumed: [begin, end) of `in`.
  std::string in;
  size_t begin = 0, end = 0;
  // The current response's body framing (see http_parser.h).
  enum class Body { kNone, kLength, kChunked, kUntilClose };
  Body body = Body::kNone;
  uint64_t remaining = 0;  // kLength
  ChunkedDecoder chunked;
  bool body_done = true;
  bool keep_alive = false;
  bool reused = false;
  OpDeadline deadline;  // of the operation in progress (gateway/deadline.h)

  TcpSocket& tcp() { return plain ? *plain : beast::get_lowest_layer(*secure); }

  // Writes all of `b`: `if (!WriteNow(b, ec)) co_await Write(b, ec);`. WriteNow is SendAllNow
  // on a plain socket (false over TLS, which always goes through Write). Write is the write
  // operation itself, not a coroutine of its own around it (one coroutine frame fewer per call);
  // `b` must stay valid until it completes.
  template <size_t N>
  bool WriteNow(std::array<asio::const_buffer, N>& b, boost::system::error_code& ec) {
    return plain && SendAllNow(*plain, b, ec);
  }
  template <typename Buffers>
  Awaitable<size_t> Write(const Buffers& b, boost::system::error_code& ec) {
    return plain ? asio::async_write(*plain, b, asio::redirect_error(use_awaitable, ec))
                 : asio::async_write(*secure, b, asio::redirect_error(use_awaitable, ec));
  }
  // Reads what is available into `in` after `end` (compacting and growing it as needed):
  // add what `co_await ReadMore(ec)` returns to `end` (as Write, the read operation itself).
  Awaitable<size_t> ReadMore(boost::system::error_code& ec) {
    if (begin == end) begin = end = 0;
    if (in.size() - end < 4096) {
      if (begin > 0) {
        std::memmove(in.data(), in.data() + begin, end - begin);
        end -= begin;
        begin = 0;
      }
      if (in.size() - end < 4096) in.resize(std::max<size_t>(in.size() * 2, kReadChunk));
    }
    if (plain) {
      return plain->async_read_some(DrainBuffer(in.data() + end, in.size() - end),
                                    asio::redirect_error(use_awaitable, ec));
    }
    return secure->async_read_some(asio::buffer(in.data() + end, in.size() - end),
                                   asio::redirect_error(use_awaitable, ec));
  }
  // The next final (non-1xx) response head from the bytes received so far, its body framing set
  // up: true. False when more bytes are needed (ReadMore, then again), or with `error` set for
  // a malformed or too large head. Not a coroutine: the caller reads (one frame fewer).
  bool TakeHead(ResponseHead& head, std::string& error) {
    for (;;) {
      size_t head_bytes = 0;
      HeadStatus st = begin < end ? ParseResponseHead({in.data() + begin, end - begin}, &head,
                                                      &head_bytes, &error)
                                  : HeadStatus::kIncomplete;
      if (st == HeadStatus::kComplete) {
        begin += head_bytes;
        if (head.status >= 100 && head.status < 200) continue;  // interim (100 Continue)
        break;
      }
      if (st != HeadStatus::kIncomplete) {
        // The parser names the fault; this only guards against a status without one.
        if (error.empty()) error = "malformed response head";
        return false;
      }
      if (end - begin >= kMaxResponseHead) error = "response headers too large";
      return false;
    }
    keep_alive = head.keep_alive;
    body_done = false;
    if (head.status == 204 || head.status == 304) {
      body = Body::kNone;
      body_done = true;
    } else if (head.has_content_length) {
      body = Body::kLength;
      remaining = head.content_length;
      body_done = remaining == 0;
    } else if (head.chunked) {
      body = Body::kChunked;
      chunked = ChunkedDecoder();
    } else {
      body = Body::kUntilClose;  // ends when the upstream closes: never reused
      keep_alive = false;
    }
    return true;
  }
  // Moves buffered body bytes to `out`; returns how many. `error` set on a malformed body.
  size_t TakeBody(std::string& out, std::string& error) {
    if (body_done || begin == end) return 0;
    const size_t before = out.size();
    std::string_view avail(in.data() + begin, end - begin);
    switch (body) {
      case Body::kLength: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining, avail.size()));
        out.append(avail.data(), n);
        begin += n;
        remaining -= n;
        body_done = remaining == 0;
        break;
      }
      case Body::kChunked: {
        size_t used = 0;
        auto r = chunked.Feed(avail, std::numeric_limits<size_t>::max(), &out, &used, &error);
        begin += used;
        if (r == ChunkedDecoder::Result::kDone) body_done = true;
        if (r == ChunkedDecoder::Result::kBad || r == ChunkedDecoder::Result::kTooLarge) {
          body_done = true;
          keep_alive = false;
          if (error.empty()) error = "malformed chunked body";
        }
        break;
      }
      case Body::kUntilClose:
        out.append(avail);
        begin = end;
        break;
      case Body::kNone:
        body_done = true;
        break;
    }
    return out.size() - before;
  }
};

struct UpstreamPool {
  std::unordered_map<std::string, std::deque<std::unique_ptr<UpstreamConnection>>> idle;

  std::unique_ptr<UpstreamConnection> Take(const std::string& key) {
    auto it = idle.find(key);
    if (it == idle.end() || it->second.empty()) return nullptr;
    auto conn = std::move(it->second.back());
    it->second.pop_back();
    return conn;
  }
  void Give(std::unique_ptr<UpstreamConnection> conn) {
    auto& list = idle[conn->pool_key];
    if (list.size() >= kMaxIdlePerKey) return;
    conn->begin = conn->end = 0;
    conn->reused = true;
    list.push_back(std::move(conn));
  }
};

StatusOr<UpstreamTarget> UpstreamTarget::Parse(std::string_view url) {
  UpstreamTarget t;
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    t.tls = true;
    rest = url.substr(8);
  } else {
    return InvalidArgumentError("upstream URL must start with http:// or https://");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return InvalidArgumentError("upstream URL has no host (or has credentials)");
  }
  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgumentError("bad IPv6 literal");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return InvalidArgumentError("bad upstream authority");
      port = authority.substr(close + 2);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  int port_num = t.tls ? 443 : 80;
  if (!port.empty()) {
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), port_num);
    if (ec != std::errc() || p != port.data() + port.size() || port_num <= 0 || port_num > 65535) {
      return InvalidArgumentError("bad upstream port");
    }
  }
  t.host = std::string(host);
  t.port = std::to_string(port_num);
  t.base_path = std::string(path);
  t.host_header = std::string(authority);
  t.pool_key = std::string(t.tls ? "https://" : "http://") + t.host + ":" + t.port;
  return t;
}

UpstreamResponse::~UpstreamResponse() {
  // Reused only when its response was read to the end and nothing unexpected follows it.
  if (conn_ && conn_->body_done && conn_->keep_alive && conn_->begin == conn_->end) {
    if (auto pool = pool_.lock()) pool->Give(std::move(conn_));
  }
}

bool UpstreamResponse::done() const { return !conn_ || conn_->body_done; }

Awaitable<StatusOr<bool>> UpstreamResponse::ReadSome(std::string& out) {
  out.clear();
  co_return co_await ReadInto(out);
}

Awaitable<StatusOr<bool>> UpstreamResponse::ReadInto(std::string& out) {
  if (done()) co_return false;
  std::string error;
  for (;;) {
    size_t n = conn_->TakeBody(out, error);
    if (!error.empty()) {
      conn_.reset();
      co_return UnavailableError("upstream sent a malformed body: " + error);
    }
    if (n > 0) co_return true;
    if (conn_->body_done) co_return false;
    conn_->deadline.Arm(streaming_deadline_ ? OpDeadline::CoarseNow() + timeout_ : deadline_);
    boost::system::error_code ec;
    const size_t got = co_await conn_->ReadMore(ec);
    conn_->end += got;
    conn_->deadline.Disarm();
    if (ec) {
      if (conn_->body == UpstreamConnection::Body::kUntilClose && IsDropped(ec) &&
          !conn_->deadline.expired) {
        conn_->body_done = true;  // the end of a body delimited by the connection's close
        co_return false;
      }
      const bool timed_out = conn_->deadline.expired;
      conn_.reset();
      if (timed_out) co_return DeadlineExceededError("upstream timed out");
      co_return UnavailableError("upstream connection failed mid-response: " + ec.message());
    }
  }
}

bool UpstreamResponse::TakeWhole(std::string& out, size_t max_bytes) {
  if (!conn_ || conn_->body_done) return false;
  UpstreamConnection& c = *conn_;
  if (c.body != UpstreamConnection::Body::kLength || c.remaining > c.end - c.begin ||
      c.remaining > max_bytes) {
    return false;
  }
  out.clear();
  std::string error;  // none: a Content-Length body is taken as it is
  c.TakeBody(out, error);
  return true;
}

Awaitable<Status> UpstreamResponse::ReadAll(std::string& out, size_t max_bytes) {
  out.clear();
  for (;;) {
    StatusOr<bool> more = co_await ReadInto(out);
    if (!more.ok()) co_return more.status();
    if (!*more) co_return OkStatus();
    if (out.size() > max_bytes) {
      conn_.reset();
      co_return UnavailableError("upstream response too large");
    }
  }
}

namespace {
Awaitable<void> SweepDeadlines(std::shared_ptr<DeadlineRegistry> registry) {
  SteadyTimer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(kSweepTick);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    const Clock::time_point now = Clock::now();
    for (UpstreamConnection* c : registry->conns) {
      if (c->deadline.Expire(now)) c->tcp().cancel(ec);
    }
  }
}
}  // namespace

UpstreamClient::UpstreamClient(asio::io_context& ioc, std::shared_ptr<ssl::context> tls)
    : ioc_(ioc),
      tls_(std::move(tls)),
      pool_(std::make_shared<UpstreamPool>()),
      registry_(std::make_shared<DeadlineRegistry>()) {
  asio::co_spawn(ioc_, SweepDeadlines(registry_), asio::detached);
}
UpstreamClient::~UpstreamClient() = default;

size_t UpstreamClient::idle_connections() const {
  size_t n = 0;
  for (const auto& [k, v] : pool_->idle) n += v.size();
  return n;
}

Awaitable<StatusOr<std::unique_ptr<UpstreamConnection>>> UpstreamClient::Connect(
    const UpstreamTarget& target, Clock::time_point deadline) {
  auto conn = std::make_unique<UpstreamConnection>(registry_);
  conn->pool_key = target.pool_key;
  if (target.tls) {
    if (!tls_) co_return InternalError("no TLS context for https upstream");
    conn->secure.emplace(ioc_, *tls_);
  } else {
    conn->plain.emplace(ioc_);
  }
  TcpSocket& stream = conn->tcp();
  boost::system::error_code ec;
  conn->deadline.Arm(deadline);
  auto address = asio::ip::make_address(target.host, ec);
  if (!ec) {
    co_await stream.async_connect(
        tcp::endpoint(address, static_cast<uint16_t>(std::stoi(target.port))),
        asio::redirect_error(use_awaitable, ec));
  } else {
    TcpResolver resolver(ioc_);
    auto results = co_await resolver.async_resolve(target.host, target.port,
                                                   asio::redirect_error(use_awaitable, ec));
    if (ec) co_return UnavailableError("cannot resolve upstream host " + target.host);
    co_await asio::async_connect(stream, results, asio::redirect_error(use_awaitable, ec));
  }
  conn->deadline.Disarm();
  if (ec && conn->deadline.expired) co_return DeadlineExceededError("upstream connect timed out");
  if (ec) co_return UnavailableError("cannot connect to " + target.pool_key + ": " + ec.message());
  stream.set_option(tcp::no_delay(true), ec);
  if (!target.tls) {
    stream.non_blocking(true, ec);  // for SendNow
    if (ec) co_return UnavailableError("cannot set up the socket to " + target.pool_key);
  }
  if (target.tls) {
    if (!SSL_set_tlsext_host_name(conn->secure->native_handle(), target.host.c_str())) {
      co_return InternalError("cannot set TLS SNI");
    }
    conn->secure->set_verify_callback(ssl::host_name_verification(target.host));
    conn->deadline.Arm(deadline);
    co_await conn->secure->async_handshake(ssl::stream_base::client,
                                           asio::redirect_error(use_awaitable, ec));
    conn->deadline.Disarm();
    if (ec && conn->deadline.expired)
      co_return DeadlineExceededError("upstream TLS handshake timed out");
    if (ec)
      co_return UnavailableError("TLS handshake with " + target.pool_key +
                                 " failed: " + ec.message());
  }
  co_return conn;
}

Awaitable<StatusOr<std::unique_ptr<UpstreamResponse>>> UpstreamClient::Send(
    const UpstreamRequest& request, bool streaming) {
  const UpstreamTarget& target = *request.target;
  auto deadline = OpDeadline::CoarseNow() + request.timeout;
  std::string head;
  head.reserve(256 + request.api_key.size());
  head += request.method;
  head += ' ';
  head += target.base_path;
  head += request.path;
  head += " HTTP/1.1\r\nHost: "sv;
  head += target.host_header;
  head += "\r\nContent-Type: application/json\r\nAccept: "sv;
  head += streaming ? "text/event-stream"sv : "application/json"sv;
  head += "\r\n"sv;
  if (!request.api_key.empty()) {
    head += "Authorization: Bearer "sv;
    head += request.api_key;
    head += "\r\n"sv;
  }
  if (!request.request_id.empty()) {
    head += "x-request-id: "sv;
    head += request.request_id;
    head += "\r\n"sv;
  }
  if (request.method != "GET" || !request.body.empty()) {
    char num[24];
    auto [end, e] = std::to_chars(num, num + sizeof num, request.body.size());
    head += "Content-Length: "sv;
    head.append(num, end);
    head += "\r\n"sv;
  }
  head += "\r\n"sv;
  std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(request.body)};

  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<UpstreamConnection> conn =
        attempt == 0 ? pool_->Take(target.pool_key) : nullptr;
    if (!conn) {
      auto connected = co_await Connect(target, deadline);
      if (!connected.ok()) co_return connected.status();
      conn = std::move(connected).value();
    }
    bool reused = conn->reused;
    boost::system::error_code ec;
    conn->deadline.Arm(deadline);
    std::array<asio::const_buffer, 2> unsent = bufs;  // a retry sends all of it again
    if (!conn->WriteNow(unsent, ec)) co_await conn->Write(unsent, ec);
    ResponseHead head;
    std::string error;
    if (!ec) {
      if (streaming) conn->deadline.Arm(OpDeadline::CoarseNow() + request.timeout);
      while (!conn->TakeHead(head, error) && error.empty()) {
        const size_t n = co_await conn->ReadMore(ec);
        conn->end += n;
        if (ec) break;
      }
    }
    conn->deadline.Disarm();
    if (!ec && !error.empty()) {
      co_return UnavailableError("upstream " + target.pool_key +
                                 " sent a malformed response: " + error);
    }
    if (ec) {
      if (reused && IsDropped(ec) && attempt == 0) continue;  // stale pooled connection
      if (conn->deadline.expired) co_return DeadlineExceededError("upstream timed out");
      co_return UnavailableError("upstream " + target.pool_key + " failed: " + ec.message());
    }
    auto response = std::unique_ptr<UpstreamResponse>(new UpstreamResponse());
    response->status_ = head.status;
    response->content_type_ = std::string(head.content_type);
    response->timeout_ = request.timeout;
    response->deadline_ = deadline;
    response->streaming_deadline_ = streaming;
    response->pool_ = pool_;
    response->conn_ = std::move(conn);
    co_return response;
  }
}

StatusOr<std::shared_ptr<ssl::context>> MakeClientTlsContext() {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_default_verify_paths(ec);
  if (ec) return InternalError("cannot load system CA certificates: " + ec.message());
  ctx->set_verify_mode(ssl::verify_peer, ec);
  if (ec) return InternalError("cannot enable TLS peer verification: " + ec.message());
  return ctx;
}

}  // namespace bursar::gateway
