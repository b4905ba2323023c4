#include "proxy/health/probe_token.h"

#include <algorithm>

namespace ehp {

void ProbeToken::Succeeded(std::string token) {
  in_flight_ = false;
  renew_ = false;
  token_ = std::move(token);
  last_error_.clear();
  pause_ = first_pause_;
  next_attempt_ = {};
}

void ProbeToken::Failed(std::string error, TimePoint now) {
  in_flight_ = false;
  last_error_ = std::move(error);
  next_attempt_ = now + pause_;
  pause_ = std::min(pause_ * 2, max_pause_);
}

void ProbeToken::Refused(std::string_view sent, AuthRefusal refusal) {
  // Only about the token in use: a refusal of an older one that was already replaced, or of a
  // probe sent before any token, changes nothing.
  if (NeedsNewToken(refusal) && !sent.empty() && sent == token_) renew_ = true;
}

}  // namespace ehp
