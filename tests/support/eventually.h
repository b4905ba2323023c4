// Waits for a condition instead of sleeping a guessed time: true as soon as `done()` holds,
// false once `timeout` has passed (and a last look failed). Every integration suite's waits go
// through it.
#pragma once

#include <chrono>
#include <thread>

namespace ehp::testing {

template <typename Done>
bool Eventually(Done&& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = std::chrono::milliseconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(every);
  }
  return done();
}

}  // namespace ehp::testing
