// MutableOptions: the Options a running DB lets you change (DB::set_option, the REPL's
// `CONFIG SET name value`, POST /v1/config), with the validation every change must pass.
//
// Names are the Options field names. Values are decimal integers; sizes are in bytes.
//   memtable_size_bytes          4096 .. 4 GiB     applies at the next memtable switch
//   l0_compaction_trigger        1 .. 1000
//   l0_slowdown_writes_trigger   >= l0_compaction_trigger
//   l0_stop_writes_trigger       >= l0_slowdown_writes_trigger
//   max_background_compactions   1 .. Options::kMaxBackgroundCompactions
//   bloom_bits_per_key           0 .. 64           for SSTables written from now on
//   target_file_size_bytes       64 KiB .. 4 GiB   (tests may go lower through Options)
//   max_bytes_for_level_base     >= 64 KiB
//   max_bytes_for_level_multiplier 2 .. 100
// Errors: invalid_argument (unknown name, not a number, out of range, or breaks an ordering
// rule), with the reason in *why.
// Thread-safety: a plain value; the DB guards its copy with its mutex.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strata/options.h"
#include "strata/result.h"

namespace strata {

struct MutableOptions {
  uint64_t memtable_size_bytes = 0;
  int l0_compaction_trigger = 0;
  int l0_slowdown_writes_trigger = 0;
  int l0_stop_writes_trigger = 0;
  int max_background_compactions = 0;
  int bloom_bits_per_key = 0;
  uint64_t target_file_size_bytes = 0;
  uint64_t max_bytes_for_level_base = 0;
  int max_bytes_for_level_multiplier = 0;

  static MutableOptions from(const Options& o);
  void apply_to(Options* o) const;

  // Sets one option by name after validating the result as a whole; on error nothing changes.
  Result<void> set(std::string_view name, std::string_view value, std::string* why);
  // Checks ranges and ordering rules (see above). strict = false (DB::open) accepts the smaller
  // sizes that tests use.
  Result<void> validate(bool strict, std::string* why) const;
  // (name, value) for every option, in the order above.
  std::vector<std::pair<std::string, std::string>> list() const;
};

}  // namespace strata
