#include "proxy/datapath/worker.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "proxy/datapath/data_path.h"
#include "proxy/datapath/stream_call.h"
#include "proxy/datapath/unary_call.h"

namespace ehp {

Worker::Worker(DataPath& path, boost::asio::io_context& io, int index)
    : path_(path), io_(io), index_(index), call_metrics_(path.relay().metrics), hedge_timer_(io) {}

const Config& Worker::config() const { return path_.config(); }
const RelayContext& Worker::relay() const { return path_.relay(); }

Worker::~Worker() { CloseAll(); }

void Worker::Adopt(int fd) {
  SslPtr ssl(nullptr, SSL_free);
  if (SslCtxPtr tls = path_.client_tls()) {
    ssl.reset(SSL_new(tls.get()));
    if (!ssl) {
      spdlog::error("cannot create a TLS connection: {}", TakeOpenSslError());
      ::close(fd);
      path_.ReleaseConnection();
      return;
    }
    SSL_set_accept_state(ssl.get());
  }
  auto connection = std::make_shared<ServerConnection>(
      io_, path_.client_options(), this, [this](ServerConnection* c) { OnClientClosed(c); });
  clients_.emplace(connection.get(), connection);
  client_count_.fetch_add(1, std::memory_order_relaxed);
  connection->Start(std::make_unique<Transport>(io_, fd, std::move(ssl)));
}

void Worker::OnClientClosed(ServerConnection* connection) {
  const auto it = clients_.find(connection);
  if (it == clients_.end()) return;
  SPDLOG_DEBUG("client {} disconnected: {}", connection->peer(), connection->close_reason());
  clients_.erase(it);  // the connection holds itself until its close is complete
  client_count_.fetch_sub(1, std::memory_order_relaxed);
  path_.ReleaseConnection();
}

void Worker::GoAway() {
  for (const auto& [raw, c] : clients_) c->Shutdown();
}

void Worker::CloseAll() {
  // Copied: each close edits clients_.
  std::vector<std::shared_ptr<ServerConnection>> all;
  for (const auto& [raw, c] : clients_) all.push_back(c);
  for (const auto& c : all) c->Close("the proxy is shutting down");
  for (auto& [member, slot] : members_) slot.links->CloseAll("the proxy is shutting down");
  hedge_timer_.cancel();
}

MemberLinks& Worker::LinksTo(const std::shared_ptr<Member>& shared) {
  const Member& member = *shared;
  auto it = members_.find(&member);
  if (it != members_.end()) return *it->second.links;
  // Slots of members no pool has any more (a reload) go once nothing runs on them.
  for (auto s = members_.begin(); s != members_.end();) {
    if (s->second.movable.empty() && s->second.links->idle() &&
        !path_.relay().upstreams->Get()->Has(s->first)) {
      s = members_.erase(s);
    } else {
      ++s;
    }
  }
  MemberConnection::Target target;
  target.name = member.name();
  target.host = member.url().host;
  target.port = member.url().port;
  if (member.url().tls) target.tls = path_.member_tls();
  MemberSlot& slot = members_[&member];
  const std::weak_ptr<Member> weak = shared;
  MemberLinks::Observer observer;
  observer.failing = [weak](bool failing) {
    if (auto m = weak.lock()) m->LinksFailing(failing);
  };
  observer.up = [weak](int delta) {
    if (auto m = weak.lock()) m->ConnectionUp(delta);
  };
  slot.links = std::make_unique<MemberLinks>(io_, std::move(target), path_.upstream_options(),
                                             path_.connections_per_member(), std::move(observer));
  return *slot.links;
}

void Worker::AddMovable(const Member& member, ListNode& node) {
  members_[&member].movable.PushBack(&node);
}

void Worker::MoveOff(const Member* member) {
  auto it = members_.find(member);
  if (it == members_.end()) return;
  // Unlinked first: moving a call edits the list.
  std::vector<UnaryCall::Attempt*> moving;
  NodeList& list = it->second.movable;
  while (ListNode* node = list.front()) {
    node->Unlink();
    moving.push_back(node->owner<UnaryCall::Attempt>());
  }
  for (UnaryCall::Attempt* a : moving) a->call->MoveOff(*a);
}

void Worker::SetMemberTls(SslCtxPtr tls) {
  for (auto& [member, slot] : members_) {
    if (slot.links->target().tls != nullptr) slot.links->set_tls(tls);
  }
}

void Worker::AddHedgeable(ListNode& node) {
  hedgeable_.PushBack(&node);
  ArmHedgeTimer();
}

void Worker::ArmHedgeTimer() {
  if (hedge_armed_ || hedgeable_.empty()) return;
  hedge_armed_ = true;
  // A quarter of the hedge delay: a hedge goes out at most that late.
  const auto delay = path_.relay().upstreams->Get()->hedge_delay().Get();
  const auto tick = std::clamp<std::chrono::microseconds>(delay / 4, std::chrono::milliseconds(2),
                                                          std::chrono::milliseconds(25));
  hedge_timer_.expires_after(tick);
  hedge_timer_.async_wait([this](const boost::system::error_code& ec) {
    hedge_armed_ = false;
    if (!ec) OnHedgeTick();
  });
}

void Worker::OnHedgeTick() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<UnaryCall::Attempt*> due;
  for (ListNode* node = hedgeable_.front(); node != nullptr; node = NodeList::next(node)) {
    due.push_back(node->owner<UnaryCall::Attempt>());
  }
  // Each call has at most one attempt listed, so handling one never frees another listed one.
  for (UnaryCall::Attempt* a : due) {
    if (a->call->CheckHedge(*a, now)) a->hedgeable.Unlink();
  }
  ArmHedgeTimer();
}

void Worker::Dispatch(ServerConnection& /*connection*/, H2Stream& stream, HeaderList headers,
                      bool end_stream) {
  // nghttp2 checked the request (pseudo-headers, no connection-specific fields).
  const std::string_view path = FindHeader(headers, ":path");
  if (const std::string* method = path_.relay().methods->FindUnary(path)) {
    UnaryCall::Start(*this, path_.relay(), stream, std::move(headers), *method, end_stream);
    return;
  }
  StreamCall::Start(*this, path_.relay(), stream, std::move(headers), std::string(path),
                    end_stream);
}

}  // namespace ehp
