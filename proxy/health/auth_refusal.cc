#include "proxy/health/auth_refusal.h"

namespace ehp {
namespace {

constexpr int kInvalidArgument = 3;
constexpr int kFailedPrecondition = 9;
constexpr int kPermissionDenied = 7;
constexpr int kUnauthenticated = 16;

bool Contains(std::string_view message, std::string_view text) {
  return message.find(text) != std::string_view::npos;
}

}  // namespace

AuthRefusal ClassifyAuthRefusal(int code, std::string_view m) {
  // The codes etcd's rpctypes give these errors; a message alone (another code) is not enough.
  switch (code) {
    case kUnauthenticated:
      return AuthRefusal::kTokenInvalid;
    case kPermissionDenied:
      return AuthRefusal::kNotPermitted;
    case kInvalidArgument:
      if (Contains(m, "etcdserver: user name is empty")) return AuthRefusal::kNoUser;
      if (Contains(m, "etcdserver: revision of auth store is old")) return AuthRefusal::kTokenStale;
      if (Contains(m, "etcdserver: authentication failed")) return AuthRefusal::kBadPassword;
      return AuthRefusal::kNone;
    case kFailedPrecondition:
      if (Contains(m, "etcdserver: user name not found")) return AuthRefusal::kUnknownUser;
      if (Contains(m, "etcdserver: role is not granted to the user")) {
        return AuthRefusal::kNotPermitted;
      }
      return AuthRefusal::kNone;
    default:
      return AuthRefusal::kNone;
  }
}

bool NeedsNewToken(AuthRefusal r) {
  return r == AuthRefusal::kTokenInvalid || r == AuthRefusal::kTokenStale;
}

std::string_view ToString(AuthRefusal r) {
  switch (r) {
    case AuthRefusal::kNone:
      return "none";
    case AuthRefusal::kNoUser:
      return "no_user";
    case AuthRefusal::kUnknownUser:
      return "unknown_user";
    case AuthRefusal::kNotPermitted:
      return "not_permitted";
    case AuthRefusal::kBadPassword:
      return "bad_password";
    case AuthRefusal::kTokenInvalid:
      return "token_invalid";
    case AuthRefusal::kTokenStale:
      return "token_stale";
  }
  return "none";
}

}  // namespace ehp
