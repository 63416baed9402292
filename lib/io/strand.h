// make_strand_executor: a strand (Asio's serializing executor) over `ex`, as an any_io_executor.
//
// When `ex` is an io_context's executor (the server's case) the strand is built over the
// io_context's own executor type: strand<io_context::executor_type> is 24 bytes and any_io_executor
// stores it inline, while strand<any_io_executor> does not fit, so each copy of it (Asio copies the
// executor several times per asynchronous operation, and again to track outstanding work) cost a
// heap allocation and atomic reference counts: ~8% of a busy leader's CPU under 64 HTTP
// connections (perf, 2026-11-21). Any other executor gets strand<any_io_executor>, as before.
// Thread-safety: a pure function; the returned executor is a value like any executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

namespace strata::io {

inline boost::asio::any_io_executor make_strand_executor(const boost::asio::any_io_executor& ex) {
  if (const auto* io = ex.target<boost::asio::io_context::executor_type>()) return boost::asio::make_strand(*io);
  return boost::asio::make_strand(ex);
}

}  // namespace strata::io
