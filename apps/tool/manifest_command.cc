#include "apps/tool/manifest_command.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <filesystem>

#include "lib/version/file_names.h"

namespace strata::tool {

bool ManifestReport::corrupt() const {
  for (const auto& f : findings) {
    if (f.corrupt()) return true;
  }
  return false;
}

asio::awaitable<Result<std::string>> read_current(io::FileSystem& fs, std::string db_dir,
                                                  std::optional<Finding>* problem) {
  std::string path = current_file_name(db_dir);
  auto contents = co_await io::read_file(fs, path);
  if (!contents) {
    *problem = corruption(path, std::nullopt,
                          contents.error() == make_error_code(Errc::not_found)
                              ? std::string("missing: the directory has no CURRENT file")
                              : "cannot read: " + contents.error().message());
    co_return contents.error();
  }
  std::string name = *contents;
  if (name.empty() || name.back() != '\n') {
    *problem = corruption(path, 0, "not newline-terminated (" + std::to_string(name.size()) + " bytes)");
    co_return make_error_code(Errc::corruption);
  }
  name.pop_back();
  auto parsed = parse_file_name(name);
  if (!parsed || parsed->kind != FileKind::manifest) {
    *problem = corruption(path, 0, "names '" + escape_bytes(name) + "', not a MANIFEST-NNNNNN file");
    co_return make_error_code(Errc::corruption);
  }
  co_return io::join_path(db_dir, name);
}

asio::awaitable<ManifestReport> inspect_manifest(io::FileSystem& fs, std::string path, uint64_t number) {
  ManifestReport r;
  r.path = path;
  r.manifest_number = number;
  r.version = std::make_shared<const Version>();
  auto opened = co_await open_read_only(fs, path);
  if (!opened) {
    r.findings.push_back(corruption(path, std::nullopt,
                                    opened.error() == make_error_code(Errc::not_found)
                                        ? std::string("missing: CURRENT names it but it does not exist")
                                        : "cannot open: " + opened.error().message()));
    co_return r;
  }
  auto file = std::move(*opened);
  auto on_record = [&](LogRecord& rec) {
    auto edit = VersionEdit::decode(rec.payload);
    if (!edit) {
      r.findings.push_back(corruption(path, rec.offset, "version edit does not decode"));
      return false;
    }
    auto next = r.version->apply(*edit);
    if (!next) {
      r.findings.push_back(corruption(
          path, rec.offset, "version edit does not apply (it deletes a file that is not there or adds one twice)"));
      return false;
    }
    r.version = std::move(*next);
    // VersionSet::apply_counters.
    if (edit->log_number) r.log_number = *edit->log_number;
    if (edit->next_file_number) r.next_file_number = std::max(r.next_file_number, *edit->next_file_number);
    if (edit->last_sequence) r.last_sequence = *edit->last_sequence;
    for (const auto& [level, f] : edit->new_files) r.next_file_number = std::max(r.next_file_number, f.number + 1);
    r.edits.push_back(ManifestReport::Edit{rec.offset, rec.end_offset, std::move(*edit)});
    return true;
  };
  auto end = co_await read_log(*file, number, on_record);
  if (!end) {
    r.findings.push_back(corruption(path, std::nullopt, "read error: " + end.error().message()));
    co_return r;
  }
  r.end = *end;
  if (r.corrupt()) co_return r;
  if (auto f = end->finding(path)) r.findings.push_back(std::move(*f));
  if (r.edits.empty() && !r.corrupt()) {
    r.findings.push_back(corruption(path, 0, "the manifest holds no whole version edit (the DB does not open)"));
  }
  co_return r;
}

namespace {

boost::json::object file_json(int level, const FileMetaData& f) {
  return boost::json::object{{"level", level},
                             {"number", f.number},
                             {"file_size", f.file_size},
                             {"num_entries", f.num_entries},
                             {"smallest_seq", f.smallest_seq},
                             {"largest_seq", f.largest_seq},
                             {"smallest", internal_key_json(f.smallest)},
                             {"largest", internal_key_json(f.largest)}};
}

boost::json::object edit_json(size_t i, const ManifestReport::Edit& e) {
  boost::json::object o{{"index", i}, {"offset", e.offset}, {"end_offset", e.end_offset}};
  if (e.edit.log_number) o["log_number"] = *e.edit.log_number;
  if (e.edit.next_file_number) o["next_file_number"] = *e.edit.next_file_number;
  if (e.edit.last_sequence) o["last_sequence"] = *e.edit.last_sequence;
  boost::json::array added, deleted;
  for (const auto& [level, f] : e.edit.new_files) added.push_back(file_json(level, f));
  for (const auto& [level, number] : e.edit.deleted_files) {
    deleted.push_back(boost::json::object{{"level", level}, {"number", number}});
  }
  o["new_files"] = std::move(added);
  o["deleted_files"] = std::move(deleted);
  return o;
}

}  // namespace

boost::json::array levels_json(const Version& v) {
  boost::json::array levels;
  for (int level = 0; level < kNumLevels; ++level) {
    boost::json::array files;
    for (const auto& f : v.files(level)) files.push_back(file_json(level, *f));
    levels.push_back(
        boost::json::object{{"level", level}, {"files", std::move(files)}, {"bytes", v.level_bytes(level)}});
  }
  return levels;
}

boost::json::object manifest_report_json(const ManifestReport& r) {
  boost::json::object o{
      {"file", r.path}, {"manifest_number", r.manifest_number}, {"status", r.corrupt() ? "corrupt" : "ok"}};
  if (!r.current.empty()) o["current"] = r.current;
  boost::json::array edits;
  for (size_t i = 0; i < r.edits.size(); ++i) edits.push_back(edit_json(i, r.edits[i]));
  o["edits"] = std::move(edits);
  o["levels"] = levels_json(*r.version);
  o["live_files"] = r.version->num_files();
  o["log_number"] = r.log_number;
  o["next_file_number"] = r.next_file_number;
  o["last_sequence"] = r.last_sequence;
  if (r.end) o["end"] = r.end->to_json();
  boost::json::array findings;
  for (const auto& f : r.findings) findings.push_back(f.to_json());
  o["findings"] = std::move(findings);
  return o;
}

void print_manifest_report(const ManifestReport& r) {
  std::printf("manifest %s (number %" PRIu64 ")\n", r.path.c_str(), r.manifest_number);
  for (size_t i = 0; i < r.edits.size(); ++i) {
    const auto& e = r.edits[i];
    std::printf("  edit %zu at offset %" PRIu64 ":", i, e.offset);
    if (e.edit.log_number) std::printf(" log_number=%" PRIu64, *e.edit.log_number);
    if (e.edit.next_file_number) std::printf(" next_file_number=%" PRIu64, *e.edit.next_file_number);
    if (e.edit.last_sequence) std::printf(" last_sequence=%" PRIu64, *e.edit.last_sequence);
    std::printf("\n");
    for (const auto& [level, number] : e.edit.deleted_files) {
      std::printf("    delete L%d %06" PRIu64 "\n", level, number);
    }
    for (const auto& [level, f] : e.edit.new_files) {
      std::printf("    add L%d %06" PRIu64 " %" PRIu64 " B %" PRIu64 " entries [%s .. %s]\n", level, f.number,
                  f.file_size, f.num_entries, describe_internal_key(f.smallest).c_str(),
                  describe_internal_key(f.largest).c_str());
    }
  }
  std::printf("  result: log_number=%" PRIu64 " next_file_number=%" PRIu64 " last_sequence=%" PRIu64 "\n", r.log_number,
              r.next_file_number, r.last_sequence);
  for (int level = 0; level < kNumLevels; ++level) {
    const auto& files = r.version->files(level);
    if (files.empty()) continue;
    std::printf("  L%d: %zu files, %" PRIu64 " B:", level, files.size(), r.version->level_bytes(level));
    for (const auto& f : files) std::printf(" %06" PRIu64, f->number);
    std::printf("\n");
  }
  if (r.end) std::printf("  %s\n", r.end->to_text().c_str());
  for (const auto& f : r.findings) std::printf("%s\n", f.to_text().c_str());
  if (!r.corrupt()) std::printf("ok\n");
}

int run_manifest_command(io::FileSystem& fs, const std::vector<std::string>& args, const ToolFlags& flags) {
  std::string path = args.at(0);
  std::string current;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    std::optional<Finding> problem;
    auto named = run_sync(read_current(fs, path, &problem));
    if (!named) {
      if (flags.json)
        print_json(boost::json::object{{"status", "corrupt"}, {"findings", boost::json::array{problem->to_json()}}});
      else
        std::printf("%s\n", problem->to_text().c_str());
      return kExitCorrupt;
    }
    current = current_file_name(path);
    path = *named;
  }
  std::optional<uint64_t> number = flags.log_number ? flags.log_number : log_number_from_path(path);
  if (!number) {
    std::fprintf(stderr, "strata-tool: %s is not named MANIFEST-NNNNNN; give its number with --log-number N\n",
                 path.c_str());
    return kExitUsage;
  }
  ManifestReport r = run_sync(inspect_manifest(fs, path, *number));
  r.current = current;
  if (flags.json)
    print_json(manifest_report_json(r));
  else
    print_manifest_report(r);
  return r.corrupt() ? kExitCorrupt : kExitClean;
}

}  // namespace strata::tool
