#include "gateway/upstream_client.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <charconv>
#include <deque>
#include <limits>
#include <list>
#include <optional>
#include <unordered_map>

namespace bursar::gateway {
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {
constexpr size_t kMaxIdlePerKey = 512;
constexpr size_t kReadChunk = 16 << 10;

bool IsDropped(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == asio::error::eof || ec == asio::error::connection_reset ||
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
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::buffer_body>> parser;
  bool reused = false;
  Clock::time_point deadline = Clock::time_point::max();  // of the operation in progress
  bool timed_out = false;

  TcpSocket& tcp() { return plain ? *plain : beast::get_lowest_layer(*secure); }
  void Arm(Clock::time_point at) {
    deadline = at;
    timed_out = false;
  }
  void Disarm() { deadline = Clock::time_point::max(); }

  template <typename Buffers>
  Awaitable<void> Write(const Buffers& b, boost::system::error_code& ec) {
    if (plain) {
      co_await asio::async_write(*plain, b, asio::redirect_error(use_awaitable, ec));
    } else {
      co_await asio::async_write(*secure, b, asio::redirect_error(use_awaitable, ec));
    }
  }
  Awaitable<void> ReadHeader(boost::system::error_code& ec) {
    if (plain) {
      co_await http::async_read_header(*plain, buffer, *parser,
                                       asio::redirect_error(use_awaitable, ec));
    } else {
      co_await http::async_read_header(*secure, buffer, *parser,
                                       asio::redirect_error(use_awaitable, ec));
    }
  }
  Awaitable<void> ReadSome(boost::system::error_code& ec) {
    if (plain) {
      co_await http::async_read_some(*plain, buffer, *parser,
                                     asio::redirect_error(use_awaitable, ec));
    } else {
      co_await http::async_read_some(*secure, buffer, *parser,
                                     asio::redirect_error(use_awaitable, ec));
    }
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
    conn->parser.reset();
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
  if (conn_ && conn_->parser && conn_->parser->is_done() && conn_->parser->keep_alive()) {
    if (auto pool = pool_.lock()) pool->Give(std::move(conn_));
  }
}

bool UpstreamResponse::done() const { return !conn_ || !conn_->parser || conn_->parser->is_done(); }

Awaitable<StatusOr<bool>> UpstreamResponse::ReadSome(std::string& out) {
  out.clear();
  co_return co_await ReadInto(out);
}

Awaitable<StatusOr<bool>> UpstreamResponse::ReadInto(std::string& out) {
  if (done()) co_return false;
  auto& parser = *conn_->parser;
  const size_t old = out.size();
  size_t want = kReadChunk;
  if (auto remaining = parser.content_length_remaining()) {
    want = std::clamp<uint64_t>(*remaining, 1, 1 << 20);  // a known length: read it at once
  }
  out.resize(old + want);
  for (;;) {
    parser.get().body().data = out.data() + old;
    parser.get().body().size = want;
    conn_->Arm(streaming_deadline_ ? Clock::now() + timeout_ : deadline_);
    boost::system::error_code ec;
    co_await conn_->ReadSome(ec);
    conn_->Disarm();
    if (ec == http::error::need_buffer) ec = {};
    size_t n = want - parser.get().body().size;
    if (ec) {
      out.resize(old);
      const bool timed_out = conn_->timed_out;
      conn_.reset();
      if (timed_out) co_return DeadlineExceededError("upstream timed out");
      co_return UnavailableError("upstream connection failed mid-response: " + ec.message());
    }
    if (n > 0 || parser.is_done()) {
      out.resize(old + n);
      co_return n > 0 || !parser.is_done();
    }
  }
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
      if (c->deadline <= now && !c->timed_out) {
        c->timed_out = true;
        c->tcp().cancel(ec);
      }
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
  conn->Arm(deadline);
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
  conn->Disarm();
  if (ec && conn->timed_out) co_return DeadlineExceededError("upstream connect timed out");
  if (ec) co_return UnavailableError("cannot connect to " + target.pool_key + ": " + ec.message());
  stream.set_option(tcp::no_delay(true), ec);
  if (target.tls) {
    if (!SSL_set_tlsext_host_name(conn->secure->native_handle(), target.host.c_str())) {
      co_return InternalError("cannot set TLS SNI");
    }
    conn->secure->set_verify_callback(ssl::host_name_verification(target.host));
    conn->Arm(deadline);
    co_await conn->secure->async_handshake(ssl::stream_base::client,
                                           asio::redirect_error(use_awaitable, ec));
    conn->Disarm();
    if (ec && conn->timed_out) co_return DeadlineExceededError("upstream TLS handshake timed out");
    if (ec)
      co_return UnavailableError("TLS handshake with " + target.pool_key +
                                 " failed: " + ec.message());
  }
  co_return conn;
}

Awaitable<StatusOr<std::unique_ptr<UpstreamResponse>>> UpstreamClient::Send(
    const UpstreamRequest& request, bool streaming) {
  const UpstreamTarget& target = *request.target;
  auto deadline = Clock::now() + request.timeout;
  std::string head;
  head.reserve(256 + request.api_key.size());
  head += request.method;
  head += ' ';
  head += target.base_path;
  head += request.path;
  head += " HTTP/1.1\r\nHost: ";
  head += target.host_header;
  head += "\r\nContent-Type: application/json\r\nAccept: ";
  head += streaming ? "text/event-stream" : "application/json";
  head += "\r\n";
  if (!request.api_key.empty()) {
    head += "Authorization: Bearer ";
    head += request.api_key;
    head += "\r\n";
  }
  if (!request.request_id.empty()) {
    head += "x-request-id: ";
    head += request.request_id;
    head += "\r\n";
  }
  if (request.method != "GET" || !request.body.empty()) {
    char num[24];
    auto [end, e] = std::to_chars(num, num + sizeof num, request.body.size());
    head += "Content-Length: ";
    head.append(num, end);
    head += "\r\n";
  }
  head += "\r\n";
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
    conn->Arm(deadline);
    co_await conn->Write(bufs, ec);
    if (!ec) {
      conn->parser.emplace();
      // Beast 1.74 compares a Content-Length against an unset limit as exceeded: give a number.
      conn->parser->body_limit(std::numeric_limits<std::uint64_t>::max());
      if (streaming) conn->Arm(Clock::now() + request.timeout);
      co_await conn->ReadHeader(ec);
      if (ec == http::error::need_buffer) ec = {};
    }
    conn->Disarm();
    if (ec) {
      if (reused && IsDropped(ec) && attempt == 0) continue;  // stale pooled connection
      if (conn->timed_out) co_return DeadlineExceededError("upstream timed out");
      co_return UnavailableError("upstream " + target.pool_key + " failed: " + ec.message());
    }
    auto response = std::unique_ptr<UpstreamResponse>(new UpstreamResponse());
    auto& msg = conn->parser->get();
    response->status_ = static_cast<int>(msg.result_int());
    if (auto it = msg.find(http::field::content_type); it != msg.end()) {
      response->content_type_ = std::string(it->value());
    }
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
