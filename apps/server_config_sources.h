// strata-server's configuration sources, layered the etcd way: a flag beats a STRATA_*
// environment variable, which beats a line of --env-file, which beats a key of --config (TOML),
// which beats the built-in default. Every source names options as the flags do:
//   flag           --block-cache-mb 64
//   environment    STRATA_BLOCK_CACHE_MB=64          (upper case, '-' as '_', prefix STRATA_)
//   --env-file F   STRATA_BLOCK_CACHE_MB=64          (TinyLSM's .env habit: KEY=VALUE lines,
//                                                     '#' comments, optional `export `, optional
//                                                     quotes around the value)
//   --config F     block-cache-mb = 64               (TOML: top-level keys only; strings, integers,
//                                                     floats and booleans)
// --config and --env-file themselves come from a flag or the environment (STRATA_CONFIG,
// STRATA_ENV_FILE). A switch (--direct-reads) is `true`/`false` outside the command line.
// Refused (exit 2 with the reason): a key of the TOML file or the env file that names no option,
// a TOML table or array, a malformed line or file. A STRATA_* variable of the environment that
// names no server option is ignored with a warning (the environment is shared: STRATA_URL is the
// CLI's).
// Thread-safety: not thread-safe (run once, from main).
#pragma once

#include <boost/program_options.hpp>

#include <string>
#include <vector>

namespace strata {

struct ConfigSources {
  struct Applied {
    std::string name;    // the flag's name, without "--"
    std::string value;   // as given ("true" for a switch on the command line)
    std::string source;  // "flag", "env STRATA_NAME", "env-file F" or "config F"
  };
  // Every option that is not at its default, in the order of `desc`: for the start log and
  // GET /v1/config "server".
  std::vector<Applied> applied;
  // Warnings to log (ignored environment variables).
  std::vector<std::string> warnings;
};

// Parses argv and the sources above into *vm (po::notify is the caller's). false (and *why) on a
// refused source; a malformed command line throws as po::command_line_parser does.
bool parse_config_sources(int argc, char** argv, const boost::program_options::options_description& desc,
                          boost::program_options::variables_map* vm, ConfigSources* sources, std::string* why);

}  // namespace strata
