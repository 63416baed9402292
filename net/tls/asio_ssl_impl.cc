// The one translation unit that compiles Boost.Asio's SSL support (BOOST_ASIO_SEPARATE_COMPILATION
// is set for the whole project in meson.build; lib/io/asio_impl.cc compiles the rest of Asio).
// Here, in strata_net, because only the network layer links OpenSSL's libssl.
#include <boost/asio/ssl/impl/src.hpp>
