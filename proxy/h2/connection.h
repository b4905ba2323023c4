// One HTTP/2 connection: an nghttp2 session on a Transport, driven by its I/O thread. Bytes read
// from the socket go into nghttp2 (which calls the streams' handlers); frames nghttp2 produces
// are batched into one buffer and written with one call per wake-up. Flow control is manual:
// the peer may send more on a stream only once its handler consumed what came (see
// StreamHandler::OnData), so a slow reader on the other side slows the sender instead of growing
// memory here.
//
// Ownership: shared_ptr, held by whoever keeps the connection (the I/O thread's lists) and by
// its pending asynchronous operations. Close() ends every open stream (OnClose with
// kConnectionLost) and releases the socket; the object goes when the last reference does.
#pragma once

#include <nghttp2/nghttp2.h>

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "proxy/h2/idle_reset_filter.h"
#include "proxy/h2/stream.h"
#include "proxy/net/transport.h"

namespace ehp {

class H2Connection : public std::enable_shared_from_this<H2Connection> {
 public:
  enum class Role { kServer, kClient };
  struct Options {
    // Streams the peer may open at once (server side).
    uint32_t max_concurrent_streams = 100;
    // What the peer may send before we consume it: per stream, and for the whole connection.
    int32_t stream_window = 1 << 20;
    int32_t connection_window = 16 << 20;
    // Largest header block we accept (names + values + 32 bytes per field, as RFC 9113 counts).
    size_t max_header_bytes = 16 << 10;
    // TLS and the peer's first SETTINGS must arrive within this.
    std::chrono::milliseconds handshake_timeout{10000};
    // PING after this long without anything from the peer; close when unanswered for
    // keepalive_timeout. 0: never.
    std::chrono::milliseconds keepalive_time{0};
    std::chrono::milliseconds keepalive_timeout{5000};
    // Ping only while streams are open (etcd counts pings without calls as abuse).
    bool ping_only_with_streams = false;
    // Server side: RST_STREAM frames a client may send (burst, refilled per second) before the
    // connection ends with GOAWAY ENHANCE_YOUR_CALM (a rapid-reset flood sends tens of
    // thousands a second; a client cancelling its own calls often, as kube-apiserver may,
    // stays well below).
    uint32_t reset_burst = 10000;
    uint32_t reset_rate = 2000;
  };

  H2Connection(boost::asio::io_context& io, Role role, const Options& options);
  virtual ~H2Connection();
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  // Runs on `transport` (connected): the TLS handshake if any, then HTTP/2.
  void Start(std::unique_ptr<Transport> transport);
  // Ends the connection now: every open stream is closed with kConnectionLost.
  void Close(const std::string& why);
  // GOAWAY: the peer opens no new streams; the connection closes once the open ones ended.
  void Shutdown(uint32_t error_code = NGHTTP2_NO_ERROR);
  // Frames submitted from outside this connection's own callbacks go out soon (once per
  // wake-up, however many were submitted).
  void ScheduleFlush();

  // Server side: the answer to `stream`. With end_stream the headers are all (a gRPC
  // trailers-only answer); otherwise data and trailers follow through the stream.
  bool SubmitResponse(H2Stream& stream, const HeaderList& headers, bool end_stream);

  boost::asio::io_context& io() const { return io_; }
  bool established() const { return established_ && !closed_; }
  // It got as far as the peer's SETTINGS at some point (even if closed since).
  bool ever_established() const { return established_; }
  bool closed() const { return closed_; }
  // A GOAWAY was sent or received: no new streams on it.
  bool going_away() const { return going_away_ || closed_; }
  size_t open_streams() const { return open_streams_; }
  const std::string& peer() const { return peer_; }
  const std::string& close_reason() const { return close_reason_; }
  Role role() const { return role_; }
  const Options& options() const { return options_; }

 protected:
  // Client side: opens a stream with `headers`; data follows through the stream unless
  // end_stream. Null when the session takes no new stream (GOAWAY, ids exhausted, closed).
  H2Stream* SubmitRequest(const HeaderList& headers, StreamHandler* handler, bool end_stream);

  // Hooks, on the I/O thread.
  virtual void OnEstablished() {}
  // Server side: a client opened `stream` with these request headers (`end_stream`: and no
  // body). The hook sets the stream's handler, which hears everything that follows.
  virtual void OnRequest(H2Stream& /*stream*/, HeaderList /*headers*/, bool /*end_stream*/) {}
  virtual void OnGoaway(int32_t /*last_stream_id*/, uint32_t /*error_code*/) {}
  virtual void OnClosed() {}

  nghttp2_session* session() const { return session_; }

 private:
  friend class H2Stream;
  friend struct H2Callbacks;

  void Handshake();
  void BeginHttp2();
  void WaitRead();
  void OnReadable();
  void Flush();
  void Feed(const uint8_t* data, size_t len);
  void ArmHandshakeTimer();
  void ArmKeepalive();
  void OnKeepaliveTick();
  void FinishClose();
  void Link(H2Stream* stream);
  void Unlink(H2Stream* stream);
  // Counts a client's RST_STREAM; false once the client exceeded the reset rate.
  bool TakeResetToken();

  boost::asio::io_context& io_;
  const Role role_;
  const Options options_;
  nghttp2_session* session_ = nullptr;
  std::unique_ptr<IdleResetFilter> reset_filter_;  // server side
  std::unique_ptr<Transport> transport_;
  boost::asio::steady_timer handshake_timer_;
  boost::asio::steady_timer keepalive_timer_;
  std::string peer_;

  std::string out_;  // framed, not yet written
  size_t out_pos_ = 0;
  bool tls_done_ = false;
  bool established_ = false;
  bool going_away_ = false;
  bool closed_ = false;
  bool close_pending_ = false;  // Close() inside an nghttp2 callback: done after it returns
  std::string close_reason_;
  bool writing_ = false;      // waiting for the socket to take more
  bool read_paused_ = false;  // the peer does not read what we write: stop reading its input
  bool flush_scheduled_ = false;
  int in_session_ = 0;  // depth of nghttp2 calls on the stack

  H2Stream* streams_ = nullptr;  // open streams (a list; ids are in nghttp2's own map)
  size_t open_streams_ = 0;

  std::chrono::steady_clock::time_point last_recv_;
  std::chrono::steady_clock::time_point ping_sent_;
  bool ping_outstanding_ = false;
  double reset_tokens_;
  std::chrono::steady_clock::time_point reset_refill_;
};

}  // namespace ehp
