#include "proxy/net/io_threads.h"

#include <pthread.h>

namespace ehp {

IoThreads::IoThreads(int count, std::string name) : name_(std::move(name)) {
  for (int i = 0; i < count; ++i) {
    // Concurrency hint 1: each context is run by exactly one thread, so Asio skips its locks.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
  }
}

IoThreads::~IoThreads() { Stop(); }

void IoThreads::Start() {
  for (size_t i = 0; i < contexts_.size(); ++i) {
    guards_.push_back(boost::asio::make_work_guard(*contexts_[i]));
    threads_.emplace_back([this, i] {
      // Thread names show in top and in stack dumps ("ehp-io-0").
      const std::string thread_name = (name_ + "-" + std::to_string(i)).substr(0, 15);
      pthread_setname_np(pthread_self(), thread_name.c_str());
      contexts_[i]->run();
    });
  }
}

void IoThreads::Stop() {
  guards_.clear();
  for (auto& c : contexts_) c->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace ehp
