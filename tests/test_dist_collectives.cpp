// ag::distributed's collectives: values at any world size, and mismatched calls across ranks that
// must be an ag::Error on every rank rather than a hang.
#include <doctest/doctest.h>

#include "autograd/autograd.h"
#include "distributed/distributed.h"

using namespace ag;
namespace dist = ag::distributed;

TEST_CASE("rank and world size") {
  const int n = dist::get_world_size(), r = dist::get_rank();
  CHECK(n >= 1);
  CHECK(r >= 0);
  CHECK(r < n);
  CHECK(dist::is_initialized());
  dist::barrier();
  CHECK_THROWS_AS(dist::init_process_group("mpi"), Error);
  CHECK_THROWS_AS(dist::init_process_group("gloo"), Error);
}

TEST_CASE("all_reduce Sum, Avg, Max, Min in float64, float32 and int64") {
  const int n = dist::get_world_size(), r = dist::get_rank();
  const double rd = r;
  // rank r holds {r, -r, 2^-r}
  auto make = [&](Dtype d) { return tensor({rd, -rd, std::ldexp(1.0, -r)}, TensorOptions().dtype(d)); };
  double sum_pow = 0;
  for (int k = 0; k < n; ++k) sum_pow += std::ldexp(1.0, -k);
  const double s = n * (n - 1) / 2.0;
  for (Dtype d : {kFloat64, kFloat32}) {
    Tensor t = make(d);
    dist::all_reduce(t);
    CHECK(t.to_vector<double>() == std::vector<double>{s, -s, sum_pow});
    t = make(d);
    dist::all_reduce(t, dist::ReduceOp::Avg);
    auto v = t.to_vector<double>();
    CHECK(v[0] == doctest::Approx(s / n).epsilon(1e-6));
    CHECK(v[2] == doctest::Approx(sum_pow / n).epsilon(1e-6));
    t = make(d);
    dist::all_reduce(t, dist::ReduceOp::Max);
    CHECK(t.to_vector<double>() == std::vector<double>{n - 1.0, 0.0, 1.0});
    t = make(d);
    dist::all_reduce(t, dist::ReduceOp::Min);
    CHECK(t.to_vector<double>() == std::vector<double>{0.0, -(n - 1.0), std::ldexp(1.0, -(n - 1))});
  }
  Tensor i = tensor({std::int64_t{r} * 1000000000000LL, std::int64_t{1}}, kInt64);
  dist::all_reduce(i);
  CHECK(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{static_cast<std::int64_t>(s) * 1000000000000LL, n});
  CHECK_THROWS_AS(dist::all_reduce(i, dist::ReduceOp::Avg), Error);  // not floating: on every rank
}

TEST_CASE("broadcast and all_gather") {
  const int n = dist::get_world_size(), r = dist::get_rank();
  const int src = n - 1;
  Tensor t = full({2, 3}, static_cast<double>(r), TensorOptions().dtype(kFloat64));
  dist::broadcast(t, src);
  CHECK(t.to_vector<double>() == std::vector<double>(6, static_cast<double>(src)));
  std::vector<Tensor> all;
  dist::all_gather(all, tensor({static_cast<double>(r), 10.0 * r}, kFloat64));
  REQUIRE(static_cast<int>(all.size()) == n);
  for (int k = 0; k < n; ++k)
    CHECK(all[static_cast<std::size_t>(k)].to_vector<double>() == std::vector<double>{1.0 * k, 10.0 * k});
  std::vector<Tensor> ints;
  dist::all_gather(ints, tensor({std::int64_t{r}}, kInt64));
  CHECK(ints.back().item<std::int64_t>() == n - 1);
  Tensor bad = full({2}, 1.0, TensorOptions().dtype(kFloat64));
  CHECK_THROWS_AS(dist::broadcast(bad, n), Error);
}

TEST_CASE("mismatched tensors across ranks are an ag::Error on every rank, not a hang") {
  const int r = dist::get_rank();
  // rank 0 passes 3 elements, the others 4
  Tensor t = zeros({r == 0 ? 3 : 4}, TensorOptions().dtype(kFloat64));
  CHECK_THROWS_AS(dist::all_reduce(t), Error);
  // a different dtype on rank 0
  Tensor u = zeros({4}, TensorOptions().dtype(r == 0 ? kFloat32 : kFloat64));
  CHECK_THROWS_AS(dist::all_reduce(u), Error);
  CHECK_THROWS_AS(dist::broadcast(t, 0), Error);
  // all_gather: the same count, another shape
  std::vector<Tensor> out;
  Tensor s = zeros(r == 0 ? Shape{2, 3} : Shape{3, 2}, TensorOptions().dtype(kFloat64));
  CHECK_THROWS_AS(dist::all_gather(out, s), Error);
  // still usable afterwards
  Tensor ok = ones({2}, TensorOptions().dtype(kFloat64));
  dist::all_reduce(ok);
  CHECK(ok.to_vector<double>()[0] == dist::get_world_size());
  // the message says what differs
  Tensor v = zeros({r == 0 ? 3 : 4}, TensorOptions().dtype(kFloat64));
  try {
    dist::all_reduce(v);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("disagree") != std::string::npos);
  }
}
