// One HTTP/2 stream of a connection, with the bytes queued to go out on it. Owned by its
// connection (created when the stream opens, destroyed after its handler's OnClose); only its
// I/O thread touches it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/core/block_pool.h"
#include "proxy/h2/header_list.h"
#include "proxy/h2/stream_handler.h"

namespace ehp {

class H2Connection;

class H2Stream {
 public:
  EHP_POOLED_NEW

  H2Stream(H2Connection* connection, int32_t id) : connection_(connection), id_(id) {}
  H2Stream(const H2Stream&) = delete;
  H2Stream& operator=(const H2Stream&) = delete;

  int32_t id() const { return id_; }
  H2Connection& connection() const { return *connection_; }
  StreamHandler* handler() const { return handler_; }
  // Null detaches the handler: the stream's events are then dropped (its data consumed).
  void set_handler(StreamHandler* handler) { handler_ = handler; }

  // Data to send; it goes out as the peer's flow-control window allows (OnSent says when).
  void Write(std::string_view bytes);
  // The same without a copy: `bytes` must stay valid and unchanged until the stream is closed.
  // Goes before anything written after it; at most one at a time.
  void WriteBorrowed(std::string_view bytes);
  // Nothing follows what is queued: END_STREAM with the last data.
  void End();
  // The trailers follow what is queued, with END_STREAM.
  void EndWithTrailers(HeaderList trailers);
  size_t queued() const { return borrowed_.size() + out_.size() - out_pos_; }
  bool ended() const { return end_ || has_trailers_; }

  // `n` bytes from OnData were passed on: the peer may send that many more.
  void Consume(size_t n);
  // Ends the stream with RST_STREAM(code). A request whose HEADERS have not been sent yet is
  // dropped from nghttp2's queue instead, unsent: a peer may treat a reset of a stream it never
  // saw as a connection error (etcd's Go server answers GOAWAY PROTOCOL_ERROR).
  void Reset(uint32_t code);

  // Once our side ended (END_STREAM sent), tells the peer with RST_STREAM(NO_ERROR) that the
  // rest of its request is not wanted (RFC 9113 8.1): for answers given before the request
  // was complete. (An RST_STREAM submitted at once would drop the answer still queued.)
  void ResetAfterEnd() { reset_after_end_ = true; }

  // Our HEADERS for it are framed (the peer may have seen the stream).
  bool headers_sent() const { return headers_sent_; }
  // The peer ended its side (END_STREAM received).
  bool remote_ended() const { return remote_ended_; }

 private:
  friend class H2Connection;
  friend struct H2Callbacks;

  H2Connection* const connection_;
  int32_t id_;  // set once: at creation, or when nghttp2 numbers a new request
  StreamHandler* handler_ = nullptr;

  // Outgoing (see H2Connection's data source).
  std::string_view borrowed_;  // WriteBorrowed(): sent before out_
  std::string out_;
  size_t out_pos_ = 0;
  bool end_ = false;
  bool has_trailers_ = false;
  HeaderList trailers_;
  bool deferred_ = false;      // nghttp2 waits for more data from us
  bool has_provider_ = false;  // its HEADERS were submitted with a data source
  bool headers_sent_ = false;
  bool remote_ended_ = false;
  bool closing_ = false;          // reset by us; the close is on its way
  bool reset_after_end_ = false;  // ResetAfterEnd()

  // Incoming header block being collected.
  HeaderList in_headers_;
  size_t in_header_bytes_ = 0;
  bool got_headers_ = false;  // the first header block arrived (a later one is trailers)
  size_t unconsumed_ = 0;     // received data not yet Consume()d

  // Links in the connection's list of open streams.
  H2Stream* prev_ = nullptr;
  H2Stream* next_ = nullptr;
};

}  // namespace ehp
