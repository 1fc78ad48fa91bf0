// The compiled bodies of Boost.Asio, Asio SSL and Boost.Beast, built once for the whole program
// (BOOST_ASIO_SEPARATE_COMPILATION / BOOST_BEAST_SEPARATE_COMPILATION are PUBLIC definitions of
// bursar_gateway). Nothing else belongs in this file.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
#include <utility>
