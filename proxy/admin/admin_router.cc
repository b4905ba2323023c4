#include "proxy/admin/admin_router.h"

#include <string_view>

#include "proxy/admin/status_page.h"

namespace ehp {
namespace {

AdminResponse Text(int status, std::string body) {
  AdminResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

AdminResponse Json(std::string body) {
  AdminResponse r;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

AdminResponse Json(const AdminBackend::Action& action) {
  AdminResponse r = Json(action.json);
  r.status = action.status;
  return r;
}

AdminResponse MethodNotAllowed(std::string allow) {
  AdminResponse r = Text(405, "method not allowed\n");
  r.allow = std::move(allow);
  return r;
}

// /livez and /readyz: 200 "ok" or 503 naming the failed checks; ?verbose lists every check.
AdminResponse Checks(const std::vector<AdminBackend::Check>& checks, bool verbose) {
  bool ok = true;
  std::string body;
  for (const auto& c : checks) {
    ok = ok && c.ok;
    if (verbose || !c.ok) {
      body += std::string(c.ok ? "[+]" : "[-]") + c.name + (c.ok ? " ok" : " failed") +
              (c.detail.empty() ? "" : ": " + c.detail) + "\n";
    }
  }
  body += ok ? "ok\n" : "not ok\n";
  return Text(ok ? 200 : 503, body);
}

}  // namespace

AdminResponse RouteAdmin(const AdminRequest& req, AdminBackend& backend) {
  std::string_view target = req.target;
  std::string_view query;
  if (const size_t q = target.find('?'); q != std::string_view::npos) {
    query = target.substr(q + 1);
    target = target.substr(0, q);
  }
  const bool verbose = query == "verbose" || query.starts_with("verbose&") ||
                       query.find("&verbose") != std::string_view::npos;
  const bool get = req.method == "GET" || req.method == "HEAD";

  if (target == "/") {
    if (!get) return MethodNotAllowed("GET, HEAD");
    return StatusPage(req.trusted);
  }
  if (target == "/metrics" || target == "/livez" || target == "/readyz" || target == "/status" ||
      target == "/events") {
    if (!get) return MethodNotAllowed("GET, HEAD");
    if (target == "/metrics") {
      AdminResponse r = Text(200, backend.MetricsText());
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      return r;
    }
    if (target == "/livez") return Checks(backend.LivenessChecks(), verbose);
    if (target == "/readyz") return Checks(backend.ReadinessChecks(), verbose);
    if (target == "/status") return Json(backend.StatusJson());
    return Json(backend.EventsJson());
  }

  constexpr std::string_view kUntrusted =
      " need a loopback client (http admin plane) or a verified client certificate (https)\n";
  if (target == "/maintenance/defragment") {
    if (req.method != "POST") return MethodNotAllowed("POST");
    if (!req.trusted) return Text(403, "maintenance operations" + std::string(kUntrusted));
    return Json(backend.StartDefragment());
  }

  // POST /members/{name}/drain, /members/{name}/undrain and /members/{name}/move-leader
  constexpr std::string_view kMembers = "/members/";
  if (target.starts_with(kMembers)) {
    const std::string_view rest = target.substr(kMembers.size());
    const size_t slash = rest.rfind('/');
    const std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    const std::string name(slash == std::string_view::npos ? "" : rest.substr(0, slash));
    if ((action != "drain" && action != "undrain" && action != "move-leader") || name.empty()) {
      return Text(404, "not found\n");
    }
    if (req.method != "POST") return MethodNotAllowed("POST");
    if (!req.trusted) {
      return Text(403, (action == "move-leader" ? std::string("move-leader")
                                                : std::string("drain and undrain")) +
                           std::string(kUntrusted));
    }
    if (action == "move-leader") return Json(backend.MoveLeader(name));
    if (!backend.SetDrained(name, action == "drain")) {
      return Text(404, "no member named \"" + name + "\"\n");
    }
    return Text(200, std::string(action == "drain" ? "drained " : "undrained ") + name + "\n");
  }
  return Text(404, "not found\n");
}

}  // namespace ehp
