#include "distributed/distributed_data_parallel.h"

#include <algorithm>

#include "distributed/mpi_util.h"
#include "distributed/process_group.h"

namespace ag::nn::parallel::detail {

namespace {
using distributed::detail::check_mpi;

std::uint64_t fnv1a(std::uint64_t h, const std::string& s) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string signature(const std::string& kind, const std::string& name, const Tensor& t) {
  return fmt::format("{} {} {} {} {};", kind, name, dtype_name(t.dtype()), shape_str(t.shape()), t.requires_grad());
}

std::int64_t element_size(Dtype d) { return d == Dtype::Float32 ? 4 : 8; }
}  // namespace

struct Reducer::Impl {
  struct Bucket {
    Dtype dtype = Dtype::Float64;
    std::vector<std::size_t> params;    // indices into params_
    std::vector<std::int64_t> offsets;  // element offset of each
    Tensor buffer;                      // 1-d, the concatenated gradients
    std::size_t pending = 0;            // gradients not ready yet in this step
    MPI_Request request = MPI_REQUEST_NULL;
  };

  std::vector<std::string> names_;
  std::vector<Tensor> params_;          // those requiring grad, registration order
  std::vector<std::size_t> bucket_of_;  // per param
  std::vector<std::size_t> slot_in_bucket_;
  std::vector<Bucket> buckets_;
  std::vector<unsigned> hooks_;
  std::vector<char> ready_;
  std::size_t next_bucket_ = 0;  // the next bucket to launch (launched in order on every rank)
  bool in_step_ = false;
  bool find_unused_ = false;
  bool as_view_ = false;
  Reducer* owner_ = nullptr;
  MPI_Comm comm_ = MPI_COMM_NULL;
  int world_ = 1;

  void start_step() {
    in_step_ = true;
    next_bucket_ = 0;
    std::fill(ready_.begin(), ready_.end(), 0);
    for (Bucket& b : buckets_) b.pending = b.params.size();
    autograd::queue_callback([this] { finalize(); });
  }

  // Copies the parameter's gradient (its accumulated .grad() plus this pass's `g`) into its bucket.
  void on_ready(std::size_t i, const Tensor& g) {
    if (!owner_->sync()) return;
    if (!in_step_) start_step();
    if (ready_[i]) return;
    ready_[i] = 1;
    Bucket& b = buckets_[bucket_of_[i]];
    const std::int64_t off = b.offsets[slot_in_bucket_[i]];
    const Tensor cur = params_[i].grad();
    const Tensor gd = g.defined() ? g.detach().contiguous() : Tensor();
    const Tensor cd = cur.defined() ? cur.detach().contiguous() : Tensor();
    const std::int64_t n = params_[i].numel();
    dispatch_floating(b.dtype, "DistributedDataParallel", [&]<class T>() {
      T* dst = b.buffer.data<T>() + off;
      const T* a = gd.defined() ? gd.template cdata<T>() : nullptr;
      const T* c = cd.defined() ? cd.template cdata<T>() : nullptr;
      for (std::int64_t k = 0; k < n; ++k) dst[k] = (a ? a[k] : T(0)) + (c ? c[k] : T(0));
    });
    --b.pending;
    launch_ready_buckets();
  }

  void launch_ready_buckets() {
    while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].pending == 0) {
      Bucket& b = buckets_[next_bucket_++];
      void* data = nullptr;
      dispatch_floating(b.dtype, "DistributedDataParallel", [&]<class T>() { data = b.buffer.data<T>(); });
      check_mpi(MPI_Iallreduce(MPI_IN_PLACE, data, static_cast<int>(b.buffer.numel()),
                               distributed::detail::mpi_type(b.dtype, "DistributedDataParallel"), MPI_SUM, comm_,
                               &b.request),
                "DistributedDataParallel");
    }
    // drive the progress of the reductions in flight (Open MPI progresses inside MPI calls)
    for (std::size_t k = 0; k < next_bucket_; ++k)
      if (buckets_[k].request != MPI_REQUEST_NULL) {
        int done = 0;
        MPI_Test(&buckets_[k].request, &done, MPI_STATUS_IGNORE);
      }
  }

  void wait_all() {
    for (Bucket& b : buckets_)
      if (b.request != MPI_REQUEST_NULL) distributed::detail::wait(b.request, "DistributedDataParallel");
  }

  // The end of backward (a queue_callback): the parameters backward did not reach, the remaining
  // buckets, the wait, and the averages written to .grad().
  void finalize() {
    std::vector<std::int32_t> used(params_.size());
    std::vector<std::string> unused;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      used[i] = ready_[i];
      if (!ready_[i]) {
        unused.push_back(names_[i]);
        on_ready(i, Tensor());  // its accumulated .grad(), or zeros: the collectives stay matched
      }
    }
    wait_all();
    if (find_unused_ && !params_.empty()) {
      MPI_Request req;
      check_mpi(MPI_Iallreduce(MPI_IN_PLACE, used.data(), static_cast<int>(used.size()), MPI_INT32_T, MPI_MAX, comm_,
                               &req),
                "DistributedDataParallel");
      distributed::detail::wait(req, "DistributedDataParallel");
    }
    for (Bucket& b : buckets_)
      dispatch_floating(b.dtype, "DistributedDataParallel", [&]<class T>() {
        T* d = b.buffer.data<T>();
        for (std::int64_t k = 0; k < b.buffer.numel(); ++k) d[k] /= static_cast<T>(world_);
      });
    for (std::size_t i = 0; i < params_.size(); ++i) {
      if (find_unused_ && !used[i]) continue;  // no rank used it: .grad() stays as it is
      Bucket& b = buckets_[bucket_of_[i]];
      const std::int64_t off = b.offsets[slot_in_bucket_[i]];
      const Tensor& p = params_[i];
      if (as_view_) {
        p.set_grad(b.buffer.narrow(0, off, p.numel()).view(p.shape()));
        continue;
      }
      Tensor g = empty(p.shape(), TensorOptions().dtype(b.dtype));
      dispatch_floating(b.dtype, "DistributedDataParallel",
                        [&]<class T>() { std::copy_n(b.buffer.data<T>() + off, p.numel(), g.data<T>()); });
      p.set_grad(g);
    }
    for (Bucket& b : buckets_) b.buffer.bump_version();
    in_step_ = false;
    if (!find_unused_ && !unused.empty())
      fail(
          "DistributedDataParallel: {} parameter(s) received no gradient in this backward on rank {} (the first: "
          "'{}'): construct it with DistributedDataParallelOptions().find_unused_parameters(true) when some "
          "parameters take no part in the loss (their gradients were reduced as zeros, so no rank hangs)",
          unused.size(), distributed::get_rank(), unused.front());
  }
};

Reducer::Reducer(const OrderedDict<Tensor>& parameters, const OrderedDict<Tensor>& buffers,
                 const DistributedDataParallelOptions& options)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.owner_ = this;
  m.comm_ = distributed::detail::comm("DistributedDataParallel");
  m.world_ = distributed::get_world_size();
  m.find_unused_ = options.find_unused_parameters();
  m.as_view_ = options.gradient_as_bucket_view();
  if (options.bucket_cap_mb() <= 0 || options.first_bucket_mb() <= 0)
    fail("DistributedDataParallel: bucket_cap_mb ({}) and first_bucket_mb ({}) must be positive",
         options.bucket_cap_mb(), options.first_bucket_mb());

  // every rank the same model: one all-reduce of (count, hash) maxima and minima
  std::uint64_t h = 1469598103934665603ull;
  for (const auto& item : parameters) h = fnv1a(h, signature("parameter", item.key(), item.value()));
  for (const auto& item : buffers) h = fnv1a(h, signature("buffer", item.key(), item.value()));
  distributed::detail::check_same_across_ranks(
      "DistributedDataParallel",
      {static_cast<std::int64_t>(parameters.size()), static_cast<std::int64_t>(buffers.size()),
       static_cast<std::int64_t>(h >> 1)},
      "the model (parameter count, buffer count, hash of the parameters' and buffers' names, shapes and dtypes); "
      "every rank must construct the same model");

  // rank 0's parameters and buffers to every rank
  {
    NoGradGuard no_grad;
    for (const auto& item : parameters) {
      Tensor t = item.value().detach();
      distributed::broadcast(t, 0);
    }
    for (const auto& item : buffers) {
      Tensor t = item.value().detach();
      distributed::broadcast(t, 0);
    }
  }

  for (const auto& item : parameters)
    if (item.value().requires_grad()) {
      if (!is_floating(item.value().dtype()))
        fail("DistributedDataParallel: parameter '{}' is {}, a floating dtype is needed", item.key(),
             dtype_name(item.value().dtype()));
      m.names_.push_back(item.key());
      m.params_.push_back(item.value());
    }
  const std::size_t n = m.params_.size();
  m.bucket_of_.resize(n);
  m.slot_in_bucket_.resize(n);
  m.ready_.assign(n, 0);
  // buckets in reverse registration order, the first one capped at first_bucket_mb
  std::vector<std::int64_t> bytes;
  for (std::size_t r = n; r-- > 0;) {
    const Tensor& p = m.params_[r];
    const std::int64_t pb = p.numel() * element_size(p.dtype());
    bool fresh = m.buckets_.empty() || m.buckets_.back().dtype != p.dtype();
    if (!fresh) {
      const double cur_cap = (m.buckets_.size() == 1 ? options.first_bucket_mb() : options.bucket_cap_mb()) * 1048576.0;
      fresh = static_cast<double>(bytes.back() + pb) > cur_cap;
    }
    if (fresh) {
      m.buckets_.emplace_back();
      m.buckets_.back().dtype = p.dtype();
      bytes.push_back(0);
    }
    Impl::Bucket& b = m.buckets_.back();
    m.bucket_of_[r] = m.buckets_.size() - 1;
    m.slot_in_bucket_[r] = b.params.size();
    b.params.push_back(r);
    b.offsets.push_back(bytes.back() / element_size(p.dtype()));
    bytes.back() += pb;
  }
  for (std::size_t k = 0; k < m.buckets_.size(); ++k) {
    Impl::Bucket& b = m.buckets_[k];
    b.buffer = zeros({bytes[k] / element_size(b.dtype)}, TensorOptions().dtype(b.dtype));
  }
  for (std::size_t i = 0; i < n; ++i)
    m.hooks_.push_back(
        autograd::register_grad_ready_hook(m.params_[i], [&m, i](const Tensor& g) { m.on_ready(i, g); }));
}

Reducer::~Reducer() {
  Impl& m = *impl_;
  try {
    m.wait_all();
  } catch (...) {
  }
  for (std::size_t i = 0; i < m.hooks_.size(); ++i) {
    try {
      autograd::remove_grad_ready_hook(m.params_[i], m.hooks_[i]);
    } catch (...) {
    }
  }
}

void Reducer::prepare_for_forward() {
  Impl& m = *impl_;
  if (!m.in_step_) return;
  // the previous backward threw after some reductions started: finish them, drop the step
  m.wait_all();
  m.in_step_ = false;
}

std::vector<std::vector<std::size_t>> Reducer::bucket_indices() const {
  std::vector<std::vector<std::size_t>> out;
  for (const auto& b : impl_->buckets_) out.push_back(b.params);
  return out;
}

}  // namespace ag::nn::parallel::detail
