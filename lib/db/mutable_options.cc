#include "lib/db/mutable_options.h"

#include <charconv>

namespace strata {

MutableOptions MutableOptions::from(const Options& o) {
  MutableOptions m;
  m.memtable_size_bytes = o.memtable_size_bytes;
  m.l0_compaction_trigger = o.l0_compaction_trigger;
  m.l0_slowdown_writes_trigger = o.l0_slowdown_writes_trigger;
  m.l0_stop_writes_trigger = o.l0_stop_writes_trigger;
  m.max_background_compactions = o.max_background_compactions;
  m.bloom_bits_per_key = o.bloom_bits_per_key;
  m.target_file_size_bytes = o.target_file_size_bytes;
  m.max_bytes_for_level_base = o.max_bytes_for_level_base;
  m.max_bytes_for_level_multiplier = o.max_bytes_for_level_multiplier;
  return m;
}

void MutableOptions::apply_to(Options* o) const {
  o->memtable_size_bytes = memtable_size_bytes;
  o->l0_compaction_trigger = l0_compaction_trigger;
  o->l0_slowdown_writes_trigger = l0_slowdown_writes_trigger;
  o->l0_stop_writes_trigger = l0_stop_writes_trigger;
  o->max_background_compactions = max_background_compactions;
  o->bloom_bits_per_key = bloom_bits_per_key;
  o->target_file_size_bytes = target_file_size_bytes;
  o->max_bytes_for_level_base = max_bytes_for_level_base;
  o->max_bytes_for_level_multiplier = max_bytes_for_level_multiplier;
}

namespace {

Result<void> bad(std::string* why, std::string reason) {
  if (why != nullptr) *why = std::move(reason);
  return make_error_code(Errc::invalid_argument);
}

bool in_range(uint64_t v, uint64_t lo, uint64_t hi) { return v >= lo && v <= hi; }

}  // namespace

Result<void> MutableOptions::validate(bool strict, std::string* why) const {
  constexpr uint64_t kGiB = uint64_t{1} << 30;
  uint64_t min_memtable = strict ? 4096 : 1;
  uint64_t min_file = strict ? 64 << 10 : 1;
  if (!in_range(memtable_size_bytes, min_memtable, 4 * kGiB)) {
    return bad(why, "memtable_size_bytes must be in [" + std::to_string(min_memtable) + ", 4 GiB]");
  }
  if (!in_range(l0_compaction_trigger, 1, 1000)) return bad(why, "l0_compaction_trigger must be in [1, 1000]");
  if (l0_slowdown_writes_trigger < l0_compaction_trigger) {
    return bad(why, "l0_slowdown_writes_trigger must be >= l0_compaction_trigger");
  }
  if (l0_stop_writes_trigger < l0_compaction_trigger) {
    return bad(why, "l0_stop_writes_trigger must be >= l0_compaction_trigger");
  }
  if (strict && l0_stop_writes_trigger < l0_slowdown_writes_trigger) {
    return bad(why, "l0_stop_writes_trigger must be >= l0_slowdown_writes_trigger");
  }
  if (!in_range(max_background_compactions, 1, Options::kMaxBackgroundCompactions)) {
    return bad(why,
               "max_background_compactions must be in [1, " + std::to_string(Options::kMaxBackgroundCompactions) + "]");
  }
  if (!in_range(bloom_bits_per_key, 0, 64)) return bad(why, "bloom_bits_per_key must be in [0, 64]");
  if (!in_range(target_file_size_bytes, min_file, 4 * kGiB)) {
    return bad(why, "target_file_size_bytes must be in [" + std::to_string(min_file) + ", 4 GiB]");
  }
  if (max_bytes_for_level_base < min_file) {
    return bad(why, "max_bytes_for_level_base must be >= " + std::to_string(min_file));
  }
  if (!in_range(max_bytes_for_level_multiplier, 2, 100)) {
    return bad(why, "max_bytes_for_level_multiplier must be in [2, 100]");
  }
  return ok();
}

Result<void> MutableOptions::set(std::string_view name, std::string_view value, std::string* why) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
    return bad(why, "value of " + std::string(name) + " must be a non-negative decimal integer");
  }
  MutableOptions next = *this;
  auto as_int = [&](int* field) -> Result<void> {
    if (v > 1'000'000'000) return bad(why, std::string(name) + " is out of range");
    *field = static_cast<int>(v);
    return ok();
  };
  if (name == "memtable_size_bytes") {
    next.memtable_size_bytes = v;
  } else if (name == "l0_compaction_trigger") {
    STRATA_TRY(as_int(&next.l0_compaction_trigger));
  } else if (name == "l0_slowdown_writes_trigger") {
    STRATA_TRY(as_int(&next.l0_slowdown_writes_trigger));
  } else if (name == "l0_stop_writes_trigger") {
    STRATA_TRY(as_int(&next.l0_stop_writes_trigger));
  } else if (name == "max_background_compactions") {
    STRATA_TRY(as_int(&next.max_background_compactions));
  } else if (name == "bloom_bits_per_key") {
    STRATA_TRY(as_int(&next.bloom_bits_per_key));
  } else if (name == "target_file_size_bytes") {
    next.target_file_size_bytes = v;
  } else if (name == "max_bytes_for_level_base") {
    next.max_bytes_for_level_base = v;
  } else if (name == "max_bytes_for_level_multiplier") {
    STRATA_TRY(as_int(&next.max_bytes_for_level_multiplier));
  } else {
    return bad(why, "unknown or immutable option '" + std::string(name) + "'");
  }
  STRATA_TRY(next.validate(/*strict=*/true, why));
  *this = next;
  return ok();
}

std::vector<std::pair<std::string, std::string>> MutableOptions::list() const {
  return {
      {"memtable_size_bytes", std::to_string(memtable_size_bytes)},
      {"l0_compaction_trigger", std::to_string(l0_compaction_trigger)},
      {"l0_slowdown_writes_trigger", std::to_string(l0_slowdown_writes_trigger)},
      {"l0_stop_writes_trigger", std::to_string(l0_stop_writes_trigger)},
      {"max_background_compactions", std::to_string(max_background_compactions)},
      {"bloom_bits_per_key", std::to_string(bloom_bits_per_key)},
      {"target_file_size_bytes", std::to_string(target_file_size_bytes)},
      {"max_bytes_for_level_base", std::to_string(max_bytes_for_level_base)},
      {"max_bytes_for_level_multiplier", std::to_string(max_bytes_for_level_multiplier)},
  };
}

}  // namespace strata
