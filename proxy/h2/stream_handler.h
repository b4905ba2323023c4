// What a call on the data path hears from one HTTP/2 stream. The relays (proxy/datapath)
// implement it for the client's stream and for each stream they open towards a member; every
// callback runs on the stream's I/O thread, inside its connection's nghttp2 session.
#pragma once

#include <cstddef>
#include <cstdint>

#include "proxy/h2/header_list.h"

namespace ehp {

class H2Stream;

enum class HeadersKind {
  kRequest,   // a client's request headers (server side)
  kResponse,  // a member's response headers (client side); with end_stream: trailers-only
  kTrailers,  // trailers, after the data (either side)
};

// Passed to OnClose when the stream ended because its connection did (not an HTTP/2 code).
constexpr uint32_t kConnectionLost = 0x1000;

class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  // A header block from the peer. `end_stream`: the peer's side ends with it (OnEnd does not
  // follow).
  virtual void OnHeaders(H2Stream& stream, HeaderList headers, HeadersKind kind,
                         bool end_stream) = 0;
  // Data from the peer. The handler calls stream.Consume(len) once it passed the bytes on, which
  // lets the peer send more (flow control): a slow receiver slows the sender.
  virtual void OnData(H2Stream& stream, const uint8_t* data, size_t len) = 0;
  // The peer ended its side after data (END_STREAM on a DATA frame).
  virtual void OnEnd(H2Stream& stream) = 0;
  // `bytes` written with H2Stream::Write went into frames: their source may send more.
  virtual void OnSent(H2Stream& /*stream*/, size_t /*bytes*/) {}
  // The stream is over: NO_ERROR, the peer's RST_STREAM code, REFUSED_STREAM (the peer did not
  // process it: RST_STREAM, above a GOAWAY's last stream id, or dropped before its HEADERS were
  // sent), or kConnectionLost. The stream is destroyed when this returns.
  virtual void OnClose(H2Stream& stream, uint32_t error_code) = 0;
};

}  // namespace ehp
