// The admin routes' view of a running ProxyServer.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "proxy/admin/admin_router.h"
#include "proxy/health/maintenance_runner.h"

namespace ehp {

class ProxyServer;

class ProxyAdminBackend final : public AdminBackend, private MaintenanceCluster {
 public:
  explicit ProxyAdminBackend(ProxyServer* server);
  // Ends a maintenance operation in flight.
  ~ProxyAdminBackend() override;

  // AdminBackend
  std::string MetricsText() override;
  std::vector<Check> LivenessChecks() override;
  std::vector<Check> ReadinessChecks() override;
  std::string StatusJson() override;
  std::string EventsJson() override;
  bool SetDrained(const std::string& member, bool drained) override;
  Action StartDefragment() override;
  Action MoveLeader(const std::string& member) override;

 private:
  // MaintenanceCluster
  std::vector<MaintenanceMember> Members(uint64_t* rounds) override;
  std::string Defragment(const std::string& member, std::chrono::milliseconds timeout) override;
  void CancelCalls() override;
  void Record(const std::string& member, const std::string& operation,
              const std::string& step) override;

  ProxyServer* const server_;
  std::unique_ptr<MaintenanceRunner> maintenance_;
};

// RFC 3339 UTC with milliseconds.
std::string FormatTime(std::chrono::system_clock::time_point t);

}  // namespace ehp
