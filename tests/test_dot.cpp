// ag::autograd::to_dot (dot.h): the DOT text of small graphs, exactly, in torchviz's conventions.
#include <doctest/doctest.h>

#include "nn/nn.h"
#include "test_util.h"

using namespace ag;

TEST_CASE("to_dot: a small graph, node by node, in torchviz's conventions") {
  Tensor w = agt::input({2}, 1.0);
  Tensor x = agt::input({2}, 2.0, 1.0, 0.0, /*requires_grad=*/false);
  Tensor y = (x * w).sum();
  const std::string dot = autograd::to_dot({y}, {{"w", w}});
  CHECK(dot ==
        "digraph {\n"
        "\tgraph [size=\"12,12\"]\n"
        "\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]\n"
        "\tout0 [label=\"\n ()\" fillcolor=darkolivegreen1]\n"
        "\tn0 [label=\"SumBackward0\"]\n"
        "\tn1 [label=\"MulBackward0\"]\n"
        "\tn2 [label=\"w\n (2)\" fillcolor=lightblue]\n"
        "\tn2 -> n1\n"
        "\tn1 -> n0\n"
        "\tn0 -> out0\n"
        "}\n");
}

TEST_CASE("to_dot: shared nodes once, several outputs, module parameters by name") {
  nn::Linear fc(nn::LinearOptions(3, 2));
  Tensor x = agt::input({4, 3}, 1.0, 1.0, 0.0, false).to(kFloat32);
  Tensor h = tanh(fc->forward(x));
  Tensor a = h.sum(), b = (h * h).mean();
  const std::string dot = autograd::to_dot({a, b}, fc->named_parameters());
  CHECK(dot.find("\"weight\n (2, 3)\" fillcolor=lightblue") != std::string::npos);
  CHECK(dot.find("\"bias\n (2)\" fillcolor=lightblue") != std::string::npos);
  CHECK(dot.find("out1 [label=\"\n ()\" fillcolor=darkolivegreen1]") != std::string::npos);
  // h's node (TanhBackward0) is drawn once though both outputs use it
  std::size_t count = 0;
  for (std::size_t p = dot.find("TanhBackward0"); p != std::string::npos; p = dot.find("TanhBackward0", p + 1)) ++count;
  CHECK(count == 1);
  // every edge names declared nodes
  CHECK(dot.find("-> out0") != std::string::npos);
  CHECK(dot.find("-> out1") != std::string::npos);
}

TEST_CASE("to_dot: a leaf output, a freed graph, an undefined output") {
  Tensor w = agt::input({2, 2}, 1.0);
  const std::string dot = autograd::to_dot({w}, {{"w", w}});
  CHECK(dot.find("out0 [label=\"w\n (2, 2)\" fillcolor=darkolivegreen1]") != std::string::npos);
  CHECK(dot.find("n0 [label=\"w\n (2, 2)\" fillcolor=lightblue]") != std::string::npos);
  CHECK(dot.find("n0 -> out0") != std::string::npos);
  Tensor y = (w * w).sum();
  y.backward();
  CHECK(agt::error_message([&] { autograd::to_dot({y}); }).find("was freed") != std::string::npos);
  CHECK(agt::error_message([&] { autograd::to_dot({Tensor()}); }).find("undefined") != std::string::npos);
}
