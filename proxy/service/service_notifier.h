// Tells the service manager how the proxy is doing, through sd_notify(3): READY=1 once serving,
// STATUS= with a one-line summary whenever it changes, RELOADING=1 / READY=1 around a reload,
// STOPPING=1 on shutdown, and WATCHDOG=1 only while the proxy's own loops are alive, so that a
// hung proxy stops pinging and systemd restarts it. Without NOTIFY_SOCKET every call is a no-op.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "proxy/core/job_group.h"

namespace ehp {

class ServiceNotifier {
 public:
  // `status` gives the current summary line; `alive` says whether the loops still turn (with
  // the reason when not). Both are called on `scheduler`'s thread: the timer thread the probe
  // rounds run on, so a stuck timer thread stops the pings too.
  using StatusFn = std::function<std::string()>;
  using AliveFn = std::function<bool(std::string* why)>;
  ServiceNotifier(StatusFn status, AliveFn alive, std::shared_ptr<Scheduler> scheduler);
  ~ServiceNotifier();

  // Sends READY=1, then status changes and watchdog pings from jobs on the scheduler.
  void Ready();
  void Reloading();
  // After a reload: READY=1 with the current status.
  void Reloaded();
  // Ends the pings, then sends STOPPING=1.
  void Stopping();

  // The watchdog interval systemd asked for (WATCHDOG_USEC); zero when none.
  std::chrono::microseconds watchdog_interval() const { return watchdog_; }
  bool connected() const { return connected_; }

 private:
  // One look: the status line if it changed, a watchdog ping when due; then the next look.
  void Tick();
  void Send(const std::string& message);

  const StatusFn status_;
  const AliveFn alive_;
  const bool connected_;                      // NOTIFY_SOCKET is set
  const std::chrono::microseconds watchdog_;  // zero: no watchdog
  bool started_ = false;                      // Ready() ran; the caller's thread only
  std::string last_status_;                   // set by Ready(), then the jobs' alone
  Scheduler::TimePoint next_ping_;            // the jobs' alone
  bool was_alive_ = true;                     // the jobs' alone
  JobGroup jobs_;                             // last: closed before what its jobs use goes
};

}  // namespace ehp
