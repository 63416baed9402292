// Strata's error codes: one category (`strata`) whose codes name what went wrong in terms a
// caller can act on. OS errors from the io layer are mapped onto these codes (ENOSPC ->
// no_space, EIO -> io_error, ...) so callers never switch on errno.
//
// Thread-safety: all functions are safe from any thread.
#pragma once

#include <boost/system/error_code.hpp>

#include <system_error>
#include <type_traits>

namespace strata {

using ErrorCode = boost::system::error_code;

enum class Errc : int {
  ok = 0,
  corruption = 1,          // data read back does not match its checksum or format
  io_error = 2,            // EIO and other unexpected OS failures
  no_space = 3,            // ENOSPC / EDQUOT
  read_only = 4,           // the DB refused a write after an earlier write/sync failure
  invalid_argument = 5,    // bad input from the caller (too large, malformed, ...)
  not_found = 6,           // a file or directory that must exist does not (never used for keys)
  already_exists = 7,      // exclusive create of something that exists
  busy = 8,                // a resource is in use (the DB lock is held by another process)
  not_leader = 9,          // replication: this node cannot serve the request
  timed_out = 10,          // an operation did not complete before its deadline
  shutting_down = 11,      // the DB or node is closing
  not_supported = 12,      // the feature is not available here (io_uring disabled, ...)
  unavailable = 13,        // replication: no quorum reachable
  overloaded = 14,         // too many requests are pending; this one was refused, nothing was done
  removed = 15,            // replication: this node was removed from the cluster; it serves nothing
  permission_denied = 16,  // authentication failed (a missing or wrong MAC, a replayed handshake)
};

const boost::system::error_category& strata_category() noexcept;

inline ErrorCode make_error_code(Errc e) noexcept { return ErrorCode(static_cast<int>(e), strata_category()); }

// Maps an errno value to the closest Errc (ENOSPC -> no_space, ENOENT -> not_found, ...).
Errc errc_from_errno(int err) noexcept;

// The error code for an errno value; keeps the errno in the message via the mapping above.
inline ErrorCode error_from_errno(int err) noexcept { return make_error_code(errc_from_errno(err)); }

}  // namespace strata

namespace boost::system {
template <>
struct is_error_code_enum<strata::Errc> : std::true_type {};
}  // namespace boost::system
