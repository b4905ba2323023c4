// Who the health probes are to etcd when it has auth enabled, and what to tell an operator when
// etcd refuses them. etcd 3.5.28 and later answer Maintenance.Status only to a user with the root
// role; without such an identity the members are judged from what still works (the linearizable
// probe read). Pure: strings in, text out.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "proxy/health/auth_refusal.h"
#include "proxy/health/probe_result.h"

namespace ehp {

struct ProbeIdentity {
  std::string user;       // --probe-user (token from Authenticate); empty: none
  std::string cert_name;  // CN of --cert: etcd's user for calls without a token
                          // (--client-cert-auth); empty: no certificate or no CN
};

// "user \"probe\"", "certificate CN \"etcd-client\"" or "none".
std::string Describe(const ProbeIdentity& identity);

// One line saying what to configure so etcd answers the probes, from the refusal of Status
// (`refusal`, `error` as etcd worded it) and the last Authenticate failure (empty: none).
std::string ProbeAuthAdvice(const ProbeIdentity& identity, AuthRefusal refusal,
                            std::string_view error, std::string_view authenticate_error);

// What one probe round says about the probes' identity, for /status, /readyz and the log.
struct ProbeAuthState {
  int refused = 0;    // members whose Status was refused for auth
  std::string error;  // etcd's words, from the first of them
  // What to configure; empty when nothing refused, or while a token is only being obtained or
  // renewed (a refusal an Authenticate under way will cure).
  std::string advice;
};
ProbeAuthState SummarizeProbeAuth(std::span<const ProbeResult> results,
                                  const ProbeIdentity& identity);

}  // namespace ehp
