// Result<T>: the return type of every fallible call (= boost::system::result<T>).
// "Not found" for a key is not an error: such calls return Result<std::optional<T>>.
//
// STRATA_TRY(expr)             propagates the error of a Result<void> expression.
// STRATA_TRY_ASSIGN(lhs, expr) evaluates a Result<T>, returns its error or assigns its value.
// STRATA_CO_TRY / STRATA_CO_TRY_ASSIGN are the same for coroutines (co_return).
// The expression is always bound to a named variable first: g++ 12 miscompiles some coroutine
// forms with temporaries inside co_await expressions.
#pragma once

#include <boost/system/result.hpp>

#include "strata/error.h"

namespace strata {

template <class T>
using Result = boost::system::result<T, ErrorCode>;

// The success value of Result<void>.
inline Result<void> ok() { return {}; }

}  // namespace strata

#define STRATA_CONCAT_INNER(a, b) a##b
#define STRATA_CONCAT(a, b) STRATA_CONCAT_INNER(a, b)
#define STRATA_UNIQUE(name) STRATA_CONCAT(name, __LINE__)

#define STRATA_TRY(expr)                            \
  do {                                              \
    auto&& strata_try_r = (expr);                   \
    if (!strata_try_r) return strata_try_r.error(); \
  } while (0)

#define STRATA_TRY_ASSIGN(lhs, expr)                                              \
  auto&& STRATA_UNIQUE(strata_try_r_) = (expr);                                   \
  if (!STRATA_UNIQUE(strata_try_r_)) return STRATA_UNIQUE(strata_try_r_).error(); \
  lhs = std::move(*STRATA_UNIQUE(strata_try_r_))

#define STRATA_CO_TRY(expr)                            \
  do {                                                 \
    auto strata_try_r = (expr);                        \
    if (!strata_try_r) co_return strata_try_r.error(); \
  } while (0)

#define STRATA_CO_TRY_ASSIGN(lhs, expr)                                              \
  auto STRATA_UNIQUE(strata_try_r_) = (expr);                                        \
  if (!STRATA_UNIQUE(strata_try_r_)) co_return STRATA_UNIQUE(strata_try_r_).error(); \
  lhs = std::move(*STRATA_UNIQUE(strata_try_r_))
