#include "proxy/routing/write_progress.h"

namespace ehp {
namespace {

int64_t Ns(WriteProgress::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

void WriteProgress::Begin(Clock::time_point now) {
  // The first write in flight starts the clock; later ones do not push it back.
  if (in_flight_.fetch_add(1, std::memory_order_acq_rel) == 0) Advance(now);
}

void WriteProgress::End(Clock::time_point now, bool answered) {
  if (answered) Advance(now);
  in_flight_.fetch_sub(1, std::memory_order_acq_rel);
}

void WriteProgress::Confirmed(Clock::time_point probe_start) { Advance(probe_start); }

bool WriteProgress::Stuck(Clock::time_point now, std::chrono::milliseconds after) const {
  if (in_flight_.load(std::memory_order_acquire) <= 0) return false;
  return Ns(now) - progress_ns_.load(std::memory_order_acquire) >
         std::chrono::duration_cast<std::chrono::nanoseconds>(after).count();
}

void WriteProgress::Advance(Clock::time_point t) {
  const int64_t ns = Ns(t);
  int64_t seen = progress_ns_.load(std::memory_order_relaxed);
  while (seen < ns && !progress_ns_.compare_exchange_weak(seen, ns, std::memory_order_acq_rel)) {
  }
}

bool AnsweredByQuorum(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::UNAUTHENTICATED:
      return true;
    default:
      return false;
  }
}

}  // namespace ehp
