#include "lib/replication/kv_service.h"

#include <utility>

#include "lib/util/key_prefix.h"

namespace strata::replication {

namespace asio = boost::asio;

asio::awaitable<Result<std::vector<KeyValue>>> scan_db(DB& db, ScanOptions o, std::string key_prefix) {
  std::string lower = key_prefix + o.start;
  std::string upper = o.end.empty() ? prefix_successor(key_prefix) : key_prefix + o.end;
  std::vector<KeyValue> rows;
  if (!upper.empty() && lower >= upper) co_return rows;
  if (!o.reverse) {
    STRATA_CO_TRY_ASSIGN(rows, co_await db.scan(std::move(lower), std::move(upper), o.limit));
  } else {
    ReadOptions ro;
    ro.lower_bound = std::move(lower);
    ro.upper_bound = std::move(upper);
    std::unique_ptr<Iterator> it = db.new_iterator(std::move(ro));
    STRATA_CO_TRY(co_await it->seek_to_last());
    while (it->valid() && (o.limit == 0 || rows.size() < o.limit)) {
      rows.push_back(KeyValue{std::string(it->key()), std::string(it->value())});
      STRATA_CO_TRY(co_await it->prev());
    }
  }
  if (!key_prefix.empty()) {
    for (KeyValue& kv : rows) kv.key.erase(0, key_prefix.size());
  }
  co_return rows;
}

}  // namespace strata::replication
