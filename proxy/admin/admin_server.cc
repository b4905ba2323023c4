#include "proxy/admin/admin_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

namespace ehp {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

//------------------------------------------------------------------------------

class AdminServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, AdminServer* server) : stream_(std::move(socket)), server_(server) {}
  ~Session() { server_->sessions_--; }

  void Run() { DoRead(); }

 private:
  void DoRead() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->limits_.header_bytes));
    parser_->body_limit(server_->limits_.body_bytes);
    stream_.expires_after(server_->limits_.read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted) {
      return Close();
    }
    if (ec == http::error::header_limit) return Reply(431, "request header too large\n", false);
    if (ec == http::error::body_limit) return Reply(413, "request body too large\n", false);
    if (ec) return Reply(400, "bad request\n", false);

    const auto& req = parser_->get();
    AdminRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    beast::error_code peer_ec;
    const auto peer = stream_.socket().remote_endpoint(peer_ec);
    request.trusted = !peer_ec && peer.address().is_loopback();
    const AdminResponse r = RouteAdmin(request, *server_->backend_);

    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), req.version());
    res->set(http::field::server, "etcd-health-proxy");
    res->set(http::field::content_type, r.content_type);
    res->set(http::field::cache_control, "no-store");
    if (!r.allow.empty()) res->set(http::field::allow, r.allow);
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
    stream_.expires_after(server_->limits_.read_timeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !res->keep_alive()) return self->Close();
                        self->DoRead();
                      });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  AdminServer* const server_;
};

//------------------------------------------------------------------------------

AdminServer::AdminServer(HttpAddress address, AdminBackend* backend, Limits limits)
    : address_(std::move(address)), backend_(backend), limits_(limits) {}

AdminServer::~AdminServer() { Stop(); }

bool AdminServer::Start(std::string* error) {
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
  if (ec) {
    *error = "cannot listen on " + address_.raw + " for the admin plane: " + ec.message();
    return false;
  }
  port_ = acceptor_.local_endpoint().port();
  Accept();
  thread_ = std::thread([this] { io_.run(); });
  spdlog::info("admin plane on http://{}:{} (/metrics /livez /readyz /status /events)",
               address_.host, port_);
  return true;
}

void AdminServer::Stop() {
  if (!thread_.joinable()) return;
  io_.stop();
  thread_.join();
}

void AdminServer::Accept() {
  acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted) return;
      spdlog::warn("admin plane: accept failed: {}", ec.message());
    } else if (sessions_.fetch_add(1) >= limits_.max_sessions) {
      sessions_--;
      beast::error_code ignored;
      socket.close(ignored);  // over the cap: refuse rather than queue
    } else {
      std::make_shared<Session>(std::move(socket), this)->Run();
    }
    Accept();
  });
}

}  // namespace ehp
