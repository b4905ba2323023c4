#include "proxy/datapath/worker.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "proxy/datapath/data_path.h"
#include "proxy/datapath/pass_through.h"

namespace ehp {

Worker::Worker(DataPath& path, boost::asio::io_context& io, int index)
    : path_(path), io_(io), index_(index) {}

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
  if (legacy_) legacy_->CloseAll("the proxy is shutting down");
}

MemberLinks& Worker::Legacy() {
  if (!legacy_) {
    MemberConnection::Target target;
    target.name = "the gRPC relay";
    target.unix_path = "@" + path_.legacy_socket();
    legacy_ = std::make_unique<MemberLinks>(io_, std::move(target), path_.upstream_options(),
                                            path_.config().upstream_connections);
  }
  return *legacy_;
}

void Worker::Dispatch(ServerConnection& /*connection*/, H2Stream& stream, HeaderList headers,
                      bool end_stream) {
  // nghttp2 checked the request (pseudo-headers, no connection-specific fields): it goes on as
  // it came.
  PassThrough::Start(stream, headers, end_stream, Legacy().Pick());
}

}  // namespace ehp
