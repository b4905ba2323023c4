#include "proxy/relay/call_hold.h"

namespace ehp {
namespace {

// How often a held call is offered to the routing again. The health checker publishes member
// changes every probe-interval (100 ms by default); this only bounds the extra delay.
constexpr std::chrono::milliseconds kRetryEvery{20};
// A held call gives up this long before the client's deadline, so the client gets the reason
// rather than DEADLINE_EXCEEDED.
constexpr std::chrono::milliseconds kDeadlineMargin{50};

}  // namespace

CallHold::Result CallHold::Wait(const grpc::CallbackServerContext& context, int64_t bytes,
                                std::function<void()> retry) {
  const auto now = std::chrono::steady_clock::now();
  if (!held_) {
    if (expired_ || max_wait_ <= std::chrono::milliseconds(0)) return Result::kExpired;
    if (relay_.holder != nullptr && !relay_.holder->Admit(bytes)) {
      if (relay_.metrics != nullptr) relay_.metrics->held.Inc({"refused"});
      return Result::kRefused;
    }
    held_ = true;
    bytes_ = bytes;
    start_ = now;
    until_ = now + max_wait_;
    const auto deadline = context.deadline();
    if (deadline != std::chrono::system_clock::time_point::max()) {
      const auto left = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          deadline - std::chrono::system_clock::now() - kDeadlineMargin);
      until_ = std::min(until_, now + left);
    }
  }
  if (now + kRetryEvery >= until_) {
    End("expired");
    expired_ = true;
    return Result::kExpired;
  }
  fired_ = std::move(alarm_);
  alarm_ = std::make_unique<grpc::Alarm>();
  alarm_->Set(std::chrono::system_clock::now() + kRetryEvery,
              [retry = std::move(retry)](bool) { retry(); });
  return Result::kWaiting;
}

void CallHold::End(const char* outcome) {
  if (!held_) return;
  held_ = false;
  if (relay_.holder != nullptr) relay_.holder->Release(bytes_);
  if (relay_.metrics != nullptr) {
    relay_.metrics->held.Inc({outcome});
    relay_.metrics->hold_duration.Observe(
        {}, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
}

grpc::Status HoldRefused(const CallHolder& holder, const std::string& reasons) {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      reasons + "; not held: " + std::to_string(holder.calls()) +
                          " calls are waiting already (max-held-calls " +
                          std::to_string(holder.max_calls()) + ", max-held-bytes " +
                          std::to_string(holder.max_bytes()) + ")");
}

}  // namespace ehp
