// The matrix products' helper threads (docs/kernels.md, "Threads"): one small pool per process,
// created on first use and shared by every JS thread that calls the addon. A product hands its
// output blocks out one at a time (an atomic counter) to the calling thread and to the helpers
// that wake in time; the caller runs blocks too and returns once every block is done. Only one
// product uses the pool at a time: a caller that finds it busy runs its product alone rather than
// wait. Helpers run at nice 10, so the event loop and the small requests of other threads
// preempt them: a long training job borrows the idle core, never takes it from the service.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <new>
#include <thread>
#include <type_traits>

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace gemm_pool {

struct Job {
  std::atomic<long> next{0};
  long total = 0;
  void (*call)(void *, long) = nullptr;
  void *ctx = nullptr;
  int slots = 0;  // helpers still wanted (guarded by the pool's mutex)
  std::atomic<bool> failed{false};
};

inline std::atomic<int> threads{static_cast<int>(std::thread::hardware_concurrency() ? std::thread::hardware_concurrency() : 1)};
// Smallest m·k·n split over threads: below it a second thread did not pay on a shared 2-core machine
// (docs/kernels.md, "The threshold").
inline std::atomic<double> minWork{1 << 23};

inline int Threads() { return threads.load(std::memory_order_relaxed); }
inline double MinWork() { return minWork.load(std::memory_order_relaxed); }
inline void Configure(int t, double w) {
  threads.store(t, std::memory_order_relaxed);
  minWork.store(w, std::memory_order_relaxed);
}

// Runs blocks until none are left; an allocation failure marks the job failed.
inline void Work(Job *job) {
  try {
    for (long t; (t = job->next.fetch_add(1, std::memory_order_relaxed)) < job->total;) job->call(job->ctx, t);
  } catch (...) {
    job->failed.store(true);
  }
}

class Pool {
 public:
  // Posts `job` for up to `want` helpers; false when another product holds the pool.
  bool TryPost(Job *job, int want) {
    std::lock_guard<std::mutex> lock(mu_);
    if (busy_) return false;
    while (helpers_ < want) {
      std::thread(&Pool::Helper, this).detach();
      ++helpers_;
    }
    busy_ = true;
    job->slots = want;
    job_ = job;
    ++generation_;
    wake_.notify_all();
    return true;
  }

  // Closes the job to late helpers and waits for those that joined it.
  void Finish() {
    std::unique_lock<std::mutex> lock(mu_);
    job_ = nullptr;
    done_.wait(lock, [this] { return active_ == 0; });
    busy_ = false;
  }

 private:
  void Helper() {
#if defined(__linux__)
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
#endif
    std::unique_lock<std::mutex> lock(mu_);
    unsigned long seen = generation_;
    for (;;) {
      wake_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      Job *job = job_;
      if (!job || job->slots <= 0) continue;
      --job->slots;
      ++active_;
      lock.unlock();
      Work(job);
      lock.lock();
      if (--active_ == 0) done_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_, done_;
  Job *job_ = nullptr;
  unsigned long generation_ = 0;
  int active_ = 0;
  int helpers_ = 0;
  bool busy_ = false;
};

inline Pool &ThePool() {
  static Pool *pool = new Pool();  // never destroyed: detached helpers wait on it until exit
  return *pool;
}

// Calls fn(t) for t = 0 … total−1 over this thread and up to threads−1 helpers.
template <typename F>
void Parallel(long total, int threads, F &&fn) {
  Job job;
  job.total = total;
  job.ctx = &fn;
  job.call = [](void *ctx, long t) { (*static_cast<std::remove_reference_t<F> *>(ctx))(t); };
  const int want = static_cast<int>(total - 1 < threads - 1 ? total - 1 : threads - 1);
  Pool &pool = ThePool();
  if (want <= 0 || !pool.TryPost(&job, want)) {
    for (long t = 0; t < total; ++t) fn(t);
    return;
  }
  Work(&job);
  pool.Finish();
  if (job.failed.load()) throw std::bad_alloc();
}

}  // namespace gemm_pool
