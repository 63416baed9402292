#include "strata/error.h"

#include <cerrno>
#include <string>

namespace strata {
namespace {

class StrataCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "strata"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::ok: return "ok";
      case Errc::corruption: return "corruption";
      case Errc::io_error: return "I/O error";
      case Errc::no_space: return "no space left on device";
      case Errc::read_only: return "database is read-only after a failed write";
      case Errc::invalid_argument: return "invalid argument";
      case Errc::not_found: return "not found";
      case Errc::already_exists: return "already exists";
      case Errc::busy: return "resource busy";
      case Errc::not_leader: return "not the leader";
      case Errc::timed_out: return "timed out";
      case Errc::shutting_down: return "shutting down";
      case Errc::not_supported: return "not supported";
      case Errc::unavailable: return "unavailable";
      case Errc::overloaded: return "overloaded";
      case Errc::removed: return "this node was removed from the cluster";
      case Errc::permission_denied: return "permission denied";
    }
    return "unknown strata error " + std::to_string(ev);
  }
};

}  // namespace

const boost::system::error_category& strata_category() noexcept {
  static const StrataCategory category;
  return category;
}

Errc errc_from_errno(int err) noexcept {
  switch (err) {
    case 0: return Errc::ok;
    case ENOSPC:
    case EDQUOT: return Errc::no_space;
    case ENOENT:
    case ENOTDIR: return Errc::not_found;
    case EEXIST: return Errc::already_exists;
    case EINVAL:
    case ENAMETOOLONG: return Errc::invalid_argument;
    case EAGAIN:
    case EBUSY: return Errc::busy;
    case EROFS: return Errc::read_only;
    case ENOSYS:
    case EOPNOTSUPP:
    case EPERM: return Errc::not_supported;
    case ETIMEDOUT: return Errc::timed_out;
    default: return Errc::io_error;
  }
}

}  // namespace strata
