#include "proxy/health/maintenance_runner.h"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace ehp {
namespace {

constexpr char kDefragment[] = "defragment";

std::string Seconds(std::chrono::steady_clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f s", std::chrono::duration<double>(d).count());
  return buf;
}

// Index of `name` in `members`, or members.size().
size_t Find(std::span<const MaintenanceMember> members, const std::string& name) {
  size_t i = 0;
  while (i < members.size() && members[i].name != name) ++i;
  return i;
}

}  // namespace

MaintenanceRefusal MaintenanceRunner::StartDefragment(std::vector<std::string>* plan) {
  std::lock_guard start(start_mu_);
  uint64_t rounds = 0;
  const std::vector<MaintenanceMember> members = cluster_->Members(&rounds);
  Progress progress;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return MaintenanceRefusal{"stopping", "the proxy is shutting down"};
    const MaintenanceRefusal refusal =
        CheckDefragment(members, current_ ? current_->operation : std::string());
    if (refusal.refused()) return refusal;
    progress.operation = kDefragment;
    for (size_t i : DefragmentOrder(members)) progress.plan.push_back(members[i].name);
    progress.started = std::chrono::system_clock::now();
    current_ = progress;
  }
  *plan = progress.plan;
  // A thread from an earlier operation has finished (current_ was empty): reap it.
  if (thread_.joinable()) thread_.join();
  thread_ = std::thread([this, progress] { Defragment(progress); });
  return {};
}

std::optional<MaintenanceRunner::Progress> MaintenanceRunner::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

std::optional<MaintenanceRunner::Progress> MaintenanceRunner::Last() const {
  std::lock_guard lock(mu_);
  return last_;
}

std::string MaintenanceRunner::Running() const {
  std::lock_guard lock(mu_);
  return current_ ? current_->operation : std::string();
}

void MaintenanceRunner::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  cluster_->CancelCalls();
  std::lock_guard start(start_mu_);
  if (thread_.joinable()) thread_.join();
}

bool MaintenanceRunner::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void MaintenanceRunner::SetStep(const std::string& member, const std::string& step) {
  std::lock_guard lock(mu_);
  if (!current_) return;
  current_->member = member;
  current_->step = step;
}

bool MaintenanceRunner::WaitFor(
    const std::function<bool(std::span<const MaintenanceMember>, uint64_t)>& done,
    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    uint64_t rounds = 0;
    const std::vector<MaintenanceMember> members = cluster_->Members(&rounds);
    if (done(members, rounds)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (!Sleep(timings_.poll)) return false;
  }
}

void MaintenanceRunner::Defragment(Progress progress) {
  spdlog::info("maintenance: defragmenting {} members one at a time", progress.plan.size());
  std::string failure;
  for (const std::string& name : progress.plan) {
    failure = DefragmentOne(name);
    if (!failure.empty()) break;
    std::lock_guard lock(mu_);
    current_->done.push_back(name);
    current_->member.clear();
    current_->step.clear();
  }
  const std::string result = failure.empty() ? "done" : "failed: " + failure;
  std::string last_member;
  {
    std::lock_guard lock(mu_);
    last_member = current_->member.empty() ? progress.plan.back() : current_->member;
  }
  cluster_->Record(last_member, kDefragment, failure.empty() ? "finished" : result);
  if (failure.empty()) {
    spdlog::info("maintenance: every member defragmented");
  } else {
    spdlog::error("maintenance: defragmentation stopped: {}", failure);
  }
  std::lock_guard lock(mu_);
  last_ = current_;
  last_->result = result;
  last_->finished = std::chrono::system_clock::now();
  current_.reset();
}

std::string MaintenanceRunner::DefragmentOne(const std::string& name) {
  // Never the last usable member, never two out at once: every other member must take calls
  // (the one before this was undrained once it had caught up, so this holds at once normally).
  SetStep(name, "waiting");
  std::string why;
  bool gone = false;
  const bool may_take_out = WaitFor(
      [&](std::span<const MaintenanceMember> members, uint64_t) {
        const size_t i = Find(members, name);
        if (i == members.size()) return gone = true;
        const MaintenanceRefusal r = CheckTakeOut(members, i);
        why = r.message;
        return !r.refused();
      },
      timings_.timeout);
  if (gone) return "member " + name + " is no longer configured";
  if (!may_take_out) return "stopped before " + name + ": " + (why.empty() ? "stopping" : why);

  SetStep(name, "draining");
  if (!cluster_->SetDrained(name, true)) return "member " + name + " is no longer configured";
  cluster_->Record(name, kDefragment, "drained");
  // Its streams move within stream-close-window; then it takes nothing the defragmentation
  // would hold up.
  if (!Sleep(timings_.settle)) return "stopped with " + name + " drained";

  SetStep(name, "defragmenting");
  cluster_->Record(name, kDefragment, "defragmenting");
  spdlog::info("maintenance: Defragment on member {}", name);
  const auto start = std::chrono::steady_clock::now();
  const std::string error = cluster_->Defragment(name, timings_.timeout);
  if (!error.empty()) {
    cluster_->Record(name, kDefragment, "Defragment failed: " + error);
    return "Defragment on " + name + " failed: " + error + "; " + name + " left drained";
  }
  const auto took = std::chrono::steady_clock::now() - start;
  cluster_->Record(name, kDefragment, "defragmented in " + Seconds(took));
  spdlog::info("maintenance: member {} defragmented in {}", name, Seconds(took));

  // Caught up: good rounds in a row (in step, reads working, not late) after Defragment.
  SetStep(name, "catching_up");
  CatchUp catch_up(timings_.caught_up_rounds);
  uint64_t seen = 0;
  bool first = true;
  const auto caught_up_start = std::chrono::steady_clock::now();
  const bool caught_up = WaitFor(
      [&](std::span<const MaintenanceMember> members, uint64_t rounds) {
        const size_t i = Find(members, name);
        if (i == members.size()) return gone = true;
        // Only rounds judged after Defragment returned.
        if (first || rounds == seen) {
          first = false;
          seen = rounds;
          return false;
        }
        seen = rounds;
        return catch_up.Observe(members[i]);
      },
      timings_.timeout);
  if (gone) return "member " + name + " is no longer configured";
  if (!caught_up) {
    cluster_->Record(name, kDefragment, "not caught up; left drained");
    return "member " + name + " did not catch up after Defragment; left drained";
  }

  SetStep(name, "undraining");
  cluster_->SetDrained(name, false);
  cluster_->Record(name, kDefragment,
                   "undrained, caught up " +
                       Seconds(std::chrono::steady_clock::now() - caught_up_start) +
                       " after Defragment");
  return "";
}

}  // namespace ehp
