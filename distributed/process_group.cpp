#include "distributed/process_group.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <thread>

#include "autograd/autograd.h"
#include "distributed/mpi_util.h"

namespace ag::distributed {

namespace {
MPI_Comm g_comm = MPI_COMM_NULL;
bool g_we_initialized_mpi = false;
std::chrono::milliseconds g_timeout = std::chrono::minutes(30);

// The tensor an in-place collective writes: defined, contiguous, of a supported dtype.
void check_inplace(const Tensor& t, const char* api) {
  if (!t.defined()) fail("{}: the tensor is undefined", api);
  detail::mpi_type(t.dtype(), api);
  if (!t.is_contiguous()) fail("{}: the tensor {} must be contiguous (call .contiguous() first)", api, describe(t));
}

std::int64_t shape_hash(const Shape& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (auto d : s) h = (h ^ static_cast<std::uint64_t>(d)) * 1099511628211ull;
  return static_cast<std::int64_t>(h >> 1);
}

void* raw(const Tensor& t) {
  void* p = nullptr;
  dispatch_all(t.dtype(), "distributed", [&]<class T>() { p = const_cast<T*>(t.data<T>()); });
  return p;
}
}  // namespace

namespace detail {
MPI_Comm comm(const char* api) {
  if (g_comm == MPI_COMM_NULL) fail("{}: the process group is not initialized (call init_process_group(\"mpi\"))", api);
  return g_comm;
}

MPI_Datatype mpi_type(Dtype d, const char* api) {
  switch (d) {
    case Dtype::Float32:
      return MPI_FLOAT;
    case Dtype::Float64:
      return MPI_DOUBLE;
    case Dtype::Int64:
      return MPI_INT64_T;
    default:
      fail("{}: dtype {} is not supported (float32, float64 and int64 are)", api, dtype_name(d));
  }
}

void check_mpi(int rc, const char* api) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  fail("{}: MPI error: {}", api, std::string(msg, static_cast<std::size_t>(len)));
}

void wait(MPI_Request& request, const char* api) {
  const auto start = std::chrono::steady_clock::now();
  for (int spins = 0;; ++spins) {
    int done = 0;
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), api);
    if (done) return;
    // spin briefly, then yield, then sleep: with more ranks than cores (--oversubscribe) a busy
    // rank would take the core from the one it waits for
    if (spins > 20000) std::this_thread::sleep_for(std::chrono::microseconds(20));
    else if (spins > 1000) std::this_thread::yield();
    if (std::chrono::steady_clock::now() - start > g_timeout) {
      int rank = -1;
      MPI_Comm_rank(g_comm, &rank);
      std::fprintf(stderr,
                   "%s: rank %d waited more than %lld ms for a collective the other ranks did not complete (a rank "
                   "failed, exited or took another path): aborting the job (init_process_group's timeout)\n",
                   api, rank, static_cast<long long>(g_timeout.count()));
      std::fflush(stderr);
      MPI_Abort(g_comm, 1);
    }
  }
}

void check_same_across_ranks(const char* api, const std::vector<std::int64_t>& values, const std::string& what) {
  const std::size_t n = values.size();
  std::vector<std::int64_t> buf(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    buf[i] = values[i];
    buf[n + i] = values[i] == INT64_MIN ? INT64_MAX : -values[i];
  }
  MPI_Request req;
  check_mpi(MPI_Iallreduce(MPI_IN_PLACE, buf.data(), static_cast<int>(2 * n), MPI_INT64_T, MPI_MAX, comm(api), &req),
            api);
  wait(req, api);
  for (std::size_t i = 0; i < n; ++i)
    if (buf[i] != -buf[n + i])
      fail(
          "{}: the ranks disagree on {} (this rank {} has {}; the ranks' values range from {} to {}): every rank must "
          "make the same call with tensors of the same dtype and size",
          api, what, get_rank(), values[i], -buf[n + i], buf[i]);
}
}  // namespace detail

void init_process_group(const std::string& backend, std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) fail("init_process_group: the timeout must be positive, got {} ms", timeout.count());
  if (backend != "mpi") fail("init_process_group: backend '{}' is not supported (only \"mpi\" is)", backend);
  if (g_comm != MPI_COMM_NULL) fail("init_process_group: the process group is already initialized");
  int initialized = 0;
  MPI_Initialized(&initialized);
  int provided = 0;
  if (!initialized) {
    detail::check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "init_process_group");
    g_we_initialized_mpi = true;
  } else {
    MPI_Query_thread(&provided);
  }
  if (provided < MPI_THREAD_SERIALIZED)
    fail(
        "init_process_group: the MPI library gives thread level {} but MPI_THREAD_SERIALIZED ({}) is needed (the "
        "collectives may be called from any thread, one at a time)",
        provided, static_cast<int>(MPI_THREAD_SERIALIZED));
  MPI_Comm c;
  detail::check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &c), "init_process_group");
  MPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN);
  g_comm = c;
  g_timeout = timeout;
}

bool is_initialized() { return g_comm != MPI_COMM_NULL; }

int get_rank() {
  int r = 0;
  MPI_Comm_rank(detail::comm("get_rank"), &r);
  return r;
}

int get_world_size() {
  int n = 0;
  MPI_Comm_size(detail::comm("get_world_size"), &n);
  return n;
}

void barrier() {
  MPI_Request req;
  detail::check_mpi(MPI_Ibarrier(detail::comm("barrier"), &req), "barrier");
  detail::wait(req, "barrier");
}

void all_reduce(Tensor& t, ReduceOp op) {
  const char* api = "all_reduce";
  MPI_Comm c = detail::comm(api);
  check_inplace(t, api);
  if (op == ReduceOp::Avg && !is_floating(t.dtype()))
    fail("all_reduce: ReduceOp::Avg needs a floating tensor, got {}", describe(t));
  detail::check_same_across_ranks(api, {t.numel(), static_cast<std::int64_t>(t.dtype()), static_cast<std::int64_t>(op)},
                                  "(element count, dtype, op)");
  const MPI_Op mop = op == ReduceOp::Max ? MPI_MAX : op == ReduceOp::Min ? MPI_MIN : MPI_SUM;
  MPI_Request req;
  detail::check_mpi(MPI_Iallreduce(MPI_IN_PLACE, raw(t), static_cast<int>(t.numel()), detail::mpi_type(t.dtype(), api),
                                   mop, c, &req),
                    api);
  detail::wait(req, api);
  if (op == ReduceOp::Avg) {
    const int n = get_world_size();
    dispatch_floating(t.dtype(), api, [&]<class T>() {
      T* d = t.data<T>();
      for (std::int64_t i = 0; i < t.numel(); ++i) d[i] /= static_cast<T>(n);
    });
  }
  t.bump_version();
}

void broadcast(Tensor& t, int src) {
  const char* api = "broadcast";
  MPI_Comm c = detail::comm(api);
  check_inplace(t, api);
  detail::check_same_across_ranks(api, {t.numel(), static_cast<std::int64_t>(t.dtype()), src},
                                  "(element count, dtype, src)");
  if (src < 0 || src >= get_world_size())
    fail("broadcast: src {} is not a rank (world size {})", src, get_world_size());
  MPI_Request req;
  detail::check_mpi(MPI_Ibcast(raw(t), static_cast<int>(t.numel()), detail::mpi_type(t.dtype(), api), src, c, &req),
                    api);
  detail::wait(req, api);
  t.bump_version();
}

void all_gather(std::vector<Tensor>& outputs, const Tensor& t) {
  const char* api = "all_gather";
  MPI_Comm c = detail::comm(api);
  if (!t.defined()) fail("all_gather: the tensor is undefined");
  const MPI_Datatype type = detail::mpi_type(t.dtype(), api);
  detail::check_same_across_ranks(api,
                                  {t.numel(), static_cast<std::int64_t>(t.dtype()), static_cast<std::int64_t>(t.dim()),
                                   shape_hash(t.shape())},
                                  "(element count, dtype, dimensions, shape hash)");
  const Tensor in = t.detach().contiguous();
  const int n = get_world_size();
  const std::size_t bytes = static_cast<std::size_t>(t.numel()) * itemsize(t.dtype());
  std::vector<std::byte> all(bytes * static_cast<std::size_t>(n));
  MPI_Request req;
  detail::check_mpi(MPI_Iallgather(raw(in), static_cast<int>(t.numel()), type, all.data(), static_cast<int>(t.numel()),
                                   type, c, &req),
                    api);
  detail::wait(req, api);
  outputs.assign(static_cast<std::size_t>(n), Tensor());
  for (std::size_t r = 0; r < static_cast<std::size_t>(n); ++r) {
    Tensor o = empty(t.shape(), TensorOptions().dtype(t.dtype()));
    if (bytes) std::memcpy(raw(o), all.data() + r * bytes, bytes);
    outputs[r] = std::move(o);
  }
}

void destroy_process_group() {
  if (g_comm == MPI_COMM_NULL) return;
  MPI_Comm_free(&g_comm);
  g_comm = MPI_COMM_NULL;
  if (g_we_initialized_mpi) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
    g_we_initialized_mpi = false;
  }
}

}  // namespace ag::distributed
