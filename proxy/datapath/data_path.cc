#include "proxy/datapath/data_path.h"

#include <csignal>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <future>
#include <thread>

#include "proxy/datapath/worker.h"
#include "proxy/net/listener.h"

namespace ehp {
namespace {

H2Connection::Options ClientOptions(const Config& c) {
  H2Connection::Options o;
  o.max_concurrent_streams = static_cast<uint32_t>(c.max_concurrent_streams);
  o.max_header_bytes = static_cast<size_t>(c.max_header_bytes);
  o.handshake_timeout = c.handshake_timeout;
  // Clients that vanished without closing are found by pings, so their calls end.
  o.keepalive_time = c.keepalive_time;
  o.keepalive_timeout = c.keepalive_timeout;
  return o;
}

H2Connection::Options UpstreamOptions(const Config& c) {
  H2Connection::Options o;
  o.handshake_timeout = c.dial_timeout;
  o.keepalive_time = c.keepalive_time;
  o.keepalive_timeout = c.keepalive_timeout;
  o.ping_only_with_streams = true;
  // Responses (a LIST of hundreds of MiB) are read as fast as the client takes them.
  o.stream_window = 4 << 20;
  o.connection_window = 32 << 20;
  return o;
}

int ThreadCount(const Config& c) {
  if (c.threads > 0) return static_cast<int>(c.threads);
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace

DataPath::DataPath(const Config& config, const RelayContext& relay, Hooks hooks)
    : config_(config),
      relay_(relay),
      hooks_(std::move(hooks)),
      client_options_(ClientOptions(config_)),
      upstream_options_(UpstreamOptions(config_)),
      threads_(ThreadCount(config_), "ehp-io") {
  for (int i = 0; i < threads_.size(); ++i) {
    workers_.push_back(std::make_unique<Worker>(*this, threads_.context(i), i));
  }
  listener_ = std::make_unique<Listener>(threads_.context(0), [this](int fd) { OnAccept(fd); });
}

DataPath::~DataPath() { Stop(std::chrono::milliseconds(0)); }

bool DataPath::Start(std::string* error) {
  // OpenSSL's socket BIO writes with write(2), not send(MSG_NOSIGNAL): a TLS write to a peer
  // that has just gone (a member killed, a client that vanished) raises SIGPIPE, whose default
  // action ends the process without a word. The write's EPIPE is handled like any closed peer.
  ::signal(SIGPIPE, SIG_IGN);
  if (!config_.cert_file.empty() && !ReloadClientTls(error)) return false;
  if (!config_.cacert.empty() && !ReloadMemberTls(error)) return false;
  if (!listener_->Bind(config_.listen_addr, error)) return false;
  port_ = listener_->port();
  threads_.Start();
  boost::asio::post(threads_.context(0), [this] { listener_->Start(); });
  started_ = true;
  return true;
}

bool DataPath::ReloadClientTls(std::string* error) {
  ServerTlsOptions options;
  options.files = {config_.cert_file, config_.key_file, config_.trusted_ca_file};
  options.allowed_client_names = config_.allowed_client_names;
  options.on_refused = hooks_.client_refused;
  SslCtxPtr ctx = MakeServerTlsContext(options, error);
  if (!ctx) return false;
  std::lock_guard lock(tls_mu_);
  client_tls_ = std::move(ctx);
  return true;
}

bool DataPath::ReloadMemberTls(std::string* error) {
  SslCtxPtr ctx = MakeMemberTlsContext({config_.cacert, config_.cert, config_.key}, error);
  if (!ctx) return false;
  {
    std::lock_guard lock(tls_mu_);
    member_tls_ = ctx;
  }
  if (started_) {
    for (auto& w : workers_) {
      boost::asio::post(w->io(), [worker = w.get(), ctx] { worker->SetMemberTls(ctx); });
    }
  }
  return true;
}

SslCtxPtr DataPath::member_tls() const {
  std::lock_guard lock(tls_mu_);
  return member_tls_;
}

int DataPath::connections_per_member() const {
  const int n = threads_.size();
  return std::max(1, (config_.upstream_connections + n - 1) / n);
}

void DataPath::MoveOff(const Member* member) {
  if (!started_) return;
  for (auto& w : workers_) {
    boost::asio::post(w->io(), [worker = w.get(), member] { worker->MoveOff(member); });
  }
}

SslCtxPtr DataPath::client_tls() const {
  std::lock_guard lock(tls_mu_);
  return client_tls_;
}

bool DataPath::AdmitConnection() {
  if (connections_.fetch_add(1, std::memory_order_relaxed) >= config_.max_connections) {
    connections_.fetch_sub(1, std::memory_order_relaxed);
    if (hooks_.connection_refused) hooks_.connection_refused();
    return false;
  }
  return true;
}

void DataPath::ReleaseConnection() { connections_.fetch_sub(1, std::memory_order_relaxed); }

int64_t DataPath::connections() const { return connections_.load(std::memory_order_relaxed); }

void DataPath::OnAccept(int fd) {
  if (!AdmitConnection()) {
    ::close(fd);
    return;
  }
  // Spread over the threads; the connection stays on the one it lands on.
  Worker* worker =
      workers_[next_worker_.fetch_add(1, std::memory_order_relaxed) % workers_.size()].get();
  boost::asio::post(worker->io(), [worker, fd] { worker->Adopt(fd); });
}

void DataPath::StopAccepting() {
  if (!started_) return;
  std::promise<void> done;
  boost::asio::post(threads_.context(0), [this, &done] {
    listener_->Stop();
    done.set_value();
  });
  done.get_future().wait();
}

void DataPath::GoAway() {
  if (!started_) return;
  for (auto& w : workers_) boost::asio::post(w->io(), [worker = w.get()] { worker->GoAway(); });
}

void DataPath::Stop(std::chrono::milliseconds grace) {
  if (!started_) return;
  started_ = false;
  const auto until = std::chrono::steady_clock::now() + grace;
  while (connections() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // What is left is closed on its own thread, then the threads stop.
  std::vector<std::future<void>> closed;
  for (auto& w : workers_) {
    auto done = std::make_shared<std::promise<void>>();
    closed.push_back(done->get_future());
    boost::asio::post(w->io(), [worker = w.get(), done] {
      worker->CloseAll();
      done->set_value();
    });
  }
  boost::asio::post(threads_.context(0), [this] { listener_->Stop(); });
  for (auto& f : closed) f.wait();
  threads_.Stop();
  workers_.clear();
}

}  // namespace ehp
