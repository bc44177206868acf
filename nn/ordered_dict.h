#pragma once
/// @file ordered_dict.h
/// An insertion-ordered name -> value map (as torch::OrderedDict), for named parameters.

#include <cstddef>
#include <deque>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <autograd/error.h>

namespace ag {

template <class V>
class OrderedDict {
 public:
  /// One entry; key() and value() as in libtorch.
  class Item {
   public:
    Item(std::string k, V v) : key_(std::move(k)), value_(std::move(v)) {}
    const std::string& key() const { return key_; }
    V& value() { return value_; }
    const V& value() const { return value_; }
    V* operator->() { return &value_; }

   private:
    std::string key_;
    V value_;
  };

  /// Adds an entry and returns a reference to its value, which stays valid while the dict lives
  /// (later inserts do not move it); a duplicate key is an ag::Error.
  V& insert(std::string key, V value) {
    if (index_.count(key)) fail("OrderedDict: key '{}' already exists", key);
    index_.emplace(key, items_.size());
    items_.emplace_back(std::move(key), std::move(value));
    return items_.back().value();
  }
  /// The value for `key`; a missing key is an ag::Error.
  V& operator[](const std::string& key) { return items_[position(key)].value(); }
  const V& operator[](const std::string& key) const { return items_[position(key)].value(); }
  /// Pointer to the value, or nullptr.
  V* find(const std::string& key) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].value();
  }
  const V* find(const std::string& key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].value();
  }
  bool contains(const std::string& key) const { return index_.count(key) != 0; }
  std::size_t size() const { return items_.size(); }
  bool is_empty() const { return items_.empty(); }
  std::vector<std::string> keys() const {
    std::vector<std::string> k;
    for (const auto& it : items_) k.push_back(it.key());
    return k;
  }
  std::vector<V> values() const {
    std::vector<V> v;
    for (const auto& it : items_) v.push_back(it.value());
    return v;
  }
  std::deque<Item>& items() { return items_; }
  const std::deque<Item>& items() const { return items_; }
  auto begin() { return items_.begin(); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::size_t position(const std::string& key) const {
    auto it = index_.find(key);
    if (it == index_.end()) fail("OrderedDict: no key '{}'", key);
    return it->second;
  }
  std::deque<Item> items_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace ag
