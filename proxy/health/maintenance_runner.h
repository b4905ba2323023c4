// Runs POST /maintenance/defragment on a thread of its own: one member at a time, drain (its
// streams move within stream-close-window), Defragment, wait until the probes show it caught up
// (good rounds in a row), undrain, next. The decisions are MaintenancePlan's; the cluster is
// reached through MaintenanceCluster. One operation at a time; progress and the last outcome
// are kept for /status, each step goes to /events.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "proxy/health/maintenance_plan.h"

namespace ehp {

// What the runner acts on; implemented over the running proxy.
class MaintenanceCluster {
 public:
  virtual ~MaintenanceCluster() = default;
  // The members as the last probe round saw them; *rounds: probe rounds judged so far.
  virtual std::vector<MaintenanceMember> Members(uint64_t* rounds) = 0;
  virtual bool SetDrained(const std::string& member, bool drained) = 0;
  // Maintenance.Defragment on the member; empty on success, else etcd's error.
  virtual std::string Defragment(const std::string& member, std::chrono::milliseconds timeout) = 0;
  // Ends a Defragment in flight (shutdown).
  virtual void CancelCalls() = 0;
  // One step of an operation, for /events and the log.
  virtual void Record(const std::string& member, const std::string& operation,
                      const std::string& step) = 0;
};

struct MaintenanceTimings {
  std::chrono::milliseconds timeout{300000};  // one Defragment; then its catching up
  std::chrono::milliseconds settle{1500};     // after a drain, before Defragment (streams move)
  std::chrono::milliseconds poll{20};         // how often the probes' view is read
  int caught_up_rounds = 3;                   // good rounds in a row
};

class MaintenanceRunner {
 public:
  MaintenanceRunner(MaintenanceCluster* cluster, MaintenanceTimings timings)
      : cluster_(cluster), timings_(timings) {}
  ~MaintenanceRunner() { Stop(); }

  struct Progress {
    std::string operation;          // "defragment"
    std::vector<std::string> plan;  // the members, in order
    std::string member;             // the one being worked on; empty between members
    std::string step;               // "waiting", "draining", "defragmenting", "catching_up"
    std::vector<std::string> done;  // members finished
    std::chrono::system_clock::time_point started;
    std::chrono::system_clock::time_point finished;  // the last outcome only
    std::string result;  // the last outcome only: "done", or "failed: why"
  };

  // Starts defragmenting every member; *plan gets the order. Refused (nothing started) per
  // CheckDefragment.
  MaintenanceRefusal StartDefragment(std::vector<std::string>* plan);
  // The operation running now, if any.
  std::optional<Progress> Current() const;
  // The outcome of the last finished operation, if any.
  std::optional<Progress> Last() const;
  // Empty when none runs, else its name (for refusals of other operations).
  std::string Running() const;
  // Ends the operation in flight (the member being worked on stays as it is) and joins.
  void Stop();

 private:
  void Defragment(Progress progress);
  // Defragments one member; empty on success, else why the operation stops.
  std::string DefragmentOne(const std::string& name);
  // Polls the probes' view until `done(members)` or the timeout; false on timeout or Stop.
  bool WaitFor(const std::function<bool(std::span<const MaintenanceMember>, uint64_t)>& done,
               std::chrono::milliseconds timeout);
  void SetStep(const std::string& member, const std::string& step);
  bool Sleep(std::chrono::milliseconds d);  // false when stopping

  MaintenanceCluster* const cluster_;
  const MaintenanceTimings timings_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Progress> current_;  // guarded by mu_
  std::optional<Progress> last_;     // guarded by mu_
  bool stopping_ = false;            // guarded by mu_
  std::thread thread_;               // started and joined under start_mu_
  std::mutex start_mu_;
};

}  // namespace ehp
