// One I/O thread of the data path and everything it owns: its client connections, its
// connections to each member and to the proxy's own gRPC relay, and the calls relayed between
// them. A call never changes thread, so none of this is locked; other threads reach a worker
// only by posting onto its io_context.
#pragma once

#include <atomic>
#include <memory>
#include <unordered_map>

#include "proxy/datapath/member_links.h"
#include "proxy/h2/server_connection.h"

namespace ehp {

class DataPath;

class Worker final : public RequestDispatcher {
 public:
  Worker(DataPath& path, boost::asio::io_context& io, int index);
  ~Worker() override;

  // On this thread: a client connected (the listener accepted `fd`).
  void Adopt(int fd);
  // On this thread: GOAWAY to every client (they open no new streams here).
  void GoAway();
  // On this thread: closes every connection at once.
  void CloseAll();

  // RequestDispatcher
  void Dispatch(ServerConnection& connection, H2Stream& stream, HeaderList headers,
                bool end_stream) override;

  boost::asio::io_context& io() const { return io_; }
  int index() const { return index_; }
  // Client connections open on this thread (read from any thread).
  int64_t clients() const { return client_count_.load(std::memory_order_relaxed); }

 private:
  void OnClientClosed(ServerConnection* connection);
  // The connections to the proxy's own gRPC relay, which serves what this path does not yet.
  MemberLinks& Legacy();

  DataPath& path_;
  boost::asio::io_context& io_;
  const int index_;
  std::unordered_map<ServerConnection*, std::shared_ptr<ServerConnection>> clients_;
  std::atomic<int64_t> client_count_{0};
  std::unique_ptr<MemberLinks> legacy_;
};

}  // namespace ehp
