// The one translation unit that compiles Boost.Beast (BOOST_BEAST_SEPARATE_COMPILATION is set for
// the whole project in meson.build).
#include <boost/beast/src.hpp>
