#include "autograd/ivalue.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

#include "autograd/error.h"

namespace ag {

const char* IValue::tagKind() const {
  switch (v_.index()) {
    case 0:
      return "None";
    case 1:
      return "Double";
    case 2:
      return "Int";
    case 3:
      return "Bool";
    case 4:
      return "Tensor";
    case 5:
      return "String";
    case 6:
      return "IntList";
    default:
      return "DoubleList";
  }
}

void IValue::type_error(const char* method, const char* expected) const {
  fail("IValue::{}: expected {} but got {}", method, expected, tagKind());
}

namespace detail {
std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(mangled);
}
}  // namespace detail

}  // namespace ag
