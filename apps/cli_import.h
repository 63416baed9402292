// `strata import FILE`: loads JSON lines ({"key": K, "value": V} per line, the shape of
// ../shared/data/debian-packages.jsonl.zst and of `strata scan -o json` items) into a store
// through a CliBackend, in atomic batches (DB::write embedded, POST /v1/batch over HTTP).
//
// Input: a file, `-` for standard input; a name ending in .zst is decompressed (libzstd,
// streaming). Each line must be a JSON object with string members "key" and "value" and, optionally,
// "encoding": "base64" (both then base64, as the HTTP API writes bytes that are not UTF-8); any
// other member, an empty key or a malformed line stops the import. Empty lines are skipped.
// Batches: at most ImportOptions::batch_bytes of keys and values (and 10,000 records) each.
// Stopping: at the first bad line or failed batch; every batch before it is in the store (each is
// atomic), nothing after it. The report says how many records went in and where it stopped.
// Progress: with `progress`, one line on stderr redrawn a few times a second (records, bytes,
// rate, and the share of the file read when its size is known).
// Thread-safety: none (one call at a time on one backend).
#pragma once

#include <cstdint>
#include <string>

#include "apps/cli_backend.h"

namespace strata::cli {

struct ImportOptions {
  size_t batch_bytes = 1 << 20;
  bool progress = false;
};

struct ImportReport {
  uint64_t records = 0;  // records written
  uint64_t bytes = 0;    // their keys and values
  uint64_t lines = 0;    // input lines read (including empty ones)
  double seconds = 0;
};

// Errors (CliError, with `report` telling what went in): the file cannot be read or
// decompressed; "line N: ..." for a bad line; the backend's error for a failed batch.
CliResult<void> import_jsonl(CliBackend& backend, const std::string& path, const ImportOptions& options,
                             ImportReport* report);

}  // namespace strata::cli
