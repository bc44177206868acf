// matmul / mm / matmul_transposed: every rank combination, transpose flags, broadcast batches; values
// against a naive triple loop, first and second derivatives, errors.
#include <string>

#include "test_util.h"

using namespace ag;

namespace {

// op(A) @ op(B) over the last two dims with broadcast batch dims, by a plain triple loop.
std::vector<double> naive(const Tensor& a, const Tensor& b, bool ta = false, bool tb = false) {
  const Shape& as = a.shape();
  const Shape& bs = b.shape();
  const std::size_t ra = as.size(), rb = bs.size();
  const auto m = ta ? as[ra - 1] : as[ra - 2], k = ta ? as[ra - 2] : as[ra - 1];
  const auto n = tb ? bs[rb - 2] : bs[rb - 1];
  const Shape ba(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
  const Shape batch = broadcast_shapes(ba, bb, "naive");
  const Shape sa = broadcast_strides(ba, batch), sb = broadcast_strides(bb, batch);
  const auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  const std::int64_t nb = shape_numel(batch);
  std::vector<double> out(static_cast<std::size_t>(nb * m * n), 0.0);
  for (std::int64_t q = 0; q < nb; ++q) {
    std::int64_t oa = 0, ob = 0, rem = q;
    for (std::size_t d = batch.size(); d-- > 0;) {
      oa += (rem % batch[d]) * sa[d];
      ob += (rem % batch[d]) * sb[d];
      rem /= batch[d];
    }
    const double* pa = av.data() + oa * m * k;
    const double* pb = bv.data() + ob * k * n;
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (std::int64_t p = 0; p < k; ++p)
          s += (ta ? pa[p * m + i] : pa[i * k + p]) * (tb ? pb[j * k + p] : pb[p * n + j]);
        out[static_cast<std::size_t>((q * m + i) * n + j)] = s;
      }
  }
  return out;
}

// Checks matmul(a, b) (shapes sa, sb) against the loop, then its first and second derivatives.
void check_matmul(const Shape& sa, const Shape& sb, const Shape& expected_shape) {
  INFO(shape_str(sa) << " @ " << shape_str(sb));
  const Tensor a = agt::input(sa, 0.3), b = agt::input(sb, 1.7);
  const Tensor y = matmul(a, b);
  CHECK(y.shape() == expected_shape);
  const Tensor a2 = sa.size() == 1 ? reshape(a, {1, -1}) : a;
  const Tensor b2 = sb.size() == 1 ? reshape(b, {-1, 1}) : b;
  agt::check_values(y, naive(a2.detach(), b2.detach()), 1e-12);
  auto fn = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
  agt::check_gradients(fn, {a, b});
  agt::check_second_gradients(fn, {a, b});

  // float32: values only
  const Tensor af = a.detach().to(kFloat32), bf = b.detach().to(kFloat32);
  const Tensor yf = matmul(af, bf);
  CHECK(yf.dtype() == kFloat32);
  CHECK(yf.shape() == expected_shape);
  agt::check_values(yf, naive(a2.detach(), b2.detach()), 1e-5);
}

}  // namespace

TEST_CASE("matmul forward values by hand") {
  Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64);
  Tensor b = tensor({7, 8, 9, 10, 11, 12}, {3, 2}, kFloat64);
  agt::check_values(matmul(a, b), {58, 64, 139, 154});
  agt::check_values(a.matmul(b), {58, 64, 139, 154});
  agt::check_values(mm(a, b), {58, 64, 139, 154});
  Tensor v = tensor({1, 0, -1}, {3}, kFloat64);
  CHECK(matmul(v, v).dim() == 0);
  CHECK(matmul(v, v).item<double>() == 2.0);
  agt::check_values(matmul(a, v), {-2, -2});
  agt::check_values(matmul(tensor({1, -1}, {2}, kFloat64), a), {-3, -3, -3});
  agt::check_values(matmul_transposed(a, a, false, true), {14, 32, 32, 77});                      // a a^T
  agt::check_values(matmul_transposed(a, a, true, false), {17, 22, 27, 22, 29, 36, 27, 36, 45});  // a^T a
  agt::check_values(matmul_transposed(b, a, true, true), {58, 139, 64, 154});                     // b^T a^T = (a b)^T
}

TEST_CASE("matmul over every rank combination: values, gradcheck, gradgradcheck, float32") {
  check_matmul({3}, {3}, {});
  check_matmul({3}, {3, 4}, {4});
  check_matmul({3, 4}, {4}, {3});
  check_matmul({2, 3}, {3, 4}, {2, 4});
  check_matmul({1, 1}, {1, 1}, {1, 1});
  check_matmul({2, 3, 4}, {4, 5}, {2, 3, 5});
  check_matmul({2, 3, 4}, {2, 4, 5}, {2, 3, 5});
  check_matmul({2, 1, 3, 4}, {5, 4, 2}, {2, 5, 3, 2});
  check_matmul({1, 3, 4}, {2, 4, 5}, {2, 3, 5});
  check_matmul({3, 4}, {2, 4, 5}, {2, 3, 5});
  check_matmul({4}, {2, 4, 5}, {2, 5});
  check_matmul({2, 3, 4}, {4}, {2, 3});
  check_matmul({2, 2, 3, 4}, {4, 2}, {2, 2, 3, 2});
}

TEST_CASE("mm is 2-D only") {
  const Tensor a = agt::input({2, 3}), b = agt::input({3, 4}, 2.0);
  agt::check_values(mm(a, b), naive(a.detach(), b.detach()), 1e-12);
  auto fn = [](const std::vector<Tensor>& in) { return mm(in[0], in[1]); };
  agt::check_gradients(fn, {a, b});
  agt::check_second_gradients(fn, {a, b});
  CHECK_THROWS_AS(mm(agt::input({3}), b), Error);
  CHECK_THROWS_AS(mm(agt::input({2, 2, 3}), b), Error);
  CHECK_THROWS_AS(mm(a, agt::input({3})), Error);
}

TEST_CASE("matmul_transposed with every combination of transpose flags") {
  struct Case {
    Shape a, b;
  };
  const std::int64_t m = 2, k = 3, n = 4;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const Shape a2 = ta ? Shape{k, m} : Shape{m, k};
      const Shape b2 = tb ? Shape{n, k} : Shape{k, n};
      auto batched = [](Shape s, std::int64_t bsz) {
        s.insert(s.begin(), bsz);
        return s;
      };
      for (const Case& c : {Case{a2, b2}, Case{batched(a2, 2), b2}, Case{a2, batched(b2, 2)},
                            Case{batched(a2, 2), batched(b2, 2)}, Case{batched(batched(a2, 1), 2), batched(b2, 3)}}) {
        INFO("ta " << ta << " tb " << tb << ": " << shape_str(c.a) << " @ " << shape_str(c.b));
        const Tensor a = agt::input(c.a, 0.9), b = agt::input(c.b, 2.4);
        const Tensor y = matmul_transposed(a, b, ta, tb);
        CHECK(y.shape().back() == n);
        CHECK(y.shape()[y.shape().size() - 2] == m);
        agt::check_values(y, naive(a.detach(), b.detach(), ta, tb), 1e-12);
        auto fn = [ta, tb](const std::vector<Tensor>& in) { return matmul_transposed(in[0], in[1], ta, tb); };
        agt::check_gradients(fn, {a, b});
        agt::check_second_gradients(fn, {a, b});
        const Tensor yf = matmul_transposed(a.detach().to(kFloat32), b.detach().to(kFloat32), ta, tb);
        agt::check_values(yf, naive(a.detach(), b.detach(), ta, tb), 1e-5);
      }
    }
  CHECK_THROWS_AS(matmul_transposed(agt::input({3}), agt::input({3, 2}), false, false), Error);
  CHECK_THROWS_AS(matmul_transposed(agt::input({2, 3}), agt::input({2, 3}), false, false), Error);
  CHECK_NOTHROW(matmul_transposed(agt::input({2, 3}), agt::input({2, 3}), false, true));
}

TEST_CASE("matmul errors: inner dims, 0-d, dtype mix, batch dims, int64") {
  const Tensor a = ones({2, 3}, kFloat64), b = ones({4, 5}, kFloat64);
  CHECK_THROWS_AS(matmul(a, b), Error);
  std::string m = agt::error_message([&] { matmul(a, b); });
  CHECK(m.find("matmul") != std::string::npos);
  CHECK(m.find("[2, 3]") != std::string::npos);
  CHECK(m.find("[4, 5]") != std::string::npos);
  m = agt::error_message([&] { matmul(a, ones({4}, kFloat64)); });
  CHECK(m.find("[2, 3]") != std::string::npos);
  CHECK(m.find("[4]") != std::string::npos);
  m = agt::error_message([&] { matmul(ones({4}, kFloat64), a); });
  CHECK(m.find("[4]") != std::string::npos);
  CHECK(m.find("[2, 3]") != std::string::npos);
  CHECK_THROWS_AS(matmul(ones({3}, kFloat64), ones({4}, kFloat64)), Error);
  CHECK_THROWS_AS(mm(a, b), Error);
  CHECK_THROWS_AS(matmul_transposed(a, b, true, false), Error);

  CHECK_THROWS_AS(matmul(scalar_tensor(2.0, kFloat64), a), Error);
  CHECK_THROWS_AS(matmul(a, scalar_tensor(2.0, kFloat64)), Error);

  CHECK_THROWS_AS(matmul(ones({2, 3}, kFloat32), ones({3, 2}, kFloat64)), Error);
  m = agt::error_message([&] { matmul(ones({2, 3}, kFloat32), ones({3, 2}, kFloat64)); });
  CHECK(m.find("float32") != std::string::npos);
  CHECK(m.find("float64") != std::string::npos);

  m = agt::error_message([&] { matmul(ones({2, 3, 4}, kFloat64), ones({3, 4, 5}, kFloat64)); });
  CHECK(m.find("[2, 3, 4]") != std::string::npos);
  CHECK(m.find("[3, 4, 5]") != std::string::npos);
  CHECK_THROWS_AS(matmul(ones({2, 3}, kInt64), ones({3, 2}, kInt64)), Error);
  CHECK_THROWS_AS(matmul(Tensor(), a), Error);
}

TEST_CASE("matmul with empty dims") {
  CHECK(matmul(zeros({0, 3}, kFloat64), zeros({3, 2}, kFloat64)).shape() == Shape{0, 2});
  agt::check_values(matmul(zeros({2, 0}, kFloat64), zeros({0, 3}, kFloat64)), {0, 0, 0, 0, 0, 0});
  CHECK(matmul(zeros({0, 2, 3}, kFloat64), zeros({3, 4}, kFloat64)).shape() == Shape{0, 2, 4});
}
