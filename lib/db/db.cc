#include "strata/db.h"

#include "lib/db/db_impl.h"

namespace strata {

namespace asio = boost::asio;

DB::DB(std::unique_ptr<DBImpl> impl) : impl_(std::move(impl)) {}
DB::~DB() = default;

asio::awaitable<Result<std::unique_ptr<DB>>> DB::open(asio::any_io_executor executor, std::string path,
                                                      Options options) {
  auto impl = std::make_unique<DBImpl>(executor, std::move(path), options);
  auto opened = co_await impl->open();
  if (!opened) {
    auto closed = co_await impl->close();  // releases the lock and whatever open() acquired
    (void)closed;
    co_return opened.error();
  }
  co_return std::unique_ptr<DB>(new DB(std::move(impl)));
}

asio::awaitable<Result<SequenceNumber>> DB::put(std::string key, std::string value, WriteOptions options) {
  auto k = impl_->check_key(key);
  if (!k) co_return k.error();
  auto v = impl_->check_value(value);
  if (!v) co_return v.error();
  WriteBatch batch;
  batch.put(key, value);
  co_return co_await impl_->write(std::move(batch), options);
}

asio::awaitable<Result<SequenceNumber>> DB::del(std::string key, WriteOptions options) {
  auto k = impl_->check_key(key);
  if (!k) co_return k.error();
  WriteBatch batch;
  batch.del(key);
  co_return co_await impl_->write(std::move(batch), options);
}

asio::awaitable<Result<SequenceNumber>> DB::write(WriteBatch batch, WriteOptions options) {
  // Validate every record before anything is written: a batch is all or nothing.
  struct Checker : WriteBatch::Handler {
    DBImpl* impl;
    bool bad = false;
    void put(SequenceNumber, std::string_view k, std::string_view v) override {
      bad = bad || !impl->check_key(k) || !impl->check_value(v);
    }
    void del(SequenceNumber, std::string_view k) override { bad = bad || !impl->check_key(k); }
  } checker;
  checker.impl = impl_.get();
  auto parsed = batch.iterate(checker);
  if (!parsed || checker.bad) co_return make_error_code(Errc::invalid_argument);
  co_return co_await impl_->write(std::move(batch), options);
}

// Not a coroutine: returns DBImpl's awaitable itself, so a get costs one coroutine frame.
asio::awaitable<Result<std::optional<std::string>>> DB::get(std::string key, ReadOptions options) {
  return impl_->get(std::move(key), std::move(options));
}

asio::awaitable<Result<Found>> DB::get(std::string_view key, std::string* value, ReadOptions options) {
  return impl_->get(key, value, std::move(options));
}

asio::awaitable<Result<std::vector<std::optional<std::string>>>> DB::multi_get(std::vector<std::string> keys,
                                                                               ReadOptions options) {
  return impl_->multi_get(std::move(keys), std::move(options));
}

asio::awaitable<Result<std::vector<KeyValue>>> DB::scan(std::string start, std::string end, size_t limit,
                                                        ReadOptions options) {
  co_return co_await impl_->scan(std::move(start), std::move(end), limit, options);
}

Snapshot DB::snapshot() { return impl_->snapshot(); }
SequenceNumber DB::latest_sequence() const { return impl_->latest_sequence(); }
asio::awaitable<Result<void>> DB::flush() { co_return co_await impl_->flush(); }
asio::awaitable<Result<void>> DB::compact_range(std::string begin, std::string end) {
  co_return co_await impl_->compact_range(std::move(begin), std::move(end));
}
asio::awaitable<Result<LookupTrace>> DB::trace(std::string key, ReadOptions options) {
  co_return co_await impl_->trace(std::move(key), std::move(options));
}
std::unique_ptr<Iterator> DB::new_iterator(ReadOptions options) { return impl_->new_iterator(std::move(options)); }
Result<void> DB::set_option(std::string_view name, std::string_view value, std::string* why) {
  return impl_->set_option(name, value, why);
}
std::vector<OptionInfo> DB::option_list() const { return impl_->option_list(); }
DbStats DB::stats() const { return impl_->stats(); }
asio::awaitable<Result<void>> DB::close() { co_return co_await impl_->close(); }

}  // namespace strata
