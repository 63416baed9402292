// The `strata repl` loop (TinyLSM's commands plus the admin ones; HELP inside lists them): reads
// lines with libedit (history in ~/.strata_history, Tab completion of commands) on a terminal, or
// plainly from a pipe (no prompt), and runs each against `backend`.
// Thread-safety: runs on the calling thread; the backend is used by it alone.
#pragma once

#include <string>

#include "apps/cli_backend.h"

namespace strata::cli {

// Runs until EXIT/QUIT or the end of input. `target` (a URL or directory) is shown in the prompt.
// Returns the exit status: 1 when stdin is not a terminal and a command failed, else 0.
int repl(CliBackend& backend, const std::string& target);

}  // namespace strata::cli
