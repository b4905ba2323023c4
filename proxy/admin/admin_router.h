// The admin plane's routes as a pure function: request in, response out, no sockets. The
// listener and sessions (admin_server) only carry bytes.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ehp {

struct AdminRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, e.g. "/readyz?verbose"
  // May use the mutating endpoints: from loopback (http) or with a verified certificate (https).
  bool trusted = false;
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string allow;                                         // for 405
  std::vector<std::pair<std::string, std::string>> headers;  // more response headers
};

// What the routes read and change; implemented over the running proxy.
class AdminBackend {
 public:
  virtual ~AdminBackend() = default;
  virtual std::string MetricsText() = 0;
  // Each readiness check: name, passed, detail.
  struct Check {
    std::string name;
    bool ok;
    std::string detail;
  };
  virtual std::vector<Check> LivenessChecks() = 0;
  virtual std::vector<Check> ReadinessChecks() = 0;
  virtual std::string StatusJson() = 0;
  virtual std::string EventsJson() = 0;
  // False when there is no member of that name.
  virtual bool SetDrained(const std::string& member, bool drained) = 0;
  // The answer of a maintenance operation: HTTP status and a JSON body.
  struct Action {
    int status;
    std::string json;
  };
  // POST /maintenance/defragment: 202 with the plan (it runs on), or 409 with the reason.
  virtual Action StartDefragment() = 0;
  // POST /members/{name}/move-leader: 200 once leadership moved, 404 (no such member), 409
  // (not the leader, no healthy target, another operation running) or 502 (etcd refused).
  virtual Action MoveLeader(const std::string& member) = 0;
};

AdminResponse RouteAdmin(const AdminRequest& request, AdminBackend& backend);

}  // namespace ehp
