// The admin routes' view of a running ProxyServer.
#pragma once

#include <chrono>
#include <string>

#include "proxy/admin/admin_router.h"

namespace ehp {

class ProxyServer;

class ProxyAdminBackend final : public AdminBackend {
 public:
  explicit ProxyAdminBackend(ProxyServer* server) : server_(server) {}

  // AdminBackend
  std::string MetricsText() override;
  std::vector<Check> LivenessChecks() override;
  std::vector<Check> ReadinessChecks() override;
  std::string StatusJson() override;
  std::string EventsJson() override;
  bool SetDrained(const std::string& member, bool drained) override;

 private:
  ProxyServer* const server_;
};

// RFC 3339 UTC with milliseconds.
std::string FormatTime(std::chrono::system_clock::time_point t);

}  // namespace ehp
