// Why etcd refused a probe for want of an identity (auth enabled on the cluster). etcd 3.5.28 and
// later answer Maintenance.Status only to a user with the root role; a linearizable Range is
// refused for permissions only after its read index round trip, so a refused read still proves
// the quorum. Pure: a gRPC code and message in, a kind out.
#pragma once

#include <string_view>

namespace ehp {

enum class AuthRefusal {
  kNone,          // not an auth refusal
  kNoUser,        // "user name is empty": no token, and no usable client certificate CN
  kUnknownUser,   // "user name not found": the token's or the certificate CN's user is unknown
  kNotPermitted,  // "permission denied": the user lacks the role (Status: root)
  kBadPassword,   // "authentication failed" (Authenticate)
  kTokenInvalid,  // "invalid auth token": expired or unknown token; a new one is needed
  kTokenStale,    // "revision of auth store is old": users or roles changed; a new token
};

// `code` is a grpc::StatusCode.
AuthRefusal ClassifyAuthRefusal(int code, std::string_view message);

// True when a new token (Authenticate again) may cure it.
bool NeedsNewToken(AuthRefusal refusal);

// "no_user", "unknown_user", ... (logs, tests).
std::string_view ToString(AuthRefusal refusal);

}  // namespace ehp
