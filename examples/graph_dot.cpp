// Draws the graph of one training step's loss (a 2-4-1 sigmoid MLP on XOR, as the tutorial's) in
// Graphviz DOT with ag::autograd::to_dot, writes it to graph.dot (or the path given), and renders
// it to SVG with Graphviz's `dot` when that is installed (apt-get install graphviz).
//   graph_dot [out.dot]
#include <fmt/core.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "nn/nn.h"

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "graph.dot";
  ag::manual_seed(7);
  auto model = ag::nn::Sequential(ag::nn::Linear(2, 4), ag::nn::Sigmoid(), ag::nn::Linear(4, 1), ag::nn::Sigmoid());
  const ag::Tensor x = ag::tensor({{0.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}, {1.0, 1.0}}, ag::kFloat32);
  const ag::Tensor y = ag::tensor({{0.0}, {1.0}, {1.0}, {0.0}}, ag::kFloat32);
  const ag::Tensor loss = ag::nn::functional::mse_loss(model->forward(x), y);
  const std::string dot = ag::autograd::to_dot({loss}, model->named_parameters());
  std::ofstream(path) << dot;
  fmt::print("{}wrote {}\n", dot, path);
  if (std::system("command -v dot >/dev/null 2>&1") == 0) {
    const std::string svg = path.substr(0, path.rfind('.')) + ".svg";
    const std::string cmd = "dot -Tsvg '" + path + "' -o '" + svg + "'";
    if (std::system(cmd.c_str()) != 0) return 1;
    fmt::print("rendered {}\n", svg);
  } else {
    fmt::print("Graphviz's dot is not installed: render with  dot -Tsvg {} -o graph.svg\n", path);
  }
  return 0;
}
