#include "proxy/routing/call_holder.h"

namespace ehp {

bool CallHolder::Admit(int64_t bytes) {
  if (calls_.fetch_add(1, std::memory_order_relaxed) + 1 > max_calls_) {
    calls_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  if (bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes > max_bytes_) {
    bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    calls_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void CallHolder::Release(int64_t bytes) {
  bytes_.fetch_sub(bytes, std::memory_order_relaxed);
  calls_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace ehp
