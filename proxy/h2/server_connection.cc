#include "proxy/h2/server_connection.h"

namespace ehp {

ServerConnection::ServerConnection(boost::asio::io_context& io, const Options& options,
                                   RequestDispatcher* dispatcher, ClosedFn on_closed)
    : H2Connection(io, Role::kServer, options),
      dispatcher_(dispatcher),
      on_closed_(std::move(on_closed)) {}

void ServerConnection::OnRequest(H2Stream& stream, HeaderList headers, bool end_stream) {
  dispatcher_->Dispatch(*this, stream, std::move(headers), end_stream);
}

void ServerConnection::OnClosed() {
  if (on_closed_) on_closed_(this);
}

}  // namespace ehp
