#include "autograd/parallel.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "autograd/error.h"

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define AG_HAS_MXCSR 1
#endif

namespace ag {

namespace {

constexpr unsigned kFtz = 0x8000, kDaz = 0x0040, kStatusFlags = 0x3F;

unsigned read_fp_control() {
#ifdef AG_HAS_MXCSR
  return _mm_getcsr() & ~kStatusFlags;
#else
  return 0;
#endif
}

void write_fp_control([[maybe_unused]] unsigned control) {
#ifdef AG_HAS_MXCSR
  const unsigned now = _mm_getcsr();
  if ((now & ~kStatusFlags) != control) _mm_setcsr(control | (now & kStatusFlags));
#endif
}

void cpu_relax() {
#ifdef AG_HAS_MXCSR
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

int default_num_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && v >= 1 && v <= 1024) return static_cast<int>(v);
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::atomic<int> g_num_threads{0};
thread_local bool t_in_region = false;

/// One persistent set of workers; the submitting thread runs chunks too. Chunks are claimed through
/// one counter holding (job generation << 32 | next chunk), so a worker late for a job claims nothing.
class Pool {
 public:
  ~Pool() { resize(0); }

  /// Runs the job; the caller holds submit_.
  void run(std::int64_t begin, std::int64_t end, int nchunks, detail::ChunkFn fn) {
    {
      std::lock_guard lk(m_);
      job_ = Job{begin, end, nchunks, fn, read_fp_control(), ++gen_value_};
      done_.store(0, std::memory_order_relaxed);
      next_.store(std::uint64_t{job_.gen} << 32, std::memory_order_relaxed);
      gen_.store(job_.gen, std::memory_order_release);
    }
    if (sleepers_.load(std::memory_order_relaxed) > 0) wake_.notify_all();
    const bool outer = t_in_region;
    t_in_region = true;
    work(job_);
    t_in_region = outer;
    for (int i = 0; i < kSpin && done_.load(std::memory_order_acquire) < nchunks; ++i) cpu_relax();
    if (done_.load(std::memory_order_acquire) < nchunks) {
      std::unique_lock lk(m_);
      caller_waiting_ = true;
      finished_.wait(lk, [&] { return done_.load(std::memory_order_acquire) >= nchunks; });
      caller_waiting_ = false;
    }
    std::exception_ptr err;
    {
      std::lock_guard lk(m_);
      std::swap(err, error_);
    }
    if (err) std::rethrow_exception(err);
  }

  /// Starts or stops workers so that there are n of them; the caller holds submit_.
  void resize(std::size_t n) {
    if (workers_.size() == n) return;
    {
      std::lock_guard lk(m_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
    stop_ = false;
    for (std::size_t i = 0; i < n; ++i) workers_.emplace_back([this] { loop(); });
  }

  std::mutex submit_;

 private:
  struct Job {
    std::int64_t begin = 0, end = 0;
    int nchunks = 0;
    detail::ChunkFn fn{};
    unsigned fp_control = 0;
    std::uint32_t gen = 0;
  };
  static constexpr int kSpin = 200;

  void work(const Job& j) {
    const std::int64_t n = j.end - j.begin;
    std::uint64_t v = next_.load(std::memory_order_relaxed);
    for (;;) {
      if ((v >> 32) != j.gen || static_cast<int>(v & 0xffffffffu) >= j.nchunks) return;
      if (!next_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) continue;
      const auto c = static_cast<std::int64_t>(v & 0xffffffffu);
      try {
        j.fn.call(j.fn.ctx, j.begin + n * c / j.nchunks, j.begin + n * (c + 1) / j.nchunks);
      } catch (...) {
        std::lock_guard lk(m_);
        if (!error_) error_ = std::current_exception();
      }
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == j.nchunks) {
        std::lock_guard lk(m_);
        if (caller_waiting_) finished_.notify_one();
      }
      v = next_.load(std::memory_order_relaxed);
    }
  }

  void loop() {
    t_in_region = true;
    std::uint32_t seen = gen_.load(std::memory_order_acquire);
    for (;;) {
      for (int i = 0; i < kSpin && gen_.load(std::memory_order_acquire) == seen; ++i) cpu_relax();
      Job j;
      {
        std::unique_lock lk(m_);
        if (gen_.load(std::memory_order_relaxed) == seen && !stop_) {
          sleepers_.fetch_add(1, std::memory_order_relaxed);
          wake_.wait(lk, [&] { return gen_.load(std::memory_order_relaxed) != seen || stop_; });
          sleepers_.fetch_sub(1, std::memory_order_relaxed);
        }
        if (stop_) return;
        j = job_;
        seen = j.gen;
      }
      write_fp_control(j.fp_control);
      work(j);
    }
  }

  std::mutex m_;
  std::condition_variable wake_, finished_;
  std::vector<std::thread> workers_;
  Job job_;  // guarded by m_
  std::uint32_t gen_value_ = 0;
  bool stop_ = false, caller_waiting_ = false;
  std::exception_ptr error_;
  std::atomic<std::uint32_t> gen_{0};
  std::atomic<std::uint64_t> next_{0};
  std::atomic<int> done_{0}, sleepers_{0};
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

void set_num_threads(int n) {
  if (n < 1) fail("set_num_threads: the number of threads must be >= 1, got {}", n);
  g_num_threads.store(n, std::memory_order_relaxed);
}

int get_num_threads() {
  int n = g_num_threads.load(std::memory_order_relaxed);
  if (n == 0) {
    int expected = 0;
    n = default_num_threads();
    if (!g_num_threads.compare_exchange_strong(expected, n, std::memory_order_relaxed)) n = expected;
  }
  return n;
}

bool set_flush_denormal([[maybe_unused]] bool on) {
#ifdef AG_HAS_MXCSR
  const unsigned csr = _mm_getcsr();
  _mm_setcsr(on ? (csr | kFtz | kDaz) : (csr & ~(kFtz | kDaz)));
  return true;
#else
  return false;
#endif
}

bool get_flush_denormal() { return (read_fp_control() & kFtz) != 0; }

bool in_parallel_region() { return t_in_region; }

namespace detail {

void parallel_run(std::int64_t begin, std::int64_t end, std::int64_t grain, ChunkFn fn) {
  const int threads = get_num_threads();
  if (threads > 1 && !t_in_region) {
    Pool& p = pool();
    std::unique_lock lk(p.submit_, std::try_to_lock);
    if (lk.owns_lock()) {
      p.resize(static_cast<std::size_t>(threads - 1));
      const std::int64_t g = std::max<std::int64_t>(grain, 1);
      const std::int64_t most = (end - begin + g - 1) / g;
      p.run(begin, end, static_cast<int>(std::min<std::int64_t>(most, 4 * threads)), fn);
      return;
    }
  }
  fn.call(fn.ctx, begin, end);
}

}  // namespace detail

}  // namespace ag
