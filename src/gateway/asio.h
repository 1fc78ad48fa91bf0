// The one way gateway code includes Boost.Asio: <utility> first (Asio 1.74's awaitable.hpp uses
// std::exchange without including it), then the pieces the data plane uses. Asio and Beast are
// compiled separately (BOOST_ASIO_SEPARATE_COMPILATION, see asio_impl.cc).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

namespace bursar::gateway {
namespace asio = boost::asio;
template <typename T = void>
using Awaitable = asio::awaitable<T>;
}  // namespace bursar::gateway
