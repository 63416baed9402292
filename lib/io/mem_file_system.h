// MemFileSystem: an in-memory io::FileSystem for hermetic tests. Operations complete without
// suspending. Directories are implicit in paths but must be created with create_dir before files
// are opened in them (as on a real file system), so tests catch a missing create_dir.
//
// Thread-safety: all methods are safe from any thread (one mutex for the namespace, one per file).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "lib/io/file_system.h"

namespace strata::io {

class MemFileSystem final : public FileSystem {
 public:
  MemFileSystem();
  ~MemFileSystem() override;

  asio::awaitable<Result<std::unique_ptr<File>>> open(std::string path, OpenOptions options) override;
  asio::awaitable<Result<void>> rename(std::string from, std::string to) override;
  asio::awaitable<Result<void>> remove(std::string path) override;
  asio::awaitable<Result<void>> create_dir(std::string path) override;
  asio::awaitable<Result<std::vector<std::string>>> list_dir(std::string path) override;
  asio::awaitable<Result<void>> sync_dir(std::string path) override;
  asio::awaitable<Result<bool>> exists(std::string path) override;
  Result<std::unique_ptr<FileLock>> lock(std::string path) override;

  // Test helpers: direct access to a file's bytes (not_found if missing).
  Result<std::string> contents(const std::string& path) const;
  Result<void> set_contents(const std::string& path, std::string data);

  struct Node;  // a file's bytes; shared by open File objects (public for mem_file_system.cc)

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Node>> files_;
  std::set<std::string> dirs_;
  std::set<std::string> locks_;
};

}  // namespace strata::io
