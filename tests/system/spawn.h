// Starting a real binary for a system test: fork, stdout and stderr appended to a log file,
// exec. The caller owns the child (kill and waitpid it).
#pragma once

#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace strata::testing {

// Starts args[0] with `args`, its output appended to `log_path`. Returns the child's pid (-1 if
// fork failed); a child whose exec fails exits 127.
inline pid_t spawn_process(std::vector<std::string> args, const std::string& log_path) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

}  // namespace strata::testing
