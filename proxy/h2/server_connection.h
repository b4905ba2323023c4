// A client's HTTP/2 connection to the proxy (nghttp2 server session). Each request it opens is
// handed to the dispatcher, which attaches the call that relays it.
#pragma once

#include <functional>
#include <memory>

#include "proxy/h2/connection.h"

namespace ehp {

class ServerConnection;

class RequestDispatcher {
 public:
  virtual ~RequestDispatcher() = default;
  // `stream` was opened with `headers`: attach its handler (or answer it at once).
  virtual void Dispatch(ServerConnection& connection, H2Stream& stream, HeaderList headers,
                        bool end_stream) = 0;
};

class ServerConnection final : public H2Connection {
 public:
  using ClosedFn = std::function<void(ServerConnection*)>;

  ServerConnection(boost::asio::io_context& io, const Options& options,
                   RequestDispatcher* dispatcher, ClosedFn on_closed);

 private:
  // H2Connection
  void OnRequest(H2Stream& stream, HeaderList headers, bool end_stream) override;
  void OnClosed() override;

  RequestDispatcher* const dispatcher_;
  const ClosedFn on_closed_;
};

}  // namespace ehp
