// A MemberProber whose answers the test sets per member. Answers at once (inside Probe) unless
// the member is held: then its callbacks wait until the test calls Release, as a probe that
// has not come back yet.
#pragma once

#include <functional>
#include <mutex>
#include <vector>

#include "proxy/health/member_prober.h"

namespace ehp::testing {

class FakeProber final : public MemberProber {
 public:
  explicit FakeProber(std::vector<ProbeResult> answers)
      : answers_(std::move(answers)), held_(answers_.size(), false), waiting_(answers_.size()) {}

  void Probe(size_t index, std::function<void(ProbeResult)> done) override {
    ProbeResult answer;
    {
      std::lock_guard lock(mu_);
      ++probes_;
      if (held_[index]) {
        waiting_[index].push_back(std::move(done));
        return;
      }
      answer = answers_[index];
    }
    done(std::move(answer));
  }
  size_t size() const override { return answers_.size(); }

  void Set(size_t index, ProbeResult answer) {
    std::lock_guard lock(mu_);
    answers_[index] = std::move(answer);
  }
  ProbeResult Get(size_t index) const {
    std::lock_guard lock(mu_);
    return answers_[index];
  }
  void Hold(size_t index) {
    std::lock_guard lock(mu_);
    held_[index] = true;
  }
  // Answers the held probes of `index` with its current answer, and stops holding it.
  void Release(size_t index) {
    std::vector<std::function<void(ProbeResult)>> waiting;
    ProbeResult answer;
    {
      std::lock_guard lock(mu_);
      held_[index] = false;
      waiting.swap(waiting_[index]);
      answer = answers_[index];
    }
    for (auto& done : waiting) done(answer);
  }
  int probes() const {
    std::lock_guard lock(mu_);
    return probes_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<ProbeResult> answers_;                                    // guarded by mu_
  std::vector<bool> held_;                                              // guarded by mu_
  std::vector<std::vector<std::function<void(ProbeResult)>>> waiting_;  // guarded by mu_
  int probes_ = 0;                                                      // guarded by mu_
};

}  // namespace ehp::testing
