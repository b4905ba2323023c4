#include "proxy/service/service_notifier.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace ehp {
namespace {

// How often the status line is recomputed: often enough that `systemctl status` follows an
// eviction within a second, cheap enough (one snapshot of the health view) to not matter.
constexpr std::chrono::milliseconds kStatusPeriod{250};

std::chrono::microseconds WatchdogInterval() {
  uint64_t usec = 0;
  // Checks WATCHDOG_PID too: a watchdog meant for another process is not ours.
  if (sd_watchdog_enabled(0, &usec) > 0) return std::chrono::microseconds(usec);
  return std::chrono::microseconds(0);
}

uint64_t MonotonicMicros() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

}  // namespace

ServiceNotifier::ServiceNotifier(StatusFn status, AliveFn alive,
                                 std::shared_ptr<Scheduler> scheduler)
    : status_(std::move(status)),
      alive_(std::move(alive)),
      connected_(std::getenv("NOTIFY_SOCKET") != nullptr),
      watchdog_(WatchdogInterval()),
      jobs_(std::move(scheduler)) {}

ServiceNotifier::~ServiceNotifier() { jobs_.Close(); }

void ServiceNotifier::Send(const std::string& message) {
  if (!connected_) return;
  const int r = sd_notify(0, message.c_str());
  if (r < 0) spdlog::warn("sd_notify failed: {}", std::strerror(-r));
}

void ServiceNotifier::Ready() {
  last_status_ = status_();
  Send("READY=1\nSTATUS=" + last_status_);
  if (connected_ && watchdog_.count() > 0) {
    spdlog::info("systemd watchdog every {} ms; pinged while the proxy's loops are alive",
                 watchdog_.count() / 1000);
  }
  if (connected_ && !started_) {
    started_ = true;
    next_ping_ = jobs_.Now();
    jobs_.Post([this] { Tick(); });
  }
}

void ServiceNotifier::Reloading() {
  // MONOTONIC_USEC lets Type=notify-reload (systemd 253+) match this message to its SIGHUP.
  Send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(MonotonicMicros()) +
       "\nSTATUS=reloading the configuration");
}

void ServiceNotifier::Reloaded() { Send("READY=1\nSTATUS=" + status_()); }

void ServiceNotifier::Stopping() {
  // The pings first: one sent after STOPPING=1 (seen once in a test) would tell systemd a
  // stopping service is still running normally.
  jobs_.Close();
  Send("STOPPING=1\nSTATUS=stopping: draining streams and calls");
}

void ServiceNotifier::Tick() {
  using Clock = Scheduler::Clock;
  // systemd's advice: ping at half the interval, so one late wake-up does not cost a restart.
  const auto ping_every = watchdog_ / 2;
  const auto period = watchdog_.count() > 0
                          ? std::min<Clock::duration>(kStatusPeriod, ping_every / 2)
                          : Clock::duration(kStatusPeriod);
  std::string status = status_();
  if (status != last_status_) {
    last_status_ = status;
    Send("STATUS=" + status);
  }
  if (watchdog_.count() > 0 && jobs_.Now() >= next_ping_) {
    std::string why;
    const bool alive = alive_(&why);
    if (alive) {
      Send("WATCHDOG=1");
      next_ping_ = jobs_.Now() + ping_every;
      if (!was_alive_) spdlog::warn("watchdog: the proxy's loops are alive again; pinging");
    } else if (was_alive_) {
      spdlog::error("watchdog: not pinging systemd, {}; it will restart the proxy", why);
    }
    was_alive_ = alive;
  }
  jobs_.After(period, [this] { Tick(); });
}

}  // namespace ehp
