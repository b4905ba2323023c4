// The data path's threads: one io_context each, run by one thread, so everything a connection
// does (and every call relayed on it) stays on one thread without locks.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace ehp {

class IoThreads {
 public:
  // `count` threads named "<name>-0", "<name>-1", ...; not started yet.
  IoThreads(int count, std::string name);
  ~IoThreads();
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

  void Start();
  // Stops every loop and joins the threads (handlers not run yet are dropped).
  void Stop();

  int size() const { return static_cast<int>(contexts_.size()); }
  boost::asio::io_context& context(int i) { return *contexts_[i]; }

 private:
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  const std::string name_;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<WorkGuard> guards_;
  std::vector<std::thread> threads_;
};

}  // namespace ehp
