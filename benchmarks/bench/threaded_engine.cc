#include "benchmarks/bench/threaded_engine.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace strata::bench {

using Clock = std::chrono::steady_clock;

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

int ThreadedEngine::multi_get(const std::vector<std::string>& keys, std::vector<std::string>* values) {
  int found = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    Lookup r = get(keys[i], &(*values)[i]);
    if (r == Lookup::error) return -1;
    if (r == Lookup::found) ++found;
  }
  return found;
}

Measurement ThreadedEngine::run(const Job& job) {
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> scanned{0};
  const int workers = job.threads > 0 ? job.threads : job.workers;
  std::atomic<bool> go{false}, readers_done{false};
  std::vector<WorkerState> states;
  states.reserve(job.workers + 1);
  for (int w = 0; w <= workers; ++w) states.emplace_back(job, w);
  const OpKind op = job.spec.op();
  const bool sync = job.spec.sync();

  auto worker = [&](WorkerState& st) {
    while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
    std::string value;
    std::vector<std::string> batch_keys(kMultiGetKeys), batch_values(kMultiGetKeys);
    const uint64_t step = op == OpKind::multiget ? kMultiGetKeys : 1;
    if (op == OpKind::scan) {
      // One reader scans everything; the others have nothing to do.
      if (next.fetch_add(job.ops, std::memory_order_relaxed) != 0) return;
      auto t0 = Clock::now();
      int64_t n = scan_all();
      st.latency.record(
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count()));
      if (n < 0)
        ++st.errors;
      else
        scanned.store(static_cast<uint64_t>(n));
      return;
    }
    for (uint64_t i = next.fetch_add(step, std::memory_order_relaxed); i < job.ops;
         i = next.fetch_add(step, std::memory_order_relaxed)) {
      st.keys.make(job.spec.workload, i, &st.key);
      auto t0 = Clock::now();
      switch (op) {
        case OpKind::multiget: {
          size_t n = std::min<uint64_t>(step, job.ops - i);
          batch_keys.resize(n);
          batch_values.resize(n);
          for (size_t k = 0; k < n; ++k) st.keys.make(job.spec.workload, i + k, &batch_keys[k]);
          int found = multi_get(batch_keys, &batch_values);
          if (found < 0)
            ++st.errors;
          else
            st.found += static_cast<uint64_t>(found);
          break;
        }
        case OpKind::scan: break;
        case OpKind::put:
          if (!put(st.key, st.values.next(), sync)) ++st.errors;
          break;
        case OpKind::get: {
          Lookup r = get(st.key, &value);
          if (r == Lookup::found) ++st.found;
          if (r == Lookup::error) ++st.errors;
          break;
        }
        case OpKind::seek: {
          int n = seek(st.key, job.spec.seek_nexts + 1);
          if (n < 0)
            ++st.errors;
          else
            st.found += static_cast<uint64_t>(n);
          break;
        }
      }
      auto t1 = Clock::now();
      st.latency.record(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
      ++st.ops;
      if (job.progress != nullptr && (i & 255) == 0) job.progress->store(i, std::memory_order_relaxed);
    }
  };
  // readwhilewriting's extra writer: random puts, not synced, paced, until the readers are done.
  auto writer = [&](WorkerState& st) {
    while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
    auto start = Clock::now();
    while (!readers_done.load(std::memory_order_acquire)) {
      auto deadline = pace_deadline(start, job.writer_puts_per_sec, st.ops);
      if (Clock::now() < deadline) {
        // Short sleeps so that the writer notices readers_done within a millisecond.
        std::this_thread::sleep_until(std::min(deadline, Clock::now() + std::chrono::milliseconds(1)));
        continue;
      }
      st.keys.make_random(&st.key);
      if (!put(st.key, st.values.next(), false)) ++st.errors;
      ++st.ops;
    }
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) threads.emplace_back(worker, std::ref(states[w]));
  std::thread background;
  if (job.spec.workload == Workload::readwhilewriting) background = std::thread(writer, std::ref(states[workers]));

  double cpu0 = process_cpu_seconds();
  auto start = Clock::now();
  go.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  auto end = Clock::now();
  readers_done.store(true, std::memory_order_release);
  if (background.joinable()) background.join();
  double cpu1 = process_cpu_seconds();

  Measurement m;
  m.ops = op == OpKind::scan ? scanned.load() : job.ops;
  m.seconds = std::chrono::duration<double>(end - start).count();
  m.cpu_seconds = cpu1 - cpu0;
  for (int w = 0; w < workers; ++w) states[w].merge_into(&m);
  m.background_writes = states[workers].ops;
  m.errors += states[workers].errors;
  return m;
}

}  // namespace strata::bench
