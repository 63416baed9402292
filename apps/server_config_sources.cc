#include "apps/server_config_sources.h"

#include <toml++/toml.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

namespace strata {

namespace po = boost::program_options;

namespace {

constexpr std::string_view kEnvPrefix = "STRATA_";

// Options that only make sense on the command line.
bool command_line_only(const std::string& name) { return name == "help" || name == "version"; }

// "block-cache-mb" for "STRATA_BLOCK_CACHE_MB" when desc has it; "" otherwise.
std::string option_of_variable(std::string_view var, const po::options_description& desc) {
  if (!var.starts_with(kEnvPrefix)) return "";
  std::string name;
  for (char c : var.substr(kEnvPrefix.size())) {
    name.push_back(c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (name.empty() || command_line_only(name) || desc.find_nothrow(name, false) == nullptr) return "";
  return name;
}

std::string variable_of_option(const std::string& name) {
  std::string var(kEnvPrefix);
  for (char c : name) var.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return var;
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// KEY=VALUE lines. false (and *why) on a malformed line or an unknown key.
bool parse_env_file(const std::string& path, const po::options_description& desc, po::parsed_options* out,
                    std::string* why) {
  std::ifstream in(path);
  if (!in) {
    *why = "cannot read --env-file " + path;
    return false;
  }
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (t.starts_with("export ")) t = trim(std::string_view(t).substr(7));
    size_t eq = t.find('=');
    const std::string where = path + ":" + std::to_string(n);
    if (eq == std::string::npos || eq == 0) {
      *why = where + ": expected KEY=VALUE";
      return false;
    }
    std::string key = trim(std::string_view(t).substr(0, eq));
    std::string value = trim(std::string_view(t).substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    std::string name = option_of_variable(key, desc);
    if (name.empty() || name == "env-file") {
      *why = where + ": " + key +
             " names no strata-server option (keys are STRATA_ and the flag's name, e.g. STRATA_DATA_DIR)";
      return false;
    }
    out->options.push_back(po::option(name, {value}));
  }
  return true;
}

// Top-level keys of a TOML file. false (and *why) on a parse error, an unknown key, a table or
// an array.
bool parse_toml(const std::string& path, const po::options_description& desc, po::parsed_options* out,
                std::string* why) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "--config " << path << ": " << e.description() << " (line " << e.source().begin.line << ")";
    *why = msg.str();
    return false;
  }
  for (const auto& [k, node] : table) {
    const std::string key(k.str());
    if (node.is_table() || node.is_array()) {
      *why = "--config " + path + ": '" + key + "' must be a string, number or boolean (no tables or arrays: " +
             "options are top-level keys named as the flags)";
      return false;
    }
    if (command_line_only(key) || key == "config" || desc.find_nothrow(key, false) == nullptr) {
      *why = "--config " + path + ": '" + key +
             "' names no strata-server option (keys are the flags' names, e.g. data-dir)";
      return false;
    }
    std::string value;
    if (auto s = node.value<std::string>(); s && node.is_string()) {
      value = *s;
    } else if (node.is_integer()) {
      value = std::to_string(node.as_integer()->get());
    } else if (node.is_floating_point()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", node.as_floating_point()->get());
      value = buf;
    } else if (node.is_boolean()) {
      value = node.as_boolean()->get() ? "true" : "false";
    } else {
      *why = "--config " + path + ": '" + key + "' must be a string, number or boolean";
      return false;
    }
    out->options.push_back(po::option(key, {value}));
  }
  return true;
}

bool contains(const po::parsed_options& p, const std::string& name) {
  for (const auto& o : p.options) {
    if (o.string_key == name) return true;
  }
  return false;
}

}  // namespace

bool parse_config_sources(int argc, char** argv, const po::options_description& desc, po::variables_map* vm,
                          ConfigSources* sources, std::string* why) {
  // No positional arguments (`strata-server extra` is an error, not ./data), and no abbreviated
  // flags (Boost would otherwise take --cert for --cert-file).
  po::parsed_options cli = po::command_line_parser(argc, argv)
                               .options(desc)
                               .positional(po::positional_options_description())
                               .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
                               .run();
  po::store(cli, *vm);
  po::parsed_options env = po::parse_environment(desc, [&](const std::string& var) {
    std::string name = option_of_variable(var, desc);
    if (name.empty() && var.starts_with(kEnvPrefix) && var != "STRATA_URL") {
      sources->warnings.push_back("the environment variable " + var + " names no strata-server option; ignored");
    }
    return name;
  });
  po::store(env, *vm);
  po::parsed_options env_file(&desc);
  std::string env_file_path, config_path;
  if (vm->count("env-file")) {
    env_file_path = (*vm)["env-file"].as<std::string>();
    if (!parse_env_file(env_file_path, desc, &env_file, why)) return false;
    po::store(env_file, *vm);
  }
  po::parsed_options config(&desc);
  if (vm->count("config")) {
    config_path = (*vm)["config"].as<std::string>();
    if (!parse_toml(config_path, desc, &config, why)) return false;
    po::store(config, *vm);
  }
  for (const auto& opt : desc.options()) {
    const std::string& name = opt->long_name();
    auto it = vm->find(name);
    if (it == vm->end() || it->second.defaulted() || command_line_only(name)) continue;
    std::string source = contains(cli, name)        ? "flag"
                         : contains(env, name)      ? "env " + variable_of_option(name)
                         : contains(env_file, name) ? "env-file " + env_file_path
                                                    : "config " + config_path;
    std::string value;
    for (const auto* p : {&cli, &env, &env_file, &config}) {
      for (const auto& o : p->options) {
        if (o.string_key == name && value.empty()) value = o.value.empty() ? "true" : o.value.front();
      }
      if (!value.empty()) break;
    }
    sources->applied.push_back(ConfigSources::Applied{name, value, source});
  }
  return true;
}

}  // namespace strata
