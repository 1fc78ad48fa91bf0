// The one way gateway code includes Boost.Asio: <utility> first (Asio 1.74's awaitable.hpp uses
// std::exchange without including it), then the pieces the data plane uses. Asio and Beast are
// compiled separately (BOOST_ASIO_SEPARATE_COMPILATION, see asio_impl.cc).
#pragma once

// clang-format off
#include <utility>  // first: see above (the include sorter would move it after Asio)
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

namespace bursar::gateway {
namespace asio = boost::asio;

// Every coroutine, socket and timer of the data plane runs on one worker's io_context, so they
// use its concrete executor type rather than asio::any_io_executor: no type-erased executor
// copy, query and destroy on each operation (about 3% of the gateway's CPU in bench/gateway).
using Executor = asio::io_context::executor_type;
template <typename T = void>
using Awaitable = asio::awaitable<T, Executor>;
inline constexpr asio::use_awaitable_t<Executor> use_awaitable{};
using TcpSocket = asio::basic_stream_socket<asio::ip::tcp, Executor>;
using TcpAcceptor = asio::basic_socket_acceptor<asio::ip::tcp, Executor>;
using TcpResolver = asio::ip::basic_resolver<asio::ip::tcp, Executor>;
using SteadyTimer =
    asio::basic_waitable_timer<std::chrono::steady_clock,
                               asio::wait_traits<std::chrono::steady_clock>, Executor>;
}  // namespace bursar::gateway
