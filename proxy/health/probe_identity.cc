#include "proxy/health/probe_identity.h"

namespace ehp {
namespace {

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

constexpr std::string_view kMeanwhile =
    "; until then each member is judged by its linearizable probe read alone (no leader, cut "
    "off or frozen still evicts; the leader, term, lag and alarm checks are off)";

}  // namespace

std::string Describe(const ProbeIdentity& id) {
  if (!id.user.empty()) return "user " + Quoted(id.user);
  if (!id.cert_name.empty()) return "certificate CN " + Quoted(id.cert_name);
  return "none";
}

std::string ProbeAuthAdvice(const ProbeIdentity& id, AuthRefusal refusal, std::string_view error,
                            std::string_view authenticate_error) {
  std::string out = "etcd refuses the health probes' Maintenance.Status (" + std::string(error) +
                    ", as " + Describe(id) + "): ";
  if (!id.user.empty()) {
    if (!authenticate_error.empty()) {
      out += "Authenticate as " + Quoted(id.user) + " fails (" + std::string(authenticate_error) +
             "): check that the user exists and that --probe-password-file holds its password";
    } else if (refusal == AuthRefusal::kNoUser || NeedsNewToken(refusal)) {
      out += "no token of " + Quoted(id.user) + " reached the member yet";
    } else {
      out += "grant " + Quoted(id.user) + " the root role (etcdctl user grant-role " + id.user +
             " root): etcd 3.5.28 and later answer Status only to root";
    }
  } else {
    out +=
        "set --probe-user and --probe-password-file to an etcd user with the root role "
        "(etcd 3.5.28 and later answer Status only to root)";
    if (!id.cert_name.empty()) {
      out += ", or make " + Quoted(id.cert_name) +
             " (the CN of --cert) such a user, knowing that every call relayed through the "
             "proxy without credentials of its own then runs as it";
    }
  }
  return out + std::string(kMeanwhile);
}

ProbeAuthState SummarizeProbeAuth(std::span<const ProbeResult> results, const ProbeIdentity& id) {
  ProbeAuthState out;
  for (const ProbeResult& r : results) {
    if (r.status != ProbeResult::Status::kAuth) continue;
    if (out.refused++ == 0) out.error = r.status_error;
    // Cured by an Authenticate under way: the first rounds before a token arrives, and a token
    // etcd just called invalid or stale. Unless Authenticate itself fails.
    const bool transient = r.authenticate_error.empty() &&
                           (NeedsNewToken(r.auth) || (!id.user.empty() && !r.token_sent));
    if (!transient && out.advice.empty()) {
      out.advice = ProbeAuthAdvice(id, r.auth, r.status_error, r.authenticate_error);
    }
  }
  return out;
}

}  // namespace ehp
