// A client's stream relayed frame for frame to one upstream stream: the request headers (as the
// caller adjusted them), data both ways with flow control (the client may send more only once the
// upstream connection took what it sent, and the other way round), trailers, resets. Messages are
// never parsed.
//
// Lifetime: created on the client stream's request, deletes itself once both streams closed.
// Single-threaded (the I/O thread of the client's connection, which is also the upstream one's).
#pragma once

#include <functional>
#include <string>

#include "proxy/h2/member_connection.h"

namespace ehp {

class PassThrough final : public StreamHandler {
 public:
  // Called with the final gRPC status the client saw (for metrics), once.
  using DoneFn = std::function<void(int grpc_code)>;

  // Relays `client` (opened with `headers`, already adjusted for the upstream) over `upstream`.
  // When `upstream` cannot take the stream, the client gets UNAVAILABLE at once.
  static void Start(H2Stream& client, const HeaderList& headers, bool end_stream,
                    MemberConnection* upstream, DoneFn done = nullptr);

  // StreamHandler (both streams report here).
  void OnHeaders(H2Stream& stream, HeaderList headers, HeadersKind kind, bool end_stream) override;
  void OnData(H2Stream& stream, const uint8_t* data, size_t len) override;
  void OnEnd(H2Stream& stream) override;
  void OnSent(H2Stream& stream, size_t bytes) override;
  void OnClose(H2Stream& stream, uint32_t error_code) override;

 private:
  PassThrough(H2Stream* client, DoneFn done) : client_(client), done_(std::move(done)) {}
  // Ends the client's side with a status of the proxy's own (UNAVAILABLE, CANCELLED).
  void FailClient(int code, const std::string& message);
  void Finished(int code);
  void MaybeDelete();

  H2Stream* client_;
  H2Stream* upstream_ = nullptr;
  std::string upstream_name_;
  DoneFn done_;
  bool response_started_ = false;  // the response headers went to the client
  bool client_ended_ = false;      // the client's side is answered in full
  int final_code_ = -1;
};

}  // namespace ehp
