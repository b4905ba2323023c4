// Which gRPC methods are unary, read from the descriptors of etcd's own compiled protos.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace ehp {

class MethodTable {
 public:
  MethodTable();

  // True for methods known to take one request and return one response ("/etcdserverpb.KV/Range").
  // Unknown methods are relayed as streams, which is correct for every call shape.
  bool IsUnary(std::string_view path) const { return FindUnary(path) != nullptr; }
  // The table's own copy of a unary method's path (it lives as long as the table), or null.
  const std::string* FindUnary(std::string_view path) const;

  size_t unary_count() const { return unary_.size(); }

 private:
  // Transparent hashing: a lookup by string_view builds no string (it runs on every call).
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_set<std::string, Hash, std::equal_to<>> unary_;
};

}  // namespace ehp
