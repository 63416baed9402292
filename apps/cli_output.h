// How the `strata` CLI and REPL print what a store answers: keys and values (exact bytes into a
// pipe, escaped on a terminal), scans, statistics, lookup traces and options. Shared by the
// one-shot commands (strata_cli.cc) and the REPL (cli_repl.cc).
// Thread-safety: the functions write to stdout; one thread prints at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "strata/db.h"

namespace strata::cli {

// Writes a key or value to stdout: byte for byte into a pipe or file (scripts get exact bytes);
// on a terminal, control bytes other than newline and tab as \xNN, so that a stored escape
// sequence cannot drive the terminal.
void put_bytes(std::string_view bytes);
// Each pair as a "key = value" line, then "(N items)"; `more`: the range holds more rows than
// the limit let through (the last line says so).
void print_pairs(const std::vector<KeyValue>& rows, bool more = false);
// 1536 -> "1.5 KiB" (binary units).
std::string human_bytes(uint64_t n);
// 0.123 -> "12.3%".
std::string percent(double fraction);
// Bytes as they print, quoted: printable ASCII as is (" and \ escaped), anything else as \xNN.
std::string escaped(std::string_view bytes);
void print_stats(const DbStats& s);
void print_trace(const LookupTrace& t);
void print_options(const std::vector<OptionInfo>& options);

}  // namespace strata::cli
