// libFuzzer target: the admin plane's routes with any method, path and query (Beast has parsed
// the HTTP already; this is the code of ours behind it).
#include <cstddef>
#include <cstdint>
#include <string>

#include "proxy/admin/admin_router.h"

namespace {

class Backend : public ehp::AdminBackend {
 public:
  std::string MetricsText() override { return "m 1\n"; }
  std::vector<Check> LivenessChecks() override { return {{"health-loop", true, "ok"}}; }
  std::vector<Check> ReadinessChecks() override { return {{"members", false, "none"}}; }
  std::string StatusJson() override { return "{}"; }
  std::string EventsJson() override { return "[]"; }
  bool SetDrained(const std::string& member, bool) override { return member == "m1"; }
  Action StartDefragment() override { return {202, "{}"}; }
  Action MoveLeader(const std::string& member) override {
    return {member == "m1" ? 200 : 404, "{}"};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // First byte: trust and method; the rest: the request target.
  static const char* const kMethods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"};
  ehp::AdminRequest request;
  request.trusted = data[0] & 1;
  request.method = kMethods[(data[0] >> 1) % 6];
  request.target.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  Backend backend;
  const ehp::AdminResponse response = ehp::RouteAdmin(request, backend);
  if (response.status < 100 || response.status > 599) __builtin_trap();
  // Mutations only for trusted callers.
  if (!request.trusted && request.method == "POST" &&
      (response.status == 200 || response.status == 202)) {
    __builtin_trap();
  }
  return 0;
}
