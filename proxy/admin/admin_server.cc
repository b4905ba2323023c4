#include "proxy/admin/admin_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

namespace ehp {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

//------------------------------------------------------------------------------

namespace {

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// Whether the peer presented a certificate that the CA bundle verifies.
bool ClientVerified(TlsStream& stream) {
  SSL* ssl = stream.native_handle();
  X509* peer = SSL_get1_peer_certificate(ssl);
  const bool ok = peer != nullptr && SSL_get_verify_result(ssl) == X509_V_OK;
  X509_free(peer);
  return ok;
}

}  // namespace

// What the server's wait lists hold: a connection it may close to admit another.
class AdminServer::Evictable {
 public:
  virtual ~Evictable() = default;
  virtual void Evict() = 0;
  WaitList* list = nullptr;  // the wait list it is on, if any
  WaitList::iterator pos;
  std::chrono::steady_clock::time_point head_deadline;  // handshake, request line and headers
};

// A connection without a session yet: its socket and nothing more. It waits for the client's
// first bytes (on the silent list, the first to go at the cap); over TLS it then waits for its
// turn to handshake. Thousands of connections that send nothing, or a burst of TLS clients,
// cost next to nothing until their turn comes: no stream, no TLS state.
class AdminServer::Pending : public AdminServer::Evictable,
                             public std::enable_shared_from_this<Pending> {
 public:
  Pending(tcp::socket socket, AdminServer* server) : socket_(std::move(socket)), server_(server) {}
  ~Pending() override { Close(); }

  void Run() {
    server_->Wait(this, &server_->silent_);
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (self->closed_) return;  // evicted, or its head deadline passed
      if (ec) return self->Close();
      if (self->server_->tls_.files.cert.empty()) return self->Serve();
      self->server_->Wait(self.get(), &self->server_->unserved_);
      // The wait for the turn holds the connection and ends it at the head deadline.
      self->turn_.emplace(self->socket_.get_executor());
      self->turn_->expires_at(self->head_deadline);
      self->turn_->async_wait([self](beast::error_code) { self->Close(); });
      self->server_->AwaitHandshake(self.get());
    });
  }

  void Evict() override { Close(); }

  // Whether bytes from the client wait to be read: a silent connection about to hear them.
  bool HasInput() {
    beast::error_code ec;
    return socket_.available(ec) > 0;
  }

  // Hands the socket to a session (over TLS, its turn to handshake has come).
  void Serve() {
    closed_ = true;
    if (turn_) turn_->cancel();
    server_->Unwait(this);
    server_->Serve(std::move(socket_), head_deadline);
  }

  bool awaits_turn = false;  // on the server's handshakes_, at turn_pos
  AdminServer::HandshakeQueue::iterator turn_pos;

 private:
  void Close() {
    if (closed_) return;
    closed_ = true;
    if (awaits_turn) server_->handshakes_.erase(turn_pos);
    awaits_turn = false;
    server_->Released(this);
    if (turn_) turn_->cancel();
    beast::error_code ec;
    socket_.close(ec);
  }

  tcp::socket socket_;
  AdminServer* const server_;
  std::optional<net::steady_timer> turn_;  // TLS: waiting for the turn to handshake
  bool closed_ = false;                    // or handed to a session
};

template <class Stream>
class AdminServer::Session : public AdminServer::Evictable,
                             public std::enable_shared_from_this<Session<Stream>> {
 public:
  // `tls` is the context the stream was made with: kept alive as long as the stream.
  Session(std::shared_ptr<net::ssl::context> tls, Stream stream, AdminServer* server)
      : tls_(std::move(tls)), stream_(std::move(stream)), server_(server) {}
  ~Session() override { Close(); }

  // The client's first bytes are here (and over TLS its turn to handshake has come); the head
  // is due by `deadline`.
  void Run(std::chrono::steady_clock::time_point deadline) {
    head_deadline = deadline;
    server_->Wait(this, &server_->unserved_);
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      beast::get_lowest_layer(stream_).expires_at(head_deadline);
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Close();  // refused certificate, not TLS
                                self->client_verified_ = ClientVerified(self->stream_);
                                self->ReadHead();
                              });
    } else {
      ReadHead();
    }
  }

  void Evict() override { Close(); }

 private:
  const AdminServer::Limits& limits() const { return server_->limits_; }
  // The head's deadline never exceeds the whole request's.
  std::chrono::milliseconds HeadTimeout() const {
    return std::min(limits().header_timeout, limits().read_timeout);
  }

  // Between requests: wait for the next one's first byte at most the idle timeout.
  // Until the next request is read whole, the session may be closed to admit another.
  void AwaitRequest() {
    server_->Wait(this, &server_->idle_);
    if (buffer_.size() > 0) {  // pipelined: already here
      head_deadline = std::chrono::steady_clock::now() + HeadTimeout();
      return ReadHead();
    }
    beast::get_lowest_layer(stream_).expires_after(limits().idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(1024), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
          if (ec) return self->Close();  // idle timeout, closed by the client, evicted
          self->buffer_.commit(n);
          self->head_deadline = std::chrono::steady_clock::now() + self->HeadTimeout();
          self->ReadHead();
        });
  }

  void ReadHead() {
    if (closed_) return;
    request_start_ = std::chrono::steady_clock::now();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits().header_bytes));
    parser_->body_limit(limits().body_bytes);
    beast::get_lowest_layer(stream_).expires_at(head_deadline);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (ec || self->parser_->is_done()) return self->OnRead(ec);
                              self->ReadBody();
                            });
  }

  void ReadBody() {
    beast::get_lowest_layer(stream_).expires_at(request_start_ + limits().read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (closed_) return;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::ssl::error::stream_truncated) {
      return Close();
    }
    server_->Unwait(this);  // busy answering: not to be evicted
    if (ec == http::error::header_limit) return Reply(431, "request header too large\n", false);
    if (ec == http::error::body_limit) return Reply(413, "request body too large\n", false);
    if (ec) return Reply(400, "bad request\n", false);

    const auto& req = parser_->get();
    AdminRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      request.trusted = client_verified_;
    } else {
      beast::error_code peer_ec;
      const auto peer = beast::get_lowest_layer(stream_).socket().remote_endpoint(peer_ec);
      request.trusted = !peer_ec && peer.address().is_loopback();
    }
    const AdminResponse r = RouteAdmin(request, *server_->backend_);

    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), req.version());
    res->set(http::field::server, "etcd-health-proxy");
    res->set(http::field::content_type, r.content_type);
    res->set(http::field::cache_control, "no-store");
    if (!r.allow.empty()) res->set(http::field::allow, r.allow);
    for (const auto& [name, value] : r.headers) res->set(name, value);
    res->keep_alive(req.keep_alive());
    if (req.method() != http::verb::head) res->body() = r.body;
    res->prepare_payload();
    if (req.method() == http::verb::head) res->content_length(r.body.size());
    Write(std::move(res));
  }

  // An error reply after which the connection is closed (the request could not be parsed).
  void Reply(int status, const char* body, bool keep_alive) {
    auto res =
        std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
    res->set(http::field::server, "etcd-health-proxy");
    res->set(http::field::content_type, "text/plain; charset=utf-8");
    res->keep_alive(keep_alive);
    res->body() = body;
    res->prepare_payload();
    Write(std::move(res));
  }

  void Write(std::shared_ptr<http::response<http::string_body>> res) {
    beast::get_lowest_layer(stream_).expires_after(limits().read_timeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !res->keep_alive()) return self->Close();
                        self->AwaitRequest();
                      });
  }

  // Idempotent; frees the session's place at once, though its handlers finish later.
  void Close() {
    if (closed_) return;
    closed_ = true;
    server_->Released(this);
    // No TLS close_notify: the admin plane's clients do not need it, and waiting for the peer's
    // answer would let a client hold the session.
    beast::error_code ec;
    auto& socket = beast::get_lowest_layer(stream_).socket();
    socket.shutdown(tcp::socket::shutdown_send, ec);
    socket.close(ec);
  }

  const std::shared_ptr<net::ssl::context> tls_;  // declared first: outlives stream_
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  AdminServer* const server_;
  bool client_verified_ = false;
  bool closed_ = false;
  std::chrono::steady_clock::time_point request_start_;
};

//------------------------------------------------------------------------------

namespace {

// Connections accepted at most in one go before other handlers run.
constexpr int kAcceptBatch = 256;
// TLS handshakes begun in one go before other handlers run. The first step of each (about a
// millisecond of CPU) runs before the next batch begins, so a probe's handshake, the newest,
// waits behind a few at most rather than behind a whole burst.
constexpr int kHandshakeBatch = 4;

std::shared_ptr<net::ssl::context> MakeTlsContext(const AdminServer::Tls& tls, std::string* error) {
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  beast::error_code ec;
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                       net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                       net::ssl::context::no_tlsv1_1,
                   ec);
  const auto failed = [&](const std::string& file) {
    *error = "admin plane TLS: \"" + file + "\": " + ec.message();
    return nullptr;
  };
  ctx->use_certificate_chain_file(tls.files.cert, ec);
  if (ec) return failed(tls.files.cert);
  ctx->use_private_key_file(tls.files.key, net::ssl::context::pem, ec);
  if (ec) return failed(tls.files.key);
  if (!tls.files.ca.empty()) {
    ctx->load_verify_file(tls.files.ca, ec);
    if (ec) return failed(tls.files.ca);
    // Ask for a certificate; whether one is required depends on the setting.
    ctx->set_verify_mode(net::ssl::verify_peer |
                         (tls.require_client_cert ? net::ssl::verify_fail_if_no_peer_cert : 0));
    if (!tls.require_client_cert) {
      // Keep the handshake going with an unverified certificate; the session then treats the
      // client as unauthenticated instead of refusing it.
      SSL_CTX_set_verify(ctx->native_handle(), SSL_VERIFY_PEER,
                         [](int, X509_STORE_CTX*) { return 1; });
    }
  }
  return ctx;
}

}  // namespace

AdminServer::AdminServer(HttpAddress address, AdminBackend* backend, Limits limits, Tls tls,
                         std::function<void()> on_evict)
    : address_(std::move(address)),
      backend_(backend),
      limits_(limits),
      tls_(std::move(tls)),
      on_evict_(std::move(on_evict)) {}

bool AdminServer::ReloadTls(std::string* error) {
  if (tls_.files.cert.empty()) return true;
  auto ctx = MakeTlsContext(tls_, error);
  if (ctx == nullptr) return false;
  std::lock_guard lock(tls_mu_);
  tls_context_ = std::move(ctx);
  return true;
}

std::shared_ptr<net::ssl::context> AdminServer::TlsContext() {
  std::lock_guard lock(tls_mu_);
  return tls_context_;
}

AdminServer::~AdminServer() { Stop(); }

bool AdminServer::Start(std::string* error) {
  if (!ReloadTls(error)) return false;
  beast::error_code ec;
  const auto ip = net::ip::make_address(address_.host, ec);
  if (ec) {
    *error = "metrics-addr: \"" + address_.host + "\" is not an IP address";
    return false;
  }
  const tcp::endpoint endpoint(ip, address_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (!ec) acceptor_.non_blocking(true, ec);
  if (ec) {
    *error = "cannot listen on " + address_.raw + " for the admin plane: " + ec.message();
    return false;
  }
  port_ = acceptor_.local_endpoint().port();
  Accept();
  Heartbeat();
  thread_ = std::thread([this] { io_.run(); });
  spdlog::info("admin plane on {}://{}:{} (/metrics /livez /readyz /status /events){}",
               tls_.files.cert.empty() ? "http" : "https", address_.host, port_,
               tls_.files.cert.empty()    ? ""
               : tls_.require_client_cert ? ", client certificates required"
               : tls_.files.ca.empty()    ? ", drain and undrain disabled (no CA to verify)"
                                          : ", drain and undrain need a client certificate");
  return true;
}

void AdminServer::Stop() {
  if (!thread_.joinable()) return;
  io_.stop();
  thread_.join();
}

void AdminServer::Heartbeat() {
  last_heartbeat_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                           std::memory_order_relaxed);
  heartbeat_.expires_after(std::chrono::seconds(1));
  heartbeat_.async_wait([this](beast::error_code ec) {
    if (!ec) Heartbeat();
  });
}

double AdminServer::SecondsSinceHeartbeat() const {
  const auto last = std::chrono::steady_clock::time_point(
      std::chrono::steady_clock::duration(last_heartbeat_ns_.load(std::memory_order_relaxed)));
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - last).count();
}

void AdminServer::Accept() {
  acceptor_.async_wait(tcp::acceptor::wait_read, [this](beast::error_code ec) {
    if (ec == net::error::operation_aborted) return;
    // Drain the backlog before the sessions' handlers run again: under a flood a probe must not
    // wait in the queue behind every handshake and header line that is ready too.
    for (int i = 0; i < kAcceptBatch; ++i) {
      tcp::socket socket = acceptor_.accept(net::make_strand(io_), ec);
      if (ec == net::error::would_block || ec == net::error::try_again) break;
      if (ec) {
        uint64_t suppressed = 0;
        if (evict_log_.ShouldLog(std::chrono::steady_clock::now(), &suppressed)) {
          spdlog::warn("admin plane: accept failed: {}{}", ec.message(),
                       SuppressedNote(suppressed));
        }
        // Out of descriptors: a waiting session gives its own up; else try again a little
        // later rather than spin.
        if (ec == net::error::no_descriptors && EvictOne()) continue;
        return AcceptLater();
      }
      Admit(std::move(socket));
    }
    Accept();
  });
}

void AdminServer::Admit(tcp::socket socket) {
  if (!MakeRoom()) {
    beast::error_code ignored;
    socket.close(ignored);  // every session is busy answering: refuse rather than queue
    return;
  }
  sessions_++;
  auto pending = std::make_shared<Pending>(std::move(socket), this);
  pending->head_deadline =
      std::chrono::steady_clock::now() + std::min(limits_.header_timeout, limits_.read_timeout);
  pending->Run();
}

void AdminServer::Serve(tcp::socket socket, std::chrono::steady_clock::time_point deadline) {
  if (auto tls = TlsContext()) {
    // The session keeps the context it started with alive across a reload.
    TlsStream stream(std::move(socket), *tls);
    std::make_shared<Session<TlsStream>>(std::move(tls), std::move(stream), this)->Run(deadline);
  } else {
    std::make_shared<Session<PlainStream>>(nullptr, PlainStream(std::move(socket)), this)
        ->Run(deadline);
  }
}

void AdminServer::AcceptLater() {
  accept_retry_.expires_after(std::chrono::milliseconds(50));
  accept_retry_.async_wait([this](beast::error_code ec) {
    if (!ec) Accept();
  });
}

bool AdminServer::MakeRoom() {
  if (sessions_ < limits_.max_sessions) return true;
  EvictOne();
  return sessions_ < limits_.max_sessions;
}

bool AdminServer::EvictOne() {
  // A silent session whose first bytes have arrived, its handler not yet run, is silent no
  // more: a probe accepted amid a burst of idle connections must not be taken for one of them.
  while (!silent_.empty() && static_cast<Pending*>(silent_.front())->HasInput()) {
    Wait(silent_.front(), &unserved_);
  }
  WaitList* from = !silent_.empty()     ? &silent_
                   : !unserved_.empty() ? &unserved_
                   : !idle_.empty()     ? &idle_
                                        : nullptr;
  if (from == nullptr) return false;
  const char* what = from == &silent_     ? "one that had sent nothing"
                     : from == &unserved_ ? "one that had not completed a request"
                                          : "idle keep-alive one";
  from->front()->Evict();  // leaves the list and frees its place
  if (on_evict_) on_evict_();
  uint64_t suppressed = 0;
  if (evict_log_.ShouldLog(std::chrono::steady_clock::now(), &suppressed)) {
    spdlog::warn(
        "admin plane: {} connections open (admin-max-connections {}): closed the oldest {} to "
        "admit a new one{}",
        sessions_ + 1, limits_.max_sessions, what, SuppressedNote(suppressed));
  }
  return true;
}

void AdminServer::Wait(Evictable* session, WaitList* list) {
  Unwait(session);
  session->list = list;
  session->pos = list->insert(list->end(), session);
  if (list == &silent_ && !silent_timer_armed_) ExpireSilent();
}

void AdminServer::Unwait(Evictable* session) {
  if (session->list == nullptr) return;
  session->list->erase(session->pos);
  session->list = nullptr;
}

void AdminServer::Released(Evictable* session) {
  Unwait(session);
  sessions_--;
}

void AdminServer::AwaitHandshake(Pending* pending) {
  // By head deadline, that is by when each connected: equal ones keep their order.
  pending->turn_pos = handshakes_.emplace(pending->head_deadline, pending);
  pending->awaits_turn = true;
  if (handshakes_posted_) return;
  handshakes_posted_ = true;
  net::post(io_, [this] { StartHandshakes(); });
}

void AdminServer::StartHandshakes() {
  handshakes_posted_ = false;
  // The newest connection first: a burst of older ones waits (and those that wait past their
  // head deadline are closed, as they would be anyway) while a probe that connects amid it goes
  // ahead, even of connections whose first bytes came after its own.
  for (int i = 0; i < kHandshakeBatch && !handshakes_.empty(); ++i) {
    const auto newest = std::prev(handshakes_.end());
    Pending* pending = newest->second;
    handshakes_.erase(newest);
    pending->awaits_turn = false;
    pending->Serve();
  }
  if (handshakes_.empty()) return;
  // After every handler already queued, among them the first steps of the handshakes just
  // begun.
  handshakes_posted_ = true;
  net::post(io_, [this] { StartHandshakes(); });
}

void AdminServer::ExpireSilent() {
  const auto now = std::chrono::steady_clock::now();
  while (!silent_.empty() && silent_.front()->head_deadline <= now) silent_.front()->Evict();
  if (silent_.empty()) return;
  // Every silent session has the same head timeout, so the list's front expires first.
  silent_timer_armed_ = true;
  silent_timer_.expires_at(silent_.front()->head_deadline);
  silent_timer_.async_wait([this](beast::error_code ec) {
    silent_timer_armed_ = false;
    if (!ec) ExpireSilent();
  });
}

}  // namespace ehp
