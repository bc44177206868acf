// ag::Profiler: counts, backward times and saved bytes per op type, Chrome trace, scoping.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "test_util.h"

using namespace ag;

namespace {

const OpProfile* find_op(const std::vector<OpProfile>& st, const std::string& name) {
  for (const auto& p : st)
    if (p.name == name) return &p;
  return nullptr;
}

std::int64_t count_of(const Profiler& prof, const std::string& name) {
  const auto st = prof.stats();
  const OpProfile* p = find_op(st, name);
  return p ? p->count : 0;
}

// One step of a 2-layer MLP in plain ops: 7 recorded nodes, each with a backward step.
struct Mlp {
  Tensor x = agt::input({4, 3}, 0.1, 1.0, 0.0, false);
  Tensor w1 = agt::input({3, 5}, 0.2), b1 = agt::input({5}, 0.3);
  Tensor w2 = agt::input({5, 2}, 0.4), b2 = agt::input({2}, 0.5);
  Tensor forward() const {
    Tensor h = tanh(matmul(x, w1) + b1);
    Tensor out = matmul(h, w2) + b2;
    return sum(out * out);
  }
};

}  // namespace

TEST_CASE("profiler counts the recorded ops of an MLP step and times every backward step") {
  Mlp m;
  Profiler prof;
  CHECK(prof.active());
  m.forward().backward();
  prof.stop();
  CHECK_FALSE(prof.active());

  const auto st = prof.stats();
  const std::map<std::string, std::int64_t> expected{{"matmul", 2}, {"add", 2}, {"tanh", 1}, {"mul", 1}, {"sum", 1}};
  CHECK(st.size() == expected.size());
  for (const auto& [name, n] : expected) {
    const OpProfile* p = find_op(st, name);
    REQUIRE_MESSAGE(p != nullptr, name);
    CHECK_MESSAGE(p->count == n, name);
    CHECK_MESSAGE(p->backward_count == n, name);
    CHECK(p->forward_us >= 0.0);
    CHECK(p->backward_us > 0.0);
    CHECK(p->backward_mean_us() > 0.0);
  }
  for (std::size_t i = 1; i < st.size(); ++i) CHECK(st[i - 1].total_us() >= st[i].total_us());

  // bytes saved: matmul saves both operands, mul its two operands (both `out`), tanh its output
  CHECK(find_op(st, "matmul")->bytes_saved == (4 * 3 + 3 * 5) * 8 + (4 * 5 + 5 * 2) * 8);
  CHECK(find_op(st, "mul")->bytes_saved == 2 * 4 * 2 * 8);
  CHECK(find_op(st, "tanh")->bytes_saved == 4 * 5 * 8);
  CHECK(find_op(st, "add")->bytes_saved == 0);
  CHECK(find_op(st, "sum")->bytes_saved == 0);

  const auto ev = prof.events();
  CHECK(ev.size() == 14);
  std::int64_t fwd = 0;
  for (const auto& e : ev) {
    fwd += e.backward ? 0 : 1;
    CHECK(e.duration_us >= 0.0);
  }
  CHECK(fwd == 7);
  CHECK(ev.back().backward);
  CHECK(ev.back().name == "matmul");  // the first node is the last backward step

  const std::string t = prof.table();
  for (const char* col : {"op", "count", "fwd total", "fwd mean", "bwd total", "bwd mean", "bwd/fwd", "saved", "total"})
    CHECK_MESSAGE(t.find(col) != std::string::npos, col);
  CHECK(t.find("matmul") != std::string::npos);
  CHECK(t.find("tanh") != std::string::npos);
}

TEST_CASE("profiler: bytes saved of mul of two float64 [3,4] tensors, and of tanh's kept output") {
  Tensor a = agt::input({3, 4}, 0.1), b = agt::input({3, 4}, 0.2);
  Tensor c = agt::input({3, 4}, 0.3, 1.0, 0.0, false);
  Profiler prof;
  Tensor y = a * b;
  Tensor z = tanh(a);
  Tensor w = c * 2.0 + a;  // mul_scalar records nothing (c needs no grad); add saves nothing
  prof.stop();
  const auto st = prof.stats();
  CHECK(find_op(st, "mul")->bytes_saved == 2 * 96);
  CHECK(find_op(st, "tanh")->bytes_saved == 96);
  CHECK(find_op(st, "add")->bytes_saved == 0);
  CHECK(find_op(st, "mul_scalar") == nullptr);
  CHECK(st.size() == 3);
  for (const auto& p : st) CHECK(p.backward_count == 0);
}

TEST_CASE("profiler records nothing before it starts, after stop, or when ops record nothing") {
  Tensor a = agt::input({3}, 0.1);
  Tensor before = a * a;
  Profiler prof;
  {
    NoGradGuard ng;
    Tensor u = a * a;
  }
  Tensor k = agt::input({3}, 0.2, 1.0, 0.0, false) * 3.0;
  CHECK(prof.events().empty());
  Tensor one = exp(a);
  CHECK(prof.events().size() == 1);
  prof.stop();
  prof.stop();  // idempotent
  Tensor after = exp(a) * a;
  sum(after).backward();
  sum(before).backward();
  const auto st = prof.stats();
  REQUIRE(st.size() == 1);
  CHECK(st[0].name == "exp");
  CHECK(st[0].count == 1);
  CHECK(st[0].backward_count == 0);
  CHECK(prof.events().size() == 1);
}

TEST_CASE("profiler: nested profilers both see the inner scope; the outer one sees everything") {
  Tensor a = agt::input({2}, 0.1);
  Profiler outer;
  Tensor y = exp(a);
  {
    Profiler inner;
    Tensor z = tanh(y);
    sum(z).backward();
    inner.stop();
    CHECK(count_of(inner, "tanh") == 1);
    CHECK(count_of(inner, "sum") == 1);
    CHECK(count_of(inner, "exp") == 0);
    const auto st = inner.stats();
    CHECK(find_op(st, "exp")->backward_count == 1);  // recorded before, differentiated inside
  }
  Tensor w = sqrt(exp(a));
  outer.stop();
  CHECK(count_of(outer, "exp") == 2);
  CHECK(count_of(outer, "tanh") == 1);
  CHECK(count_of(outer, "sqrt") == 1);
}

TEST_CASE("profiler of one thread does not see another thread's ops") {
  Tensor a = agt::input({3}, 0.1);
  Profiler prof;
  std::int64_t other_tanh = -1, other_exp = -1;
  std::thread t([&] {
    Tensor b = agt::input({3}, 0.2);
    Tensor y = exp(b);  // before this thread's profiler: seen by nobody
    Profiler mine;
    sum(tanh(y)).backward();
    mine.stop();
    other_tanh = count_of(mine, "tanh");
    other_exp = count_of(mine, "exp");
  });
  t.join();
  Tensor z = a * a;
  prof.stop();
  CHECK(other_tanh == 1);
  CHECK(other_exp == 0);
  const auto st = prof.stats();
  REQUIRE(st.size() == 1);
  CHECK(st[0].name == "mul");
}

TEST_CASE("profiler: stop from another thread throws; destroying it there is safe") {
  auto prof = std::make_unique<Profiler>();
  bool threw = false;
  std::thread([&] {
    try {
      prof->stop();
    } catch (const Error&) {
      threw = true;
    }
  }).join();
  CHECK(threw);
  CHECK(prof->active());
  std::thread([&] { prof.reset(); }).join();
  Tensor a = agt::input({2}, 0.1);
  Tensor y = exp(a);  // the owner thread drops the orphaned profiler here
  CHECK_FALSE(detail::t_profiling);
}

TEST_CASE("profiler writes a valid Chrome trace with one event per interval") {
  Mlp m;
  Profiler prof;
  m.forward().backward();
  prof.stop();
  const auto path = (std::filesystem::temp_directory_path() / "ag_test_profiler_trace.json").string();
  prof.write_chrome_trace(path);
  std::ifstream f(path);
  const auto j = nlohmann::json::parse(f);
  f.close();
  std::remove(path.c_str());
  REQUIRE(j.contains("traceEvents"));
  const auto& evs = j["traceEvents"];
  REQUIRE(evs.is_array());
  CHECK(evs.size() == 14);
  std::map<std::string, int> per_cat;
  std::map<std::string, int> fwd_names;
  for (const auto& e : evs) {
    CHECK(e["ph"] == "X");
    CHECK(e["ts"].is_number());
    CHECK(e["dur"].is_number());
    CHECK(e["dur"].get<double>() >= 0.0);
    CHECK(e["pid"].is_number_integer());
    CHECK(e["tid"].is_number_integer());
    ++per_cat[e["cat"].get<std::string>()];
    if (e["cat"] == "forward") ++fwd_names[e["name"].get<std::string>()];
  }
  CHECK(per_cat["forward"] == 7);
  CHECK(per_cat["backward"] == 7);
  CHECK(fwd_names["matmul"] == 2);
  CHECK(fwd_names["add"] == 2);
  CHECK(j == nlohmann::json::parse(prof.chrome_trace()));
  CHECK_THROWS_AS(prof.write_chrome_trace("/nonexistent-dir/trace.json"), Error);
}

TEST_CASE("profiler: ops recorded by a create_graph backward show up as forward ops") {
  Tensor x = agt::input({3}, 0.1);
  Profiler prof;
  Tensor y = sum(x * x * x);
  CHECK(count_of(prof, "mul") == 2);
  const Tensor g = grad({y}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
  // the VJPs of the two muls record muls (and sum's VJP an expand): more forward muls now
  const std::int64_t muls = count_of(prof, "mul");
  CHECK(muls > 2);
  CHECK(find_op(prof.stats(), "mul")->backward_count == 2);
  sum(g).backward();  // differentiates the recorded VJP ops: their backward shows up too
  prof.stop();
  const auto st = prof.stats();
  CHECK(find_op(st, "mul")->count == muls + 0);
  CHECK(find_op(st, "mul")->backward_count > 2);
  agt::check_values(x.grad(), {6 * x.detach().data<double>()[0], 6 * x.detach().data<double>()[1],
                               6 * x.detach().data<double>()[2]});
}

TEST_CASE("profiler stays consistent across a backward that throws") {
  Tensor w = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor x = tensor({3.0, 4.0}, {2}, kFloat64);
  Profiler prof;
  Tensor y = sum(w * x);  // saves w and x
  x.mul_(2.0);
  CHECK_THROWS_AS(y.backward(), Error);
  CHECK(prof.active());
  auto st = prof.stats();
  CHECK(find_op(st, "sum")->backward_count == 1);  // completed before mul's VJP threw
  CHECK(find_op(st, "mul")->backward_count == 0);
  Tensor z = sum(w * w);
  z.backward();
  prof.stop();
  st = prof.stats();
  CHECK(find_op(st, "mul")->count == 2);
  CHECK(find_op(st, "mul")->backward_count == 1);
  CHECK(find_op(st, "mul")->bytes_saved == 4 * 16);
  agt::check_values(w.grad(), {2.0, 4.0});
}

namespace {
struct SquareSavingOutput : Function<SquareSavingOutput> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    Tensor y = x * x;
    ctx->save_for_backward({x, y});  // y is rebound to the recorded result after forward
    return y;
  }
  static std::vector<Tensor> backward(AutogradContext* ctx, const std::vector<Tensor>& g) {
    const auto s = ctx->get_saved_variables();
    return {g[0] * 2.0 * s[0]};
  }
};
}  // namespace

TEST_CASE("profiler: a custom function's saved output is charged to it once; checkpoint is an op") {
  Tensor x = tensor({1.0, 2.0, 3.0}, {3}, kFloat64).requires_grad_();
  Profiler prof;
  Tensor loss = sum(SquareSavingOutput::apply(x));
  Tensor c = checkpoint([](const Tensor& v) { return tanh(v) * v; }, x);
  sum(c).backward();
  loss.backward();
  prof.stop();
  const auto st = prof.stats();
  const OpProfile* f = find_op(st, SquareSavingOutput::node_name());
  REQUIRE(f != nullptr);
  CHECK(f->bytes_saved == 2 * 3 * 8);  // x and y, each counted once
  CHECK(find_op(st, "sum")->bytes_saved == 0);
  const OpProfile* cp = find_op(st, "checkpoint");
  REQUIRE(cp != nullptr);
  CHECK(cp->count == 1);
  CHECK(cp->backward_count == 1);
  CHECK(cp->bytes_saved == 3 * 8);         // its input
  CHECK(find_op(st, "tanh")->count == 1);  // recorded once, when backward re-runs the function
  agt::check_values(x.grad(), {2.0 + std::tanh(1.0) + 1.0 * (1 - std::pow(std::tanh(1.0), 2)),
                               4.0 + std::tanh(2.0) + 2.0 * (1 - std::pow(std::tanh(2.0), 2)),
                               6.0 + std::tanh(3.0) + 3.0 * (1 - std::pow(std::tanh(3.0), 2))});
}
