#include "lib/util/logging.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <atomic>
#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <string_view>

namespace strata {
namespace {
std::atomic<LogLevel> g_level{LogLevel::info};
std::atomic<LogFormat> g_format{LogFormat::text};
std::string g_node_id;  // written before other threads log (see the header)

const char* level_name(LogLevel l, bool lower) {
  switch (l) {
    case LogLevel::debug: return lower ? "debug" : "DEBUG";
    case LogLevel::info: return lower ? "info" : "INFO";
    case LogLevel::warn: return lower ? "warn" : "WARN";
    case LogLevel::error: return lower ? "error" : "ERROR";
  }
  return "?";
}

// Splits "component: rest" when the message starts with a short name and ": ".
std::string_view split_component(std::string_view* msg) {
  size_t colon = msg->find(": ");
  if (colon == std::string_view::npos || colon == 0 || colon > 32) return {};
  std::string_view name = msg->substr(0, colon);
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != ' ' && c != '-' && c != '_') return {};
  }
  *msg = msg->substr(colon + 2);
  // "node 3: ..." is the replication layer speaking for node 3.
  if (name.starts_with("node ") && name.find_first_not_of("0123456789", 5) == std::string_view::npos) {
    return "replication";
  }
  return name;
}

std::string quoted(std::string_view s) { return boost::json::serialize(boost::json::string(s)); }

}  // namespace

void set_log_level(LogLevel level) { g_level.store(level); }
LogLevel log_level() { return g_level.load(std::memory_order_relaxed); }
void set_log_format(LogFormat format) { g_format.store(format); }
void set_log_node_id(std::string node_id) { g_node_id = std::move(node_id); }

void log_message(LogLevel level, const char* fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  char time[32];
  std::snprintf(time, sizeof time, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000);
  if (g_format.load(std::memory_order_relaxed) == LogFormat::text) {
    std::fprintf(stderr, "%s %s %s\n", time, level_name(level, false), msg);
    return;
  }
  std::string_view text(msg);
  std::string_view component = split_component(&text);
  std::string line = "{\"time\":\"";
  line += time;
  line += "\",\"level\":\"";
  line += level_name(level, true);
  line += '"';
  if (!component.empty()) line += ",\"component\":" + quoted(component);
  if (!g_node_id.empty()) line += ",\"node_id\":" + quoted(g_node_id);
  line += ",\"msg\":" + quoted(text) + "}\n";
  std::fputs(line.c_str(), stderr);
}

}  // namespace strata
