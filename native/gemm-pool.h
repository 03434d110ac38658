// The matrix products' helper threads (docs/kernels.md, "Threads"): one small pool per process,
// created on first use and shared by every JS thread that calls the addon. A product hands its
// output blocks out one at a time (an atomic counter) to the calling thread and to the helpers
// that wake in time; the caller runs blocks too and returns once every block is done. Only one
// product uses the pool at a time: a caller that finds it busy runs its product alone rather than
// wait. Helpers run at nice 10, so the event loop and the small requests of other threads
// preempt them: a long training job borrows the idle core, never takes it from the service.
//
// A helper that finishes a product watches for the next one for `kSpinMicros` before it sleeps:
// a training step posts a product every 100–300 µs, and waking a sleeping thread on an idle core
// of a virtual machine costs tens of µs, which is most of what splitting an MLP's product saves.
// A caller that waited for a late helper longer than it worked itself (the helper was preempted
// inside a block: a loaded machine) twice in a row runs its next products alone, 16, 32, … up to
// 4,096 of them while the helper stays late, then tries again. Neither changes a bit of any result: each output
// element is summed by one thread in the fixed order, whoever runs it.
#pragma once

#include <atomic>
#include <chrono>
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
// Smallest m·k·n split over threads (docs/kernels.md, "The threshold"): below it, moving a training
// step's fresh operands (the batch just gathered, the weights just updated) to the other core's
// cache costs what the split saves.
inline std::atomic<double> minWork{1 << 23};
// How long a helper watches for the next product before sleeping (see above).
constexpr int kSpinMicros = 300;

// The back-off after a late helper (see above): products still to run alone, and how many late
// products in a row (from 2 on, the back-off is 16 << (streak − 2); streak at most 10).
inline std::atomic<int> aloneLeft{0};
inline std::atomic<int> lateStreak{0};
// Counters for the bench and tests: products split, run alone by the back-off, found the helper late.
inline std::atomic<long> splitCount{0}, backedOffCount{0}, lateCount{0};
// How often a helper's watch ran out and it went to sleep.
inline std::atomic<long> sleptCount{0};

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

// Polls `done` for up to kSpinMicros (a pause between polls, the clock read every 256), so a
// thread about to sleep catches what comes soon without paying a wake-up.
template <typename F>
inline void Watch(F &&done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
  for (int n = 1; !done(); ++n) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    if ((n & 255) == 0 && std::chrono::steady_clock::now() > until) return;
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

  // Closes the job to late helpers and waits for those that joined it: watching for a while first,
  // as a helper does (a sleeping caller would pay the same wake-up it saved the helper).
  void Finish() {
    std::unique_lock<std::mutex> lock(mu_);
    job_ = nullptr;
    if (active_.load() != 0) {
      lock.unlock();
      Watch([&] { return active_.load(std::memory_order_acquire) == 0; });
      lock.lock();
    }
    done_.wait(lock, [this] { return active_.load() == 0; });
    busy_ = false;
  }

 private:
  void Helper() {
#if defined(__linux__)
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
#endif
    std::unique_lock<std::mutex> lock(mu_);
    unsigned long seen = generation_.load();
    for (;;) {
      if (generation_.load() == seen) {
        // Watch without the lock for a while, then sleep until notified.
        lock.unlock();
        Watch([&] { return generation_.load(std::memory_order_acquire) != seen; });
        lock.lock();
        if (generation_.load() == seen) sleptCount.fetch_add(1, std::memory_order_relaxed);
      }
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      seen = generation_.load();
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
  std::atomic<unsigned long> generation_{0};  // written under mu_, read also without
  std::atomic<int> active_{0};  // written under mu_, read also without
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
  bool alone = want <= 0;
  if (!alone && aloneLeft.load(std::memory_order_relaxed) > 0) {
    aloneLeft.fetch_sub(1, std::memory_order_relaxed);
    backedOffCount.fetch_add(1, std::memory_order_relaxed);
    alone = true;
  }
  Pool &pool = ThePool();
  if (alone || !pool.TryPost(&job, want)) {
    for (long t = 0; t < total; ++t) fn(t);
    return;
  }
  splitCount.fetch_add(1, std::memory_order_relaxed);
  const auto t0 = std::chrono::steady_clock::now();
  Work(&job);
  const auto t1 = std::chrono::steady_clock::now();
  pool.Finish();
  const auto t2 = std::chrono::steady_clock::now();
  if (t2 - t1 > t1 - t0) {
    lateCount.fetch_add(1, std::memory_order_relaxed);
    // One late product happens on an idle machine too (an interrupt, a neighbour of the virtual
    // machine); two in a row mean the other core is taken.
    const int streak = lateStreak.load(std::memory_order_relaxed) + 1;
    if (streak >= 2) aloneLeft.store(16 << (streak - 2), std::memory_order_relaxed);
    lateStreak.store(streak < 10 ? streak : 10, std::memory_order_relaxed);
  } else {
    lateStreak.store(0, std::memory_order_relaxed);
  }
  if (job.failed.load()) throw std::bad_alloc();
}

}  // namespace gemm_pool
