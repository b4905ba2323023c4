// Tells the service manager how the proxy is doing, through sd_notify(3): READY=1 once serving,
// STATUS= with a one-line summary whenever it changes, RELOADING=1 / READY=1 around a reload,
// STOPPING=1 on shutdown, and WATCHDOG=1 only while the proxy's own loops are alive, so that a
// hung proxy stops pinging and systemd restarts it. Without NOTIFY_SOCKET every call is a no-op.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace ehp {

class ServiceNotifier {
 public:
  // `status` gives the current summary line; `alive` says whether the loops still turn (with
  // the reason when not). Both are called on the notifier's thread.
  using StatusFn = std::function<std::string()>;
  using AliveFn = std::function<bool(std::string* why)>;
  ServiceNotifier(StatusFn status, AliveFn alive);
  ~ServiceNotifier();

  // Starts the thread that sends status changes and watchdog pings, and sends READY=1.
  void Ready();
  void Reloading();
  // After a reload: READY=1 with the current status.
  void Reloaded();
  // Sends STOPPING=1 and stops the thread.
  void Stopping();

  // The watchdog interval systemd asked for (WATCHDOG_USEC); zero when none.
  std::chrono::microseconds watchdog_interval() const { return watchdog_; }
  bool connected() const { return connected_; }

 private:
  void Loop();
  void StopThread();
  void Send(const std::string& message);

  const StatusFn status_;
  const AliveFn alive_;
  const bool connected_;                      // NOTIFY_SOCKET is set
  const std::chrono::microseconds watchdog_;  // zero: no watchdog
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;    // guarded by mu_
  std::string last_status_;  // notifier thread only
  std::thread thread_;
};

}  // namespace ehp
