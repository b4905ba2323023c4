// One I/O thread of the data path and everything it owns: its client connections, its
// connections to each member, and the calls relayed between them. A call never changes thread, so
// none of this is locked; other threads reach a worker only by posting onto its io_context.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <unordered_map>

#include "proxy/config/proxy_config.h"
#include "proxy/core/intrusive_list.h"
#include "proxy/datapath/call_metrics.h"
#include "proxy/datapath/member_links.h"
#include "proxy/h2/server_connection.h"
#include "proxy/relay/relay_context.h"

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

  // This thread's connections to `member` (dialled on first use).
  MemberLinks& LinksTo(const std::shared_ptr<Member>& member);
  // Lists a read in flight on `member`, so an eviction moves it (the node unlinks itself).
  void AddMovable(const Member& member, ListNode& node);
  // Lists a read that may get a hedge; checked every few milliseconds while listed.
  void AddHedgeable(ListNode& node);
  // On this thread: the reads in flight on `member` go elsewhere (it was evicted or drained).
  void MoveOff(const Member* member);
  // On this thread: connections to members dialled from now on use `tls`.
  void SetMemberTls(SslCtxPtr tls);

  boost::asio::io_context& io() const { return io_; }
  int index() const { return index_; }
  const Config& config() const;
  const RelayContext& relay() const;
  // What this thread's calls add to the metrics as they end.
  CallMetrics& call_metrics() { return call_metrics_; }
  // Client connections open on this thread (read from any thread).
  int64_t clients() const { return client_count_.load(std::memory_order_relaxed); }

 private:
  void OnClientClosed(ServerConnection* connection);

  struct MemberSlot {
    std::unique_ptr<MemberLinks> links;
    NodeList movable;  // reads in flight on the member (UnaryCall::Attempt::movable)
  };
  void ArmHedgeTimer();
  void OnHedgeTick();

  DataPath& path_;
  boost::asio::io_context& io_;
  const int index_;
  // By member; a member replaced by a reload leaves its slot until its calls are gone.
  std::unordered_map<const Member*, MemberSlot> members_;
  NodeList hedgeable_;
  CallMetrics call_metrics_;
  boost::asio::steady_timer hedge_timer_;
  bool hedge_armed_ = false;
  std::unordered_map<ServerConnection*, std::shared_ptr<ServerConnection>> clients_;
  std::atomic<int64_t> client_count_{0};
};

}  // namespace ehp
