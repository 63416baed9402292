// `strata export FILE`: writes every pair of a store as JSON lines ({"key", "value"}, both
// base64 with "encoding": "base64" where either is not UTF-8): what `strata import` reads.
//
// Sources: a running server (--url: pages of GET /v1/kv, each read linearizable, the whole not
// one point in time) or a database directory (--data-dir: a stopped node's DB or a checkpoint,
// read in one snapshot). A directory holding a cluster node's replicated DB, such as a checkpoint
// of a cluster node (POST /v1/admin/checkpoint), is recognised by the state machine's metadata
// keys ("mapplied" and "mbootstrap", lib/replication/command.h) and exported as its user keys
// with their "u" prefix removed, unless ExportOptions::raw. This is how a cluster's data moves
// into a new cluster (docs/operations.md, "Restoring a cluster").
// Output: FILE, or standard output for "-"; written as it goes (a failed export leaves a partial
// file and says so).
// Thread-safety: none (one call at a time on one backend).
#pragma once

#include <cstdint>
#include <string>

#include "apps/cli_backend.h"

namespace strata::cli {

struct ExportOptions {
  bool detect_cluster_layout = false;  // the backend is a directory: look for a replicated DB
  bool raw = false;                    // every key as stored, even in a replicated DB
  size_t page_keys = 1000;             // pairs per scan call
};

struct ExportReport {
  uint64_t records = 0;
  uint64_t bytes = 0;           // keys and values
  bool cluster_layout = false;  // user keys of a replicated DB were exported
  double seconds = 0;
};

// Errors (CliError): the output cannot be written; the backend's scan errors.
CliResult<void> export_jsonl(CliBackend& backend, const std::string& path, const ExportOptions& options,
                             ExportReport* report);

}  // namespace strata::cli
