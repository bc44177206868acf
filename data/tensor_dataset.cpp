#include "data/tensor_dataset.h"

#include <utility>

#include <autograd/error.h>
#include <autograd/ops/index.h>

namespace ag::data::datasets {
namespace {
void check_index(const char* what, std::size_t index, std::size_t size) {
  if (index >= size) fail("{}::get: index {} out of range for a dataset of {} examples", what, index, size);
}
}  // namespace

TensorDataset::TensorDataset(const std::vector<Tensor>& tensors) : TensorDataset(ag::stack(tensors)) {}

TensorDataset::TensorDataset(Tensor t) : tensor(std::move(t)) {
  if (!tensor.defined() || tensor.dim() == 0)
    fail("TensorDataset: expected a tensor of at least 1 dimension (examples along dim 0), got {}",
         tensor.defined() ? describe(tensor) : std::string("an undefined tensor"));
}

TensorExample TensorDataset::get(std::size_t index) {
  check_index("TensorDataset", index, *size());
  return tensor[static_cast<std::int64_t>(index)];
}

std::optional<std::size_t> TensorDataset::size() const { return static_cast<std::size_t>(tensor.size(0)); }

TensorPairDataset::TensorPairDataset(Tensor d, Tensor t) : data(std::move(d)), targets(std::move(t)) {
  if (!data.defined() || !targets.defined() || data.dim() == 0 || targets.dim() == 0 || data.size(0) != targets.size(0))
    fail(
        "TensorPairDataset: expected data and targets of at least 1 dimension with the same size in dim 0, got {} "
        "and {}",
        data.defined() ? describe(data) : std::string("undefined"),
        targets.defined() ? describe(targets) : std::string("undefined"));
}

Example<> TensorPairDataset::get(std::size_t index) {
  check_index("TensorPairDataset", index, *size());
  const auto i = static_cast<std::int64_t>(index);
  return {data[i], targets[i]};
}

std::optional<std::size_t> TensorPairDataset::size() const { return static_cast<std::size_t>(data.size(0)); }

}  // namespace ag::data::datasets
