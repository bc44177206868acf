// Embedding and EmbeddingBag (nn/embedding.h, nn/embedding_bag.h): lookups by hand, any index shape,
// int32 indices, padding rows, from_pretrained, float64 gradchecks (first and second order: they are
// composed of ops), float32, and misuse. PyTorch parity is in test_nn_norm_parity.cpp.
#include "nn/nn.h"
#include "test_util.h"

using namespace ag;
namespace F = ag::nn::functional;

namespace {

Tensor f64(std::initializer_list<double> v, const Shape& s) { return tensor(v, s, kFloat64); }
Tensor idx(const std::vector<std::int64_t>& v, const Shape& s) { return tensor(v, s, kInt64); }

std::string error_recording_nothing(const std::function<void()>& f) {
  const auto before = Tape::current().num_nodes();
  const std::string msg = agt::error_message(f);
  CHECK(Tape::current().num_nodes() == before);
  return msg;
}

}  // namespace

TEST_CASE("embedding: rows at the indices, output shape = index shape + [dim], int64 and int32") {
  const Tensor w = f64({0, 1, 10, 11, 20, 21}, {3, 2});
  const Tensor out = F::embedding(idx({2, 0, 1, 2}, {2, 2}), w);
  CHECK(out.shape() == Shape{2, 2, 2});
  agt::check_values(out, {20, 21, 0, 1, 10, 11, 20, 21});
  CHECK(F::embedding(full({}, 1.0, kInt64), w).shape() == Shape{2});
  CHECK(F::embedding(idx({1, 1, 0}, {1, 3, 1}), w).shape() == Shape{1, 3, 1, 2});
  CHECK(F::embedding(idx({}, {0}), w).shape() == Shape{0, 2});
  const Tensor i32 = idx({2, 0, 1, 2}, {2, 2}).to(kInt32);
  agt::check_values(F::embedding(i32, w), out.to_vector<double>(), 1e-15);

  nn::Embedding emb(nn::EmbeddingOptions(10, 4).dtype(kFloat64));
  CHECK(emb->weight.shape() == Shape{10, 4});
  CHECK(emb->weight.requires_grad());
  CHECK(emb->named_parameters().keys() == std::vector<std::string>{"weight"});
  const Tensor tokens = idx({3, 1, 4, 1, 5, 9}, {2, 3});
  const Tensor y = emb(tokens);
  CHECK(y.shape() == Shape{2, 3, 4});
  agt::check_values(y.select(1, 1).select(0, 0), emb->weight.select(0, 1).to_vector<double>(), 1e-15);
  nn::Embedding e32(7, 3);
  CHECK(e32->weight.dtype() == kFloat32);
  CHECK(e32(idx({3, 1, 4, 1, 5, 6}, {2, 3})).dtype() == kFloat32);
}

TEST_CASE("embedding: the gradient adds up over repeats; the padding row gets none") {
  const Tensor w = agt::input({5, 3});
  const Tensor tokens = idx({1, 4, 1, 0, 4, 1}, {2, 3});
  const Tensor g = grad({sum(F::embedding(tokens, w))}, {w})[0];
  agt::check_values(g, {1, 1, 1, 3, 3, 3, 0, 0, 0, 0, 0, 0, 2, 2, 2});
  const Tensor gp = grad({sum(F::embedding(tokens, w, F::EmbeddingFuncOptions().padding_idx(4)))}, {w})[0];
  agt::check_values(gp, {1, 1, 1, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  // A negative padding_idx counts from the end; the value of the padding row is still read.
  const Tensor out = F::embedding(tokens, w, F::EmbeddingFuncOptions().padding_idx(-1));
  agt::check_values(out.select(0, 1).select(0, 1), w.select(0, 4).to_vector<double>(), 1e-15);

  nn::Embedding emb(nn::EmbeddingOptions(6, 2).padding_idx(2).dtype(kFloat64));
  CHECK(*emb->options.padding_idx() == 2);
  agt::check_values(emb->weight.select(0, 2), {0, 0}, 1e-15);
  sum(emb(idx({2, 2, 3}, {3})) * 5.0).backward();
  agt::check_values(emb->weight.grad().select(0, 2), {0, 0}, 1e-15);
  agt::check_values(emb->weight.grad().select(0, 3), {5, 5}, 1e-15);
}

TEST_CASE("embedding and embedding_bag: float64 gradchecks, to second order") {
  const Tensor w = agt::input({6, 3}, 0.3), p = agt::input({7}, 0.9, 0.5, 1.0);
  const Tensor tokens = idx({0, 5, 2, 2, 3, 1}, {3, 2});
  agt::check_both_orders([&](const std::vector<Tensor>& v) { return pow(F::embedding(tokens, v[0]), 2.0); }, {w});
  // With a padding row (whose gradient is zero by definition, not by finite differences): the padding row
  // is a constant appended to the checked rows.
  const Tensor with_pad = idx({0, 6, 2, 6, 3, 1}, {3, 2});
  agt::check_both_orders(
      [&](const std::vector<Tensor>& v) {
        const Tensor weight = cat({v[0], f64({0.5, -0.5, 2.0}, {1, 3})}, 0);
        return pow(F::embedding(with_pad, weight, F::EmbeddingFuncOptions().padding_idx(6)), 3.0);
      },
      {w});
  const Tensor flat = idx({1, 4, 4, 0, 2, 5, 3}, {7}), offsets = idx({0, 3, 3, 5}, {4});
  for (auto mode : {nn::EmbeddingBagMode::Sum, nn::EmbeddingBagMode::Mean, nn::EmbeddingBagMode::Max}) {
    INFO("mode " << static_cast<int>(mode));
    agt::check_both_orders(
        [&](const std::vector<Tensor>& v) {
          return pow(F::embedding_bag(flat, v[0], F::EmbeddingBagFuncOptions().offsets(offsets).mode(mode)), 2.0);
        },
        {w});
    agt::check_gradients(
        [&](const std::vector<Tensor>& v) {
          return F::embedding_bag(tokens, v[0], F::EmbeddingBagFuncOptions().mode(mode).padding_idx(2));
        },
        {w});
  }
  agt::check_both_orders(
      [&](const std::vector<Tensor>& v) {
        const auto o =
            F::EmbeddingBagFuncOptions().offsets(offsets).mode(nn::EmbeddingBagMode::Sum).per_sample_weights(v[1]);
        return pow(F::embedding_bag(flat, v[0], o), 2.0);
      },
      {w, p});
  nn::Embedding emb(nn::EmbeddingOptions(6, 3).dtype(kFloat64));
  agt::check_gradients([&](const std::vector<Tensor>& v) { return sum(emb(tokens) * v[0]); },
                       {agt::input({3, 2, 3}, 0.5)});
}

TEST_CASE("embedding_bag: sum, mean and max by hand; offsets, 2-D input, empty bags, padding, last offset") {
  const Tensor w = f64({1, 2, 10, 20, 100, 200, -1, -2}, {4, 2});
  const Tensor flat = idx({0, 1, 2, 3, 3}, {5});
  const Tensor offsets = idx({0, 2, 2}, {3});  // bags {0, 1}, {}, {2, 3, 3}
  auto bag = [&](nn::EmbeddingBagMode m) {
    return F::embedding_bag(flat, w, F::EmbeddingBagFuncOptions().offsets(offsets).mode(m));
  };
  agt::check_values(bag(nn::EmbeddingBagMode::Sum), {11, 22, 0, 0, 98, 196});
  agt::check_values(bag(nn::EmbeddingBagMode::Mean), {5.5, 11, 0, 0, 98.0 / 3, 196.0 / 3});
  agt::check_values(bag(nn::EmbeddingBagMode::Max), {10, 20, 0, 0, 100, 200});
  const Tensor last = F::embedding_bag(flat, w,
                                       F::EmbeddingBagFuncOptions()
                                           .offsets(idx({0, 2, 5}, {3}))
                                           .include_last_offset(true)
                                           .mode(nn::EmbeddingBagMode::Sum));
  agt::check_values(last, {11, 22, 98, 196});
  const Tensor two_d = F::embedding_bag(idx({0, 1, 3, 3}, {2, 2}), w);  // mean by default
  agt::check_values(two_d, {5.5, 11, -1, -2});
  const Tensor padded = F::embedding_bag(idx({0, 1, 1, 1}, {2, 2}), w, F::EmbeddingBagFuncOptions().padding_idx(1));
  agt::check_values(padded, {1, 2, 0, 0});  // the padding entries leave the bag (and the mean's count)
  const Tensor psw = f64({1, 2, 3, 4, 5}, {5});
  const Tensor weighted = F::embedding_bag(
      flat, w, F::EmbeddingBagFuncOptions().offsets(offsets).mode(nn::EmbeddingBagMode::Sum).per_sample_weights(psw));
  agt::check_values(weighted, {21, 42, 0, 0, 300 - 9, 600 - 18});

  nn::EmbeddingBag eb(nn::EmbeddingBagOptions(4, 2).mode(nn::EmbeddingBagMode::Sum)._weight(w));
  agt::check_values(eb(flat, offsets), {11, 22, 0, 0, 98, 196});
  CHECK(eb(idx({0, 1, 3, 3}, {2, 2}).to(kInt32)).shape() == Shape{2, 2});
  nn::EmbeddingBag random(10, 3);
  CHECK(random->weight.dtype() == kFloat32);
  CHECK(random(idx({1, 2, 3, 4}, {2, 2})).shape() == Shape{2, 3});
}

TEST_CASE("Embedding::from_pretrained: shares the weights; freeze (default) means no gradient") {
  const Tensor w = f64({1, 2, 3, 4, 5, 6}, {3, 2});
  nn::Embedding frozen = nn::Embedding::from_pretrained(w);
  CHECK(!frozen->weight.requires_grad());
  CHECK(frozen->options.num_embeddings() == 3);
  agt::check_values(frozen(idx({2}, {1})), {5, 6}, 1e-15);
  nn::Embedding trainable =
      nn::Embedding::from_pretrained(w, nn::EmbeddingFromPretrainedOptions().freeze(false).padding_idx(0));
  CHECK(trainable->weight.requires_grad());
  CHECK(!w.requires_grad());
  agt::check_values(trainable->weight.select(0, 0), {1, 2}, 1e-15);  // the pretrained padding row is kept
  sum(trainable(idx({0, 1, 0}, {3}))).backward();
  agt::check_values(trainable->weight.grad(), {0, 0, 1, 1, 0, 0}, 1e-15);
}

TEST_CASE("embedding misuse: ag::Error naming the index and num_embeddings; nothing recorded, weight untouched") {
  nn::Embedding emb(nn::EmbeddingOptions(10, 3).dtype(kFloat64));
  const Tensor before = emb->weight.clone();
  std::string msg = error_recording_nothing([&] { emb(idx({1, 10, 2}, {3})); });
  CHECK(msg.find("Embedding: index 10 out of range for num_embeddings 10") != std::string::npos);
  msg = error_recording_nothing([&] { emb(idx({-1}, {1}).to(kInt32)); });
  CHECK(msg.find("index -1 out of range for num_embeddings 10") != std::string::npos);
  msg = error_recording_nothing([&] { emb(f64({1, 2}, {2})); });
  CHECK(msg.find("Embedding: expected int64 (or int32) indices, got float64[2]") != std::string::npos);
  msg = error_recording_nothing([&] { F::embedding(idx({0}, {1}), agt::input({3})); });
  CHECK(msg.find("embedding: expected a floating weight [num_embeddings, embedding_dim], got float64[3]") !=
        std::string::npos);
  CHECK(agt::error_message([] {
          nn::Embedding(nn::EmbeddingOptions(4, 2).padding_idx(4));
        }).find("padding_idx 4 must be within num_embeddings 4") != std::string::npos);
  agt::check_values(emb->weight, before.to_vector<double>(), 1e-15);
  CHECK(!emb->weight.grad().defined());

  const Tensor w = agt::input({5, 2});
  msg = error_recording_nothing([&] { F::embedding_bag(idx({0, 1}, {2}), w); });
  CHECK(msg.find("embedding_bag: a 1-D input int64[2] needs offsets") != std::string::npos);
  msg = error_recording_nothing([&] {
    F::embedding_bag(idx({0, 1}, {1, 2}), w, F::EmbeddingBagFuncOptions().offsets(idx({0}, {1})));
  });
  CHECK(msg.find("offsets must be undefined for a 2-D input") != std::string::npos);
  msg = error_recording_nothing([&] {
    F::embedding_bag(idx({0, 1}, {2}), w, F::EmbeddingBagFuncOptions().offsets(idx({1}, {1})));
  });
  CHECK(msg.find("offsets[0] must be 0") != std::string::npos);
  msg = error_recording_nothing([&] {
    F::embedding_bag(idx({0, 1}, {2}), w, F::EmbeddingBagFuncOptions().offsets(idx({0, 3}, {2})));
  });
  CHECK(msg.find("at most the input's size 2") != std::string::npos);
  msg = error_recording_nothing([&] { F::embedding_bag(idx({0, 7}, {1, 2}), w); });
  CHECK(msg.find("embedding_bag: index 7 out of range for num_embeddings 5") != std::string::npos);
  msg = error_recording_nothing([&] {
    F::embedding_bag(idx({0, 1}, {1, 2}), w, F::EmbeddingBagFuncOptions().per_sample_weights(f64({1, 1}, {1, 2})));
  });
  CHECK(msg.find("per_sample_weights are only supported with mode sum, got mode mean") != std::string::npos);
  msg = error_recording_nothing([&] { F::embedding_bag(idx({0, 1, 2}, {1, 1, 3}), w); });
  CHECK(msg.find("expected a 1-D input with offsets or a 2-D input [B, N], got int64[1, 1, 3]") != std::string::npos);
}

TEST_CASE("the embedding modules' weight gradients are those of their gradchecked functional forms; int32 offsets") {
  nn::Embedding emb(nn::EmbeddingOptions(6, 3).padding_idx(1).dtype(kFloat64));
  const Tensor tokens = idx({0, 1, 5, 5, 2, 1}, {2, 3});
  const Tensor u = agt::input({2, 3, 3}, 0.4, 1.0, 0.0, false);
  sum(emb(tokens) * u).backward();
  const Tensor w = emb->weight.detach().clone().requires_grad_();
  agt::check_values(
      emb->weight.grad(),
      grad({sum(F::embedding(tokens, w, F::EmbeddingFuncOptions().padding_idx(1)) * u)}, {w})[0].to_vector<double>(),
      1e-15);

  nn::EmbeddingBag bag(nn::EmbeddingBagOptions(6, 3).mode(nn::EmbeddingBagMode::Max).dtype(kFloat64));
  const Tensor flat = idx({0, 3, 5, 5, 2, 1}, {6}), offsets = idx({0, 2, 4}, {3}).to(kInt32);
  const Tensor ub = agt::input({3, 3}, 0.8, 1.0, 0.0, false);
  sum(bag(flat, offsets) * ub).backward();
  const Tensor wb = bag->weight.detach().clone().requires_grad_();
  const auto o = F::EmbeddingBagFuncOptions().offsets(idx({0, 2, 4}, {3})).mode(nn::EmbeddingBagMode::Max);
  agt::check_values(bag->weight.grad(), grad({sum(F::embedding_bag(flat, wb, o) * ub)}, {wb})[0].to_vector<double>(),
                    1e-15);
}
