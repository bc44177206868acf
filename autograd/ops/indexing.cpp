// libtorch's indexing API (ops/indexing.h). index() follows libtorch's two steps: applySlicing turns
// the basic indices into views (select, slice, unsqueeze) and records each tensor index at the dim
// of the result it applies to; the advanced step then gathers. The gather is made of recorded ops
// (permute the indexed dims to the front, reshape them into one, index_select the linear indices,
// reshape and permute into place), so index() is differentiable to any order, and its VJP adds up
// the gradient of repeated indices (index_select's put_rows). index_put_ with tensor indices runs the
// same two steps on a tensor holding the storage offset of every element of self, which gives the
// offset each value goes to.
#include "autograd/ops/indexing.h"

#include <string_view>

#include "autograd/factory.h"
#include "autograd/forward_grad.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/convert.h"
#include "autograd/ops/index.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/util.h"
#include "autograd/tape.h"

namespace ag {

using indexing::TensorIndex;

indexing::TensorIndex::TensorIndex(const char* str) : type_(TensorIndexType::Ellipsis) {
  if (str == nullptr || std::string_view(str) != "...")
    fail("TensorIndex: expected \"...\" to represent an ellipsis index, got \"{}\"", str ? str : "(null)");
}

namespace detail {

bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const std::size_t off = to.size() - from.size();
  for (std::size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[off + i]) return false;
  return true;
}

bool is_mask_index(const Tensor& t) {
  const Dtype d = t.checked("index").dtype;
  return is_floating(d) || d == Dtype::Bool;
}

std::vector<std::uint8_t> mask_values(const Tensor& mask, const char* op) {
  mask.checked(op);
  std::vector<std::uint8_t> out(static_cast<std::size_t>(mask.numel()));
  dispatch_every(mask.dtype(), [&]<class T>() {
    const T* p = mask.cdata<T>();
    for (std::size_t k = 0; k < out.size(); ++k) {
      if (p[k] != T(0) && p[k] != T(1))
        fail("{}: a mask must hold only 0 and 1, got {} at flat position {} of {}", op, static_cast<double>(p[k]), k,
             describe(mask));
      out[k] = p[k] == T(1) ? 1 : 0;
    }
  });
  return out;
}

}  // namespace detail

namespace {

/// self after the basic indices (a view), and the tensor index of each of its dims (or undefined).
struct Parsed {
  Tensor base;
  std::vector<Tensor> indices;
  std::vector<std::int64_t> orig_dim;  ///< for each indexed dim of base: the dim of self it indexes
};

/// The row-major positions of a mask's ones, as one int64 index tensor per mask dim (nonzero).
std::vector<Tensor> mask_to_indices(const Tensor& mask, const char* op) {
  const auto vals = detail::mask_values(mask, op);
  const Shape& ms = mask.shape();
  const std::size_t k = ms.size();
  std::int64_t count = 0;
  for (auto v : vals) count += v;
  std::vector<Tensor> out;
  std::vector<std::int64_t*> ptrs;
  for (std::size_t d = 0; d < k; ++d) {
    out.push_back(empty({count}, kInt64, op));
    ptrs.push_back(out.back().data<std::int64_t>());
  }
  std::int64_t at = 0;
  for (std::size_t flat = 0; flat < vals.size(); ++flat) {
    if (!vals[flat]) continue;
    auto rest = static_cast<std::int64_t>(flat);
    for (std::size_t d = k; d-- > 0;) {
      ptrs[d][at] = rest % ms[d];
      rest /= ms[d];
    }
    ++at;
  }
  return out;
}

/// libtorch's applySlicing. `shown` is the tensor named in error messages.
Parsed apply_slicing(const Tensor& self, const std::vector<TensorIndex>& indices, const char* op, const Tensor& shown) {
  const auto rank = static_cast<std::int64_t>(self.checked(op).shape.size());
  std::int64_t specified = 0;
  bool ellipsis = false;
  for (const TensorIndex& ix : indices) {
    if (ix.is_integer() || ix.is_slice()) {
      ++specified;
    } else if (ix.is_tensor()) {
      const Tensor& t = ix.tensor();
      t.checked(op);
      specified += t.dtype() == kInt64 || !detail::is_mask_index(t) ? 1 : std::max<std::int64_t>(t.dim(), 0);
    } else if (ix.is_ellipsis()) {
      if (ellipsis) fail("{}: an index can only have a single ellipsis (indexing {})", op, describe(shown));
      ellipsis = true;
    }
  }
  if (specified > rank)
    fail("{}: too many indices for tensor of dimension {}: {} given for {}", op, rank, specified, describe(shown));
  Parsed p;
  Tensor r = self;
  std::int64_t dim = 0, orig = 0;
  auto record_index = [&](Tensor t, std::int64_t o) {
    p.indices.resize(static_cast<std::size_t>(dim + 1));
    p.orig_dim.resize(static_cast<std::size_t>(dim + 1));
    p.indices[static_cast<std::size_t>(dim)] = std::move(t);
    p.orig_dim[static_cast<std::size_t>(dim)] = o;
    ++dim;
  };
  auto do_select = [&](std::int64_t i) {
    const auto n = r.size(dim);
    if (i < -n || i >= n)
      fail("{}: index {} is out of range for dim {} of size {} in {}", op, i, orig, n, describe(shown));
    r = select(r, dim, i);
    ++orig;
  };
  for (const TensorIndex& ix : indices) {
    switch (ix.type()) {
      case indexing::TensorIndexType::Integer:
        do_select(ix.integer());
        break;
      case indexing::TensorIndexType::Slice: {
        const auto& s = ix.slice();
        if (s.step() <= 0)
          fail("{}: slice step must be positive, got {} (dim {} of {})", op, s.step(), orig, describe(shown));
        r = slice(r, dim, s.start(), s.stop(), s.step());
        ++dim;
        ++orig;
        break;
      }
      case indexing::TensorIndexType::Ellipsis:
        dim += rank - specified;
        orig += rank - specified;
        break;
      case indexing::TensorIndexType::None:
        r = unsqueeze(r, dim);
        ++dim;
        break;
      case indexing::TensorIndexType::Boolean:
        r = unsqueeze(r, dim);
        record_index(ix.boolean() ? zeros({1}, kInt64) : empty({0}, kInt64, op), -1);
        break;
      case indexing::TensorIndexType::Tensor: {
        const Tensor& t = ix.tensor();
        if (t.dtype() == kInt64) {
          if (t.dim() == 0) do_select(t.item<std::int64_t>());  // as libtorch: a 0-d integer tensor selects
          else record_index(t, orig++);
        } else if (detail::is_mask_index(t)) {
          if (t.dim() == 0) {  // a 0-d mask: as a bool
            const bool on = detail::mask_values(t, op)[0] != 0;
            r = unsqueeze(r, dim);
            record_index(on ? zeros({1}, kInt64) : empty({0}, kInt64, op), -1);
            break;
          }
          for (std::int64_t k = 0; k < t.dim(); ++k)
            if (t.size(k) != r.size(dim + k))
              fail("{}: the shape of the mask {} does not match the shape of the indexed tensor {} at dim {}", op,
                   describe(t), describe(shown), orig + k);
          for (Tensor& i : mask_to_indices(t, op)) record_index(std::move(i), orig++);
        } else {
          fail("{}: tensors used as indices must be int64 (indices) or floating 0/1 (a mask), got {}", op, describe(t));
        }
        break;
      }
    }
  }
  p.indices.resize(static_cast<std::size_t>(r.dim()));
  p.orig_dim.resize(static_cast<std::size_t>(r.dim()));
  p.base = std::move(r);
  return p;
}

bool has_tensor_index(const Parsed& p) {
  for (const Tensor& t : p.indices)
    if (t.defined()) return true;
  return false;
}

/// libtorch's advanced-indexing step on p.base (see the file comment).
Tensor apply_advanced(const Parsed& p, const char* op, const Tensor& shown) {
  const Tensor& x = p.base;
  std::vector<std::size_t> pos;
  for (std::size_t d = 0; d < p.indices.size(); ++d)
    if (p.indices[d].defined()) pos.push_back(d);
  if (pos.empty()) return x;
  Shape bshape = p.indices[pos[0]].shape();
  for (std::size_t k = 1; k < pos.size(); ++k) {
    const Shape& s = p.indices[pos[k]].shape();
    try {
      bshape = broadcast_shapes(bshape, s, op);
    } catch (const Error&) {
      fail("{}: shape mismatch: indexing tensors could not be broadcast together ({} vs {}) indexing {}", op,
           shape_str(bshape), shape_str(s), describe(shown));
    }
  }
  const bool adjacent = pos.back() - pos.front() + 1 == pos.size();
  // linear index into the indexed dims flattened in order
  const std::int64_t L = shape_numel(bshape);
  Tensor lin = zeros({L}, kInt64);
  std::int64_t* pl = lin.data<std::int64_t>();
  std::int64_t flat_size = 1;
  for (std::size_t k = 0; k < pos.size(); ++k) {
    const auto d = pos[k];
    const auto n = x.size(static_cast<std::int64_t>(d));
    const Tensor e = expand(p.indices[d].detach(), bshape);
    const std::int64_t* pi = e.cdata<std::int64_t>();
    for (std::int64_t j = 0; j < L; ++j) {
      std::int64_t v = pi[j];
      if (v < -n || v >= n) {
        if (p.orig_dim[d] < 0)
          fail("{}: index {} is out of range for a dim of size {} (made by a bool index) in {}", op, v, n,
               describe(shown));
        fail("{}: index {} is out of range for dim {} of size {} in {}", op, v, p.orig_dim[d], n, describe(shown));
      }
      if (v < 0) v += n;
      pl[j] = pl[j] * n + v;
    }
    flat_size *= n;
  }
  // [indexed dims..., other dims...] -> [flat, others...] -> [bshape..., others...]
  Shape perm, rest;
  for (auto d : pos) perm.push_back(static_cast<std::int64_t>(d));
  for (std::size_t d = 0; d < p.indices.size(); ++d)
    if (!p.indices[d].defined()) {
      perm.push_back(static_cast<std::int64_t>(d));
      rest.push_back(x.size(static_cast<std::int64_t>(d)));
    }
  Shape flat_shape{flat_size};
  flat_shape.insert(flat_shape.end(), rest.begin(), rest.end());
  Tensor y = index_select(reshape(permute(x, perm), flat_shape), 0, lin);
  Shape out_shape = bshape;
  out_shape.insert(out_shape.end(), rest.begin(), rest.end());
  y = reshape(y, out_shape);
  if (adjacent && pos.front() > 0) {  // the result dims replace the indexed ones where they were
    const auto b = static_cast<std::int64_t>(bshape.size());
    const auto at = static_cast<std::int64_t>(pos.front());
    Shape back;
    for (std::int64_t i = 0; i < at; ++i) back.push_back(b + i);
    for (std::int64_t i = 0; i < b; ++i) back.push_back(i);
    for (auto i = at; i < static_cast<std::int64_t>(rest.size()); ++i) back.push_back(b + i);
    y = permute(y, back);
  }
  return y.contiguous();
}

/// The rules of the in-place ops (ops/inplace.cpp) for index_put_.
void check_index_put(const Tensor& self, const Tensor* value, const char* op) {
  if (value) value->checked(op);
  detail::check_inplace(self, value, op, "ag::index_put");
}

/// The storage offset of every element of self, as an int64 tensor of self's shape.
Tensor storage_offsets(const Tensor& self) {
  const auto& im = *self.impl();
  Tensor offs = empty(im.shape, kInt64, "index_put_");
  std::int64_t* po = offs.data<std::int64_t>();
  const Shape st = im.strides();
  const std::size_t r = im.shape.size();
  std::vector<std::int64_t> i(r, 0);
  for (std::int64_t k = 0; k < im.numel; ++k) {
    std::int64_t o = im.offset;
    for (std::size_t d = 0; d < r; ++d) o += i[d] * st[d];
    po[k] = o;
    for (std::size_t d = r; d-- > 0;) {
      if (++i[d] < im.shape[d]) break;
      i[d] = 0;
    }
  }
  return offs;
}

/// index_put_ with tensor indices: writes value (broadcast) at the offsets the indices pick, in
/// row-major order of the indexed result, so the last of repeated indices wins.
void scatter_put(Tensor& self, const std::vector<TensorIndex>& indices, const Tensor& value, const char* op) {
  Tensor offs;
  {
    NoGradGuard ng;
    offs = apply_advanced(apply_slicing(storage_offsets(self), indices, op, self), op, self);
  }
  const Shape& os = offs.shape();
  if (!detail::broadcasts_to(value.shape(), os))
    fail("{}: values {} cannot be broadcast to the indexed shape {} of {}", op, describe(value), shape_str(os),
         describe(self));
  const Tensor v = expand(value.dtype() == self.dtype() ? value.detach() : value.detach().to(self.dtype()), os);
  const std::int64_t* po = offs.cdata<std::int64_t>();
  dispatch_all(self.dtype(), [&]<class T>() {
    const T* pv = v.cdata<T>();
    T* base = static_cast<T*>(self.impl()->storage->data);
    for (std::int64_t k = 0; k < offs.numel(); ++k) base[po[k]] = pv[k];
  });
  ++self.impl()->storage->version;
}

/// value without its leading size-1 dims (libtorch's slicePrefix1sSize: numpy's assignment allows
/// `x[0] = v` for v of shape [1, n]).
Tensor strip_leading_ones(const Tensor& value) {
  const Shape& s = value.shape();
  std::size_t k = 0;
  while (k < s.size() && s[k] == 1) ++k;
  return k == 0 ? value : reshape(value, Shape(s.begin() + static_cast<std::ptrdiff_t>(k), s.end()));
}

Tensor& index_put_impl(Tensor& self, const std::vector<TensorIndex>& indices, const Tensor& value_in) {
  const char* op = "index_put_";
  check_index_put(self, &value_in, op);
  const Tensor value = strip_leading_ones(value_in.detach());
  Parsed p = apply_slicing(self, indices, op, self);
  if (!has_tensor_index(p)) {
    if (!detail::broadcasts_to(value.shape(), p.base.shape()))
      fail("{}: values {} cannot be broadcast to the indexed shape {} of {}", op, describe(value),
           shape_str(p.base.shape()), describe(self));
    p.base.copy_(value);  // a view of self: writes through into it
    return self;
  }
  scatter_put(self, indices, value, op);
  return self;
}

/// index_put_ when self or value carries a tangent (Note: forward mode of in-place ops in
/// ops/inplace.cpp): self's new tangent is index_put of the tangents (zeros for one without), computed
/// out of place before writing; `value` null for a scalar value (its tangent is zero).
Tensor& index_put_dual(Tensor& self, const std::vector<TensorIndex>& indices, const Tensor* value, double scalar) {
  const char* op = "index_put_";
  check_index_put(self, value, op);
  const Tensor ts = detail::get_tangent(self), tv = value ? detail::get_tangent(*value) : Tensor();
  Tensor nt;
  {
    detail::FwSuspend suspend;
    if (is_floating(self.dtype()) && (ts.defined() || tv.defined())) {
      detail::check_tangent_write(self, op);
      const Tensor base = ts.defined() ? ts : zeros(self.shape(), self.dtype());
      const Tensor vt = !tv.defined() ? zeros({}, self.dtype()) : tv.dtype() == self.dtype() ? tv : tv.to(self.dtype());
      nt = index_put(base, indices, vt);
    }
    if (value) index_put_impl(self, indices, *value);
    else self.index_put_(indices, scalar);
  }
  if (nt.defined()) detail::set_tangent(self, nt, op);
  return self;
}

}  // namespace

Tensor index(const Tensor& self, const std::vector<TensorIndex>& indices) {
  Parsed p = apply_slicing(self, indices, "index", self);
  if (!has_tensor_index(p) && p.base.impl() == self.impl())
    return reshape(self, self.shape());  // as libtorch's alias: a new view, never self's own handle
  return apply_advanced(p, "index", self);
}

Tensor Tensor::index(std::initializer_list<TensorIndex> indices) const {
  return ag::index(*this, std::vector<TensorIndex>(indices));
}
Tensor Tensor::index(const std::vector<TensorIndex>& indices) const { return ag::index(*this, indices); }

Tensor& Tensor::index_put_(const std::vector<TensorIndex>& indices, const Tensor& value) {
  if (any_tangent({this, &value})) [[unlikely]]
    return index_put_dual(*this, indices, &value, 0.0);
  return index_put_impl(*this, indices, value);
}
Tensor& Tensor::index_put_(std::initializer_list<TensorIndex> indices, const Tensor& value) {
  return index_put_(std::vector<TensorIndex>(indices), value);
}
Tensor& Tensor::index_put_(const std::vector<TensorIndex>& indices, double value) {
  if (any_tangent({this})) [[unlikely]]
    return index_put_dual(*this, indices, nullptr, value);
  const char* op = "index_put_";
  check_index_put(*this, nullptr, op);
  Parsed p = apply_slicing(*this, indices, op, *this);
  if (!has_tensor_index(p)) {
    p.base.fill_(value);
    return *this;
  }
  scatter_put(*this, indices, full({}, value, dtype()), op);
  return *this;
}
Tensor& Tensor::index_put_(std::initializer_list<TensorIndex> indices, double value) {
  return index_put_(std::vector<TensorIndex>(indices), value);
}

Tensor index_put(const Tensor& self, const std::vector<TensorIndex>& indices, const Tensor& values) {
  detail::check_same_dtype(self, values, "index_put");
  Tensor y = clone(self.detach());
  {
    NoGradGuard ng;
    index_put_impl(y, indices, values.detach());
  }
  if (any_requires_grad({&self, &values}))
    record("index_put", {&self, &values}, {&y},
           [indices, vs = values.shape(), stripped = strip_leading_ones(values.detach()).shape()](BackwardCtx& c) {
             const Tensor& g = c.grad();
             if (c.needs(0)) c.set(0, index_put(g, indices, zeros({}, g.dtype())));
             if (c.needs(1)) c.set(1, reshape(sum_to(index(g, indices), stripped), vs));
           });
  if (any_tangent({&self, &values}))  // linear in (self, values): index_put of the tangents
    propagate_tangent("index_put", {&self, &values}, {&y}, [&](JvpCtx& c) {
      c.set(0, index_put(c.tangent_or_zeros(0), indices,
                         c.has(1) ? c.tangent(1) : zeros({}, TensorOptions().dtype(values.dtype()))));
    });
  return y;
}

}  // namespace ag
