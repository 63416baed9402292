// Minimal leveled logging to stderr, printf-style. Used to record context at the point an error
// is detected (file, offset, expected and actual checksum), and the events an operator follows
// (elections, peers lost and back, snapshots).
//
// Formats (set_log_format):
//  - text: `2026-12-03T19:29:24.600Z INFO peer transport: connected to node 2 at 127.0.0.1:19202`
//  - json: one object per line, `{"time":"2026-12-03T19:29:24.600Z","level":"info",
//    "component":"peer transport","node_id":"3","msg":"connected to node 2 at 127.0.0.1:19202"}`.
//    `component` is the message's leading "name: " (messages are written that way: "wal: ...",
//    "tls: ..."; "node N: ..." from the replication layer is "replication"), absent when the
//    message has none; `node_id` is set_log_node_id()'s, absent when empty. Strings are JSON
//    escaped (Boost.JSON), so a line is always one valid object.
// A message longer than 1023 bytes is cut there.
//
// Thread-safety: safe from any thread (one fprintf per message). set_log_format and
// set_log_node_id are meant for start-up, before other threads log.
#pragma once

#include <string>

namespace strata {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };
enum class LogFormat { text, json };

void set_log_level(LogLevel level);
LogLevel log_level();
void set_log_format(LogFormat format);
void set_log_node_id(std::string node_id);
void log_message(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace strata

#define STRATA_LOG(level, ...)                                       \
  do {                                                               \
    if (::strata::LogLevel::level >= ::strata::log_level())          \
      ::strata::log_message(::strata::LogLevel::level, __VA_ARGS__); \
  } while (0)
