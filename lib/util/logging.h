// Minimal leveled logging to stderr, printf-style. Used to record context at the point an error
// is detected (file, offset, expected and actual checksum).
//
// Thread-safety: safe from any thread (one fprintf per message).
#pragma once

namespace strata {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
void log_message(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace strata

#define STRATA_LOG(level, ...)                                                        \
  do {                                                                                \
    if (::strata::LogLevel::level >= ::strata::log_level())                          \
      ::strata::log_message(::strata::LogLevel::level, __VA_ARGS__);                  \
  } while (0)
