#pragma once
/// @file parallel.h
/// Intra-op parallelism: the thread count (libtorch's ag::set_num_threads / get_num_threads),
/// parallel_for over index ranges for the kernels, and flush-to-zero of subnormal floats.
///
/// The thread count is process-wide, as in libtorch: it sizes one persistent pool of worker threads
/// shared by all user threads. OpenBLAS is kept at one thread: large GEMMs split over the same pool
/// (kernels/blas.h, kParallelGemmWork). A parallel_for runs on
/// the pool only when the pool is free: a call made while another user thread (each with its own
/// tape) holds the pool, or from inside a parallel region, runs inline on the calling thread. So
/// several user threads never wait for one another and nested calls never deadlock.
///
/// Determinism: elementwise kernels give bitwise the same result for any thread count. The
/// reductions (sum over all, over a dim, sum_to) split their work in a fixed way that does not
/// depend on the thread count, and each output adds its terms in the same order as with one thread,
/// so they are bitwise identical for any thread count too.

#include <cstdint>

namespace ag {

/// Sets the number of threads used by the library's kernels and by OpenBLAS, for the whole process
/// (n = 1: everything runs on the calling thread). Default: OMP_NUM_THREADS when set to a positive
/// integer, else the number of cores this process may run on; OpenBLAS keeps its own default
/// (OPENBLAS_NUM_THREADS, then OMP_NUM_THREADS, then the cores) until this is called.
/// Throws ag::Error if n < 1.
void set_num_threads(int n);
/// The number of threads the kernels use (see set_num_threads).
int get_num_threads();

/// Sets (on) or clears the FTZ and DAZ bits of the calling thread's MXCSR: subnormal float results
/// are flushed to zero and subnormal inputs read as zero, which avoids the 10-100x slowdown of
/// subnormal arithmetic (e.g. vanishing gradients). Per thread, as torch.set_flush_denormal; the
/// library's pool threads take the caller's setting for each parallel_for, so results do not depend
/// on the thread count, and so do OpenBLAS's threads for each call (measured with Debian's
/// libopenblas0-pthread, built with CONSISTENT_FPCSR: a threaded sgemm of subnormals gives zeros).
/// Returns whether the CPU supports it (x86 with SSE); when it does not, nothing changes.
bool set_flush_denormal(bool on);
/// Whether FTZ is set in the calling thread.
bool get_flush_denormal();

/// True on a thread running a chunk of a parallel_for (a nested parallel_for runs inline).
bool in_parallel_region();

/// Elements below which the elementwise kernels (and optim::SGD's update) stay on one thread: with 2
/// cores, a parallel_for costs a few microseconds, what a cheap loop over ~32K floats takes.
inline constexpr std::int64_t kParallelGrain = 32768;

namespace detail {
/// A type-erased fn(begin, end), called once per chunk.
struct ChunkFn {
  void (*call)(const void* ctx, std::int64_t b, std::int64_t e);
  const void* ctx;
};
/// Runs fn over [begin, end) in chunks of at least `grain` elements on the pool (or inline).
void parallel_run(std::int64_t begin, std::int64_t end, std::int64_t grain, ChunkFn fn);
}  // namespace detail

/// Calls fn(b, e) on disjoint subranges covering [begin, end), in parallel when the range holds more
/// than `grain` elements and threads are available (the split depends on the thread count, so fn
/// must give the same result for any split). Ranges of at most `grain` elements cost one comparison
/// and run inline. An exception thrown by fn is rethrown on the calling thread once every chunk has
/// finished.
template <class F>
inline void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, const F& fn) {
  if (end - begin <= grain) {
    if (begin < end) fn(begin, end);
    return;
  }
  detail::parallel_run(begin, end, grain,
                       {[](const void* c, std::int64_t b, std::int64_t e) { (*static_cast<const F*>(c))(b, e); }, &fn});
}

}  // namespace ag
