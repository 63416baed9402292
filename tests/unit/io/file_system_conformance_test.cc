// The io::FileSystem conformance suite: every scenario runs against MemFileSystem,
// PosixFileSystem and UringFileSystem on a fresh temp directory, so the three agree on the
// contract in file_system.h (results, error codes, edge cases).
#include <doctest/doctest.h>

#include <string>
#include <vector>
#include <algorithm>

#include "lib/io/file_system.h"
#include "tests/unit/io/io_test_util.h"

namespace strata::io::test {
namespace {

// Opens or fails the test.
asio::awaitable<std::unique_ptr<File>> must_open(FileSystem& fs, std::string path, OpenOptions options) {
  auto opened = co_await fs.open(path, options);
  REQUIRE_MESSAGE(opened.has_value(), path << ": " << opened.error().message());
  co_return std::move(*opened);
}

asio::awaitable<std::string> read_all(File& f) {
  auto size = f.size();
  REQUIRE(size.has_value());
  std::string out(*size, '\0');
  auto n = co_await f.read_at(0, std::span<char>(out.data(), out.size()));
  REQUIRE(n.has_value());
  out.resize(*n);
  co_return out;
}

constexpr OpenOptions kCreate{.create = true};

asio::awaitable<void> open_create_exclusive_and_not_found(FileSystem& fs, std::string root) {
  std::string path = join_path(root, "000001.log");
  auto missing = co_await fs.open(path, OpenOptions{});
  REQUIRE(!missing.has_value());
  CHECK(missing.error() == make_error_code(Errc::not_found));

  auto created = co_await fs.open(path, OpenOptions{.create = true, .exclusive = true});
  REQUIRE(created.has_value());
  CHECK((*created)->path() == path);
  CHECK((*created)->size().value() == 0);

  auto again = co_await fs.open(path, OpenOptions{.create = true, .exclusive = true});
  REQUIRE(!again.has_value());
  CHECK(again.error() == make_error_code(Errc::already_exists));

  auto plain = co_await fs.open(path, OpenOptions{.create = true});  // create without exclusive
  CHECK(plain.has_value());

  auto in_missing_dir = co_await fs.open(join_path(root, "nodir/x"), kCreate);
  REQUIRE(!in_missing_dir.has_value());
  CHECK(in_missing_dir.error() == make_error_code(Errc::not_found));
}

asio::awaitable<void> read_only_file_refuses_writes(FileSystem& fs, std::string root) {
  std::string path = join_path(root, "ro");
  {
    auto f = co_await must_open(fs, path, kCreate);
    auto w = co_await f->write_at(0, "abc");
    REQUIRE(w.has_value());
  }
  auto f = co_await must_open(fs, path, OpenOptions{.read_only = true});
  auto w = co_await f->write_at(0, "xyz");
  REQUIRE(!w.has_value());
  CHECK(w.error() == make_error_code(Errc::invalid_argument));
  auto text = co_await read_all(*f);
  CHECK(text == "abc");
}

asio::awaitable<void> write_read_round_trip_and_short_read_at_eof(FileSystem& fs, std::string root) {
  auto f = co_await must_open(fs, join_path(root, "data"), kCreate);
  auto w1 = co_await f->write_at(0, "hello ");
  REQUIRE(w1.has_value());
  auto w2 = co_await f->write_at(6, "world");
  REQUIRE(w2.has_value());
  CHECK(f->size().value() == 11);

  std::string buf(5, '?');
  auto n = co_await f->read_at(6, std::span<char>(buf.data(), buf.size()));
  REQUIRE(n.has_value());
  CHECK(*n == 5);
  CHECK(buf == "world");

  std::string big(100, '?');
  auto short_read = co_await f->read_at(3, std::span<char>(big.data(), big.size()));
  REQUIRE(short_read.has_value());
  CHECK(*short_read == 8);
  CHECK(big.substr(0, 8) == "lo world");

  auto at_eof = co_await f->read_at(11, std::span<char>(big.data(), big.size()));
  REQUIRE(at_eof.has_value());
  CHECK(*at_eof == 0);
  auto past_eof = co_await f->read_at(1000, std::span<char>(big.data(), big.size()));
  REQUIRE(past_eof.has_value());
  CHECK(*past_eof == 0);

  // Writing past the end leaves a hole of zeros.
  auto w3 = co_await f->write_at(20, "!");
  REQUIRE(w3.has_value());
  auto all = co_await read_all(*f);
  CHECK(all == std::string("hello world") + std::string(9, '\0') + "!");
}

asio::awaitable<void> large_write_round_trips(FileSystem& fs, std::string root) {
  auto f = co_await must_open(fs, join_path(root, "large"), kCreate);
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 2654435761u) >> 13);
  auto w = co_await f->write_at(0, data);
  REQUIRE(w.has_value());
  auto back = co_await read_all(*f);
  CHECK(back == data);
}

asio::awaitable<void> write_and_sync_is_readable_after_reopen(FileSystem& fs, std::string root) {
  std::string path = join_path(root, "MANIFEST-000001");
  {
    auto f = co_await must_open(fs, path, kCreate);
    auto w = co_await f->write_and_sync(0, "edit-1;");
    REQUIRE(w.has_value());
    auto w2 = co_await f->write_and_sync(7, "edit-2;");
    REQUIRE(w2.has_value());
    auto s = co_await f->sync();
    REQUIRE(s.has_value());
  }
  auto f = co_await must_open(fs, path, OpenOptions{.read_only = true});
  auto text = co_await read_all(*f);
  CHECK(text == "edit-1;edit-2;");
}

asio::awaitable<void> truncate_shrinks_and_grows_with_zeros(FileSystem& fs, std::string root) {
  auto f = co_await must_open(fs, join_path(root, "t"), kCreate);
  auto w = co_await f->write_at(0, "0123456789");
  REQUIRE(w.has_value());
  auto t1 = co_await f->truncate(3);
  REQUIRE(t1.has_value());
  CHECK(f->size().value() == 3);
  auto t2 = co_await f->truncate(6);
  REQUIRE(t2.has_value());
  auto text = co_await read_all(*f);
  CHECK(text == std::string("012") + std::string(3, '\0'));

  auto opened = co_await fs.open(join_path(root, "t"), OpenOptions{.truncate = true});
  REQUIRE(opened.has_value());
  CHECK((*opened)->size().value() == 0);
}

asio::awaitable<void> preallocate_grows_the_file_with_zeros(FileSystem& fs, std::string root) {
  auto f = co_await must_open(fs, join_path(root, "000002.log"), kCreate);
  auto w = co_await f->write_at(0, "abc");
  REQUIRE(w.has_value());
  auto p = co_await f->preallocate(64 * 1024);
  REQUIRE(p.has_value());
  CHECK(f->size().value() == 64 * 1024);
  auto text = co_await read_all(*f);
  REQUIRE(text.size() == 64 * 1024);
  CHECK(text.substr(0, 3) == "abc");
  CHECK(std::all_of(text.begin() + 3, text.end(), [](char c) { return c == '\0'; }));
  // Writing inside the preallocated region does not change the size.
  auto w2 = co_await f->write_at(100, "xyz");
  REQUIRE(w2.has_value());
  CHECK(f->size().value() == 64 * 1024);
  // Preallocating less than the size never shrinks.
  auto p2 = co_await f->preallocate(10);
  REQUIRE(p2.has_value());
  CHECK(f->size().value() == 64 * 1024);
}

asio::awaitable<void> rename_replaces_the_target_atomically(FileSystem& fs, std::string root) {
  std::string current = join_path(root, "CURRENT");
  std::string tmp = join_path(root, "CURRENT.tmp");
  {
    auto a = co_await must_open(fs, current, kCreate);
    auto w = co_await a->write_at(0, "old");
    REQUIRE(w.has_value());
    auto b = co_await must_open(fs, tmp, kCreate);
    auto w2 = co_await b->write_at(0, "new!");
    REQUIRE(w2.has_value());
  }
  auto r = co_await fs.rename(tmp, current);
  REQUIRE(r.has_value());
  auto tmp_exists = co_await fs.exists(tmp);
  CHECK(tmp_exists.value() == false);
  auto text = co_await read_file(fs, current);
  REQUIRE(text.has_value());
  CHECK(*text == "new!");

  auto missing = co_await fs.rename(join_path(root, "nope"), current);
  REQUIRE(!missing.has_value());
  CHECK(missing.error() == make_error_code(Errc::not_found));
}

asio::awaitable<void> remove_deletes_and_reports_not_found(FileSystem& fs, std::string root) {
  std::string path = join_path(root, "000003.sst");
  {
    auto f = co_await must_open(fs, path, kCreate);
  }
  auto r = co_await fs.remove(path);
  REQUIRE(r.has_value());
  auto e = co_await fs.exists(path);
  CHECK(e.value() == false);
  auto again = co_await fs.remove(path);
  REQUIRE(!again.has_value());
  CHECK(again.error() == make_error_code(Errc::not_found));
}

asio::awaitable<void> list_dir_names_files_and_subdirectories(FileSystem& fs, std::string root) {
  auto empty = co_await fs.list_dir(root);
  REQUIRE(empty.has_value());
  CHECK(empty->empty());
  {
    auto f = co_await must_open(fs, join_path(root, "a.sst"), kCreate);
  }
  {
    auto f = co_await must_open(fs, join_path(root, "b.log"), kCreate);
  }
  auto made = co_await fs.create_dir(join_path(root, "wal"));
  REQUIRE(made.has_value());
  {
    auto f = co_await must_open(fs, join_path(root, "wal/000001.log"), kCreate);
  }

  auto names = co_await fs.list_dir(root);
  REQUIRE(names.has_value());
  std::sort(names->begin(), names->end());
  CHECK(*names == std::vector<std::string>{"a.sst", "b.log", "wal"});
  auto wal = co_await fs.list_dir(join_path(root, "wal"));
  REQUIRE(wal.has_value());
  CHECK(*wal == std::vector<std::string>{"000001.log"});

  auto missing = co_await fs.list_dir(join_path(root, "nope"));
  REQUIRE(!missing.has_value());
  CHECK(missing.error() == make_error_code(Errc::not_found));
}

asio::awaitable<void> create_dir_is_idempotent_and_sync_dir_works(FileSystem& fs, std::string root) {
  std::string dir = join_path(root, "wal");
  auto m1 = co_await fs.create_dir(dir);
  REQUIRE(m1.has_value());
  auto m2 = co_await fs.create_dir(dir);
  CHECK(m2.has_value());
  auto s = co_await fs.sync_dir(dir);
  CHECK(s.has_value());
  auto s_root = co_await fs.sync_dir(root);
  CHECK(s_root.has_value());
  auto missing = co_await fs.sync_dir(join_path(root, "nope"));
  REQUIRE(!missing.has_value());
  CHECK(missing.error() == make_error_code(Errc::not_found));

  {
    auto f = co_await must_open(fs, join_path(root, "file"), kCreate);
  }
  auto over_file = co_await fs.create_dir(join_path(root, "file"));
  REQUIRE(!over_file.has_value());
  CHECK(over_file.error() == make_error_code(Errc::already_exists));
}

asio::awaitable<void> exists_sees_files_and_directories(FileSystem& fs, std::string root) {
  auto e_root = co_await fs.exists(root);
  CHECK(e_root.value() == true);
  std::string path = join_path(root, "LOCK");
  auto before = co_await fs.exists(path);
  CHECK(before.value() == false);
  {
    auto f = co_await must_open(fs, path, kCreate);
  }
  auto after = co_await fs.exists(path);
  CHECK(after.value() == true);
}

asio::awaitable<void> lock_held_twice_is_busy(FileSystem& fs, std::string root) {
  std::string path = join_path(root, "LOCK");
  auto first = fs.lock(path);
  REQUIRE(first.has_value());
  auto second = fs.lock(path);
  REQUIRE(!second.has_value());
  CHECK(second.error() == make_error_code(Errc::busy));
  first->reset();  // releases
  auto third = fs.lock(path);
  CHECK(third.has_value());
  co_return;
}

asio::awaitable<void> read_file_and_write_file_atomic_round_trip(FileSystem& fs, std::string root) {
  std::string path = join_path(root, "CURRENT");
  auto w1 = co_await write_file_atomic(fs, path, "MANIFEST-000001\n");
  REQUIRE(w1.has_value());
  auto r1 = co_await read_file(fs, path);
  REQUIRE(r1.has_value());
  CHECK(*r1 == "MANIFEST-000001\n");

  auto w2 = co_await write_file_atomic(fs, path, "MANIFEST-000002\n");
  REQUIRE(w2.has_value());
  auto r2 = co_await read_file(fs, path);
  REQUIRE(r2.has_value());
  CHECK(*r2 == "MANIFEST-000002\n");
  auto tmp_left = co_await fs.exists(path + ".tmp");
  CHECK(tmp_left.value() == false);

  auto missing = co_await read_file(fs, join_path(root, "nope"));
  REQUIRE(!missing.has_value());
  CHECK(missing.error() == make_error_code(Errc::not_found));
}

}  // namespace

#define STRATA_FS_SCENARIO(name, fn) \
  TEST_CASE_TEMPLATE(name, Impl, MemImpl, PosixImpl, UringImpl) { run_scenario<Impl>(fn); }

STRATA_FS_SCENARIO("open: missing is not_found, exclusive create of an existing file is already_exists",
                   open_create_exclusive_and_not_found)
STRATA_FS_SCENARIO("a read-only file refuses writes with invalid_argument", read_only_file_refuses_writes)
STRATA_FS_SCENARIO("write_at/read_at round trip; read_at is short only at end of file",
                   write_read_round_trip_and_short_read_at_eof)
STRATA_FS_SCENARIO("a 3 MiB write reads back byte for byte", large_write_round_trips)
STRATA_FS_SCENARIO("write_and_sync data is readable after reopen", write_and_sync_is_readable_after_reopen)
STRATA_FS_SCENARIO("truncate shrinks, and grows with zeros", truncate_shrinks_and_grows_with_zeros)
STRATA_FS_SCENARIO("preallocate grows the file, new bytes read as zeros, never shrinks",
                   preallocate_grows_the_file_with_zeros)
STRATA_FS_SCENARIO("rename atomically replaces the target", rename_replaces_the_target_atomically)
STRATA_FS_SCENARIO("remove deletes a file; removing it again is not_found", remove_deletes_and_reports_not_found)
STRATA_FS_SCENARIO("list_dir names files and subdirectories without . and ..", list_dir_names_files_and_subdirectories)
STRATA_FS_SCENARIO("create_dir is idempotent; sync_dir of a missing directory is not_found",
                   create_dir_is_idempotent_and_sync_dir_works)
STRATA_FS_SCENARIO("exists sees files and directories", exists_sees_files_and_directories)
STRATA_FS_SCENARIO("a lock held twice is busy until released", lock_held_twice_is_busy)
STRATA_FS_SCENARIO("write_file_atomic replaces a file that read_file reads back",
                   read_file_and_write_file_atomic_round_trip)

}  // namespace strata::io::test
