// Second process of the optimizer save/resume test (tests/test_optim.cpp): loads the parameters
// and the optimizer state a first process saved after some steps, runs more steps, writes the
// parameters. Usage: optim_resume_helper KIND DTYPE(f32|f64) PARAMS_IN STATE_IN STEPS PARAMS_OUT
#include <cstdio>
#include <exception>
#include <string>

#include "optim_problems.h"

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s KIND f32|f64 PARAMS_IN STATE_IN STEPS PARAMS_OUT\n", argv[0]);
    return 2;
  }
  try {
    const std::string kind = argv[1];
    const ag::Dtype dtype = std::string(argv[2]) == "f32" ? ag::kFloat32 : ag::kFloat64;
    std::vector<ag::Tensor> params = optim_problems::lsq_params(dtype);
    const auto saved = ag::nn::load_safetensors(argv[3]);
    {
      ag::NoGradGuard ng;
      for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(saved["p" + std::to_string(i)]);
    }
    auto opt = optim_problems::make_optimizer(kind, params);
    ag::optim::load(*opt, argv[4]);
    const int steps = std::stoi(argv[5]);
    for (int s = 0; s < steps; ++s) optim_problems::train_step(*opt, params);
    ag::OrderedDict<ag::Tensor> out;
    for (std::size_t i = 0; i < params.size(); ++i) out.insert("p" + std::to_string(i), params[i].detach());
    ag::nn::save_safetensors(out, argv[6]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "optim_resume_helper: %s\n", e.what());
    return 1;
  }
  return 0;
}
