#include "proxy/h2/connection.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstring>

#include "proxy/core/block_pool.h"

namespace ehp {
namespace {

// One read buffer per I/O thread: nghttp2 takes what it needs from it before the next read, so
// an idle connection holds no read buffer.
constexpr size_t kReadSize = 64 * 1024;
thread_local uint8_t read_buffer[kReadSize];
// Reads per wake-up before yielding to the thread's other connections.
constexpr int kMaxReadsPerWake = 8;
// Frames are taken from nghttp2 until this much waits for the socket; a peer that reads slower
// than it makes us write stops being read.
constexpr size_t kHighWater = 256 * 1024;
// Header fields a block is expected to hold (a gRPC request has about ten): one allocation for
// the list instead of one each time it doubles.
constexpr size_t kHeadersReserve = 16;
// A response's headers or trailers: status, content type, grpc-status and -message.
constexpr size_t kResponseHeadersReserve = 4;
// An empty output buffer keeps at most this much capacity.
constexpr size_t kKeepCapacity = 16 * 1024;

// nghttp2 allocates and frees its stream, frame and header state per stream: on the thread's
// block pool, as our own per-call objects.
void* PoolMalloc(size_t size, void*) { return block_pool::Allocate(size); }
void PoolFree(void* block, void*) { block_pool::Free(block); }
void* PoolCalloc(size_t count, size_t size, void*) {
  return block_pool::AllocateZeroed(count, size);
}
void* PoolRealloc(void* block, size_t size, void*) { return block_pool::Reallocate(block, size); }
nghttp2_mem pool_mem = {nullptr, PoolMalloc, PoolFree, PoolCalloc, PoolRealloc};

}  // namespace

// nghttp2's callbacks, as friends of the classes they drive.
struct H2Callbacks {
  static H2Connection* Self(void* user_data) { return static_cast<H2Connection*>(user_data); }

  static H2Stream* StreamOf(nghttp2_session* session, int32_t id) {
    return static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(session, id));
  }

  static int OnBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    H2Connection* c = Self(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    if (c->role_ == H2Connection::Role::kServer && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      auto* stream = new H2Stream(c, frame->hd.stream_id);
      stream->in_headers_.reserve(kHeadersReserve);
      c->Link(stream);
      nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, stream);
      return 0;
    }
    if (H2Stream* s = StreamOf(session, frame->hd.stream_id)) {
      s->in_headers_.clear();
      s->in_headers_.reserve(kResponseHeadersReserve);
      s->in_header_bytes_ = 0;
    }
    return 0;
  }

  static int OnHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t /*flags*/,
                      void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    H2Stream* s = StreamOf(session, frame->hd.stream_id);
    if (s == nullptr) return 0;
    s->in_header_bytes_ += namelen + valuelen + 32;
    if (s->in_header_bytes_ > Self(user_data)->options_.max_header_bytes) {
      // Resets the stream (INTERNAL_ERROR); the connection and its other streams go on.
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    s->in_headers_.emplace_back(std::string_view(reinterpret_cast<const char*>(name), namelen),
                                std::string_view(reinterpret_cast<const char*>(value), valuelen));
    return 0;
  }

  static int OnFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    H2Connection* c = Self(user_data);
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        H2Stream* s = StreamOf(session, frame->hd.stream_id);
        if (s == nullptr) return 0;
        const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
        if (end_stream) s->remote_ended_ = true;
        HeadersKind kind;
        if (!s->got_headers_) {
          s->got_headers_ = true;
          kind = c->role_ == H2Connection::Role::kServer ? HeadersKind::kRequest
                                                         : HeadersKind::kResponse;
        } else {
          kind = HeadersKind::kTrailers;
        }
        HeaderList headers = std::move(s->in_headers_);
        s->in_headers_.clear();
        if (kind == HeadersKind::kRequest) {
          c->OnRequest(*s, std::move(headers), end_stream);
        } else if (StreamHandler* h = s->handler_) {
          h->OnHeaders(*s, std::move(headers), kind, end_stream);
        }
        return 0;
      }
      case NGHTTP2_DATA: {
        if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) return 0;
        H2Stream* s = StreamOf(session, frame->hd.stream_id);
        if (s == nullptr) return 0;
        s->remote_ended_ = true;
        if (StreamHandler* h = s->handler_) h->OnEnd(*s);
        return 0;
      }
      case NGHTTP2_SETTINGS:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0 && !c->established_) {
          c->established_ = true;
          c->handshake_timer_.cancel();
          c->ArmKeepalive();
          c->OnEstablished();
        }
        return 0;
      case NGHTTP2_PING:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0) c->ping_outstanding_ = false;
        return 0;
      case NGHTTP2_GOAWAY:
        c->going_away_ = true;
        c->OnGoaway(frame->goaway.last_stream_id, frame->goaway.error_code);
        return 0;
      case NGHTTP2_RST_STREAM:
        if (c->role_ == H2Connection::Role::kServer && !c->TakeResetToken()) {
          if (!c->going_away_) {
            spdlog::warn(
                "client {}: more than {} stream resets per second; closing its connection "
                "(GOAWAY ENHANCE_YOUR_CALM)",
                c->peer_, c->options_.reset_rate);
          }
          c->going_away_ = true;
          nghttp2_session_terminate_session(session, NGHTTP2_ENHANCE_YOUR_CALM);
        }
        return 0;
      default:
        return 0;
    }
  }

  static int OnDataChunk(nghttp2_session* session, uint8_t /*flags*/, int32_t stream_id,
                         const uint8_t* data, size_t len, void* /*user_data*/) {
    H2Stream* s = StreamOf(session, stream_id);
    if (s == nullptr || s->handler_ == nullptr || s->closing_) {
      nghttp2_session_consume(session, stream_id, len);  // nobody wants it: give the window back
      return 0;
    }
    s->unconsumed_ += len;
    s->handler_->OnData(*s, data, len);
    return 0;
  }

  static int OnStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                           void* user_data) {
    H2Stream* s = StreamOf(session, stream_id);
    if (s == nullptr) return 0;
    H2Connection* c = Self(user_data);
    nghttp2_session_set_stream_user_data(session, stream_id, nullptr);
    if (s->unconsumed_ > 0) nghttp2_session_consume_connection(session, s->unconsumed_);
    c->Unlink(s);
    if (StreamHandler* h = s->handler_) h->OnClose(*s, error_code);
    delete s;
    return 0;
  }

  static int BeforeFrameSend(nghttp2_session* session, const nghttp2_frame* frame,
                             void* /*user_data*/) {
    // Never NGHTTP2_ERR_CANCEL a HEADERS here: nghttp2 has compressed it already, and the
    // peer's HPACK table would no longer match ours. A reset before the HEADERS went out is
    // handled by nghttp2_submit_rst_stream, which drops the queued HEADERS unsent.
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    // From here the frame goes out: the peer may see the stream.
    if (H2Stream* s = StreamOf(session, frame->hd.stream_id)) s->headers_sent_ = true;
    return 0;
  }

  static int OnFrameSend(nghttp2_session* session, const nghttp2_frame* frame,
                         void* /*user_data*/) {
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) return 0;
    H2Stream* s = StreamOf(session, frame->hd.stream_id);
    if (s != nullptr && s->reset_after_end_ && !s->remote_ended_ && !s->closing_) {
      s->closing_ = true;
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    }
    return 0;
  }

  static int OnError(nghttp2_session* /*session*/, int lib_error_code, const char* msg, size_t len,
                     void* user_data) {
    SPDLOG_DEBUG("http2 {}: {} ({})", Self(user_data)->peer_, std::string_view(msg, len),
                 nghttp2_strerror(lib_error_code));
    (void)lib_error_code;
    (void)msg;
    (void)len;
    (void)user_data;
    return 0;
  }

  // The data source of every stream: what H2Stream::Write queued.
  static ssize_t ReadData(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                          uint32_t* data_flags, nghttp2_data_source* source, void* /*user_data*/) {
    auto* s = static_cast<H2Stream*>(source->ptr);
    size_t n = 0;
    if (!s->borrowed_.empty()) {
      n = std::min(s->borrowed_.size(), length);
      std::memcpy(buf, s->borrowed_.data(), n);
      s->borrowed_.remove_prefix(n);
    } else if (const size_t avail = s->out_.size() - s->out_pos_; avail > 0) {
      n = std::min(avail, length);
      std::memcpy(buf, s->out_.data() + s->out_pos_, n);
      s->out_pos_ += n;
      if (s->out_pos_ == s->out_.size()) {
        s->out_.clear();
        s->out_pos_ = 0;
        if (s->out_.capacity() > kKeepCapacity) std::string().swap(s->out_);
      }
    }
    if (s->borrowed_.empty() && s->out_pos_ == s->out_.size() && (s->end_ || s->has_trailers_)) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      if (s->has_trailers_) {
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        const NvList nv(s->trailers_);
        nghttp2_submit_trailer(session, stream_id, nv.data(), nv.size());
      }
    } else if (n == 0) {
      s->deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    if (n > 0 && s->handler_ != nullptr) s->handler_->OnSent(*s, n);
    return static_cast<ssize_t>(n);
  }

  static nghttp2_session_callbacks* Get() {
    static nghttp2_session_callbacks* callbacks = [] {
      nghttp2_session_callbacks* cb;
      nghttp2_session_callbacks_new(&cb);
      nghttp2_session_callbacks_set_on_begin_headers_callback(cb, OnBeginHeaders);
      nghttp2_session_callbacks_set_on_header_callback(cb, OnHeader);
      nghttp2_session_callbacks_set_on_frame_recv_callback(cb, OnFrameRecv);
      nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, OnDataChunk);
      nghttp2_session_callbacks_set_on_stream_close_callback(cb, OnStreamClose);
      nghttp2_session_callbacks_set_before_frame_send_callback(cb, BeforeFrameSend);
      nghttp2_session_callbacks_set_on_frame_send_callback(cb, OnFrameSend);
      nghttp2_session_callbacks_set_error_callback2(cb, OnError);
      return cb;
    }();
    return callbacks;
  }
};

H2Connection::H2Connection(boost::asio::io_context& io, Role role, const Options& options)
    : io_(io),
      role_(role),
      options_(options),
      handshake_timer_(io),
      keepalive_timer_(io),
      reset_tokens_(options.reset_burst),
      reset_refill_(std::chrono::steady_clock::now()) {
  nghttp2_option* opt;
  nghttp2_option_new(&opt);
  // Window updates follow what the other side of the relay took (StreamHandler::OnData).
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_send_header_block_length(opt, 1 << 20);
  if (role == Role::kServer) {
    // Closed streams leave nothing behind (a reset flood must not accumulate state); the
    // library's own reset limiter stays as a backstop above ours.
    nghttp2_option_set_no_closed_streams(opt, 1);
    nghttp2_option_set_stream_reset_rate_limit(opt, uint64_t{options.reset_burst} * 2,
                                               uint64_t{options.reset_rate} * 2);
    nghttp2_session_server_new3(&session_, H2Callbacks::Get(), this, opt, &pool_mem);
    reset_filter_ = std::make_unique<IdleResetFilter>(NGHTTP2_CLIENT_MAGIC_LEN);
  } else {
    nghttp2_session_client_new3(&session_, H2Callbacks::Get(), this, opt, &pool_mem);
  }
  nghttp2_option_del(opt);

  std::vector<nghttp2_settings_entry> settings = {
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(options.stream_window)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(options.max_header_bytes)},
  };
  if (role == Role::kServer) {
    settings.push_back({NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams});
  } else {
    settings.push_back({NGHTTP2_SETTINGS_ENABLE_PUSH, 0});
  }
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, options.connection_window);
}

H2Connection::~H2Connection() {
  // Streams still open were closed by Close(); any left (never started) go with the session.
  while (streams_ != nullptr) {
    H2Stream* s = streams_;
    Unlink(s);
    delete s;
  }
  nghttp2_session_del(session_);
}

void H2Connection::Start(std::unique_ptr<Transport> transport) {
  transport_ = std::move(transport);
  peer_ = transport_->PeerName();
  last_recv_ = std::chrono::steady_clock::now();
  ArmHandshakeTimer();
  if (transport_->tls()) {
    Handshake();
  } else {
    BeginHttp2();
  }
}

void H2Connection::ArmHandshakeTimer() {
  handshake_timer_.expires_after(options_.handshake_timeout);
  handshake_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->closed_ || self->established_) return;
    self->Close(self->tls_done_ ? "no HTTP/2 settings within the handshake timeout"
                                : "TLS handshake not done within the handshake timeout");
  });
}

void H2Connection::Handshake() {
  if (closed_) return;
  const Transport::Result r = transport_->Handshake();
  auto again = [self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->Handshake();
  };
  switch (r.io) {
    case Transport::Io::kDone:
      BeginHttp2();
      return;
    case Transport::Io::kWantRead:
      transport_->WaitReadable(std::move(again));
      return;
    case Transport::Io::kWantWrite:
      transport_->WaitWritable(std::move(again));
      return;
    case Transport::Io::kClosed:
      Close("closed during the TLS handshake");
      return;
    case Transport::Io::kError:
      Close(transport_->error());
      return;
  }
}

void H2Connection::BeginHttp2() {
  tls_done_ = true;
  Flush();  // the client preface (client side) and our SETTINGS
  WaitRead();
}

void H2Connection::WaitRead() {
  if (closed_ || read_paused_) return;
  transport_->WaitReadable([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && !self->closed_) self->OnReadable();
  });
}

void H2Connection::OnReadable() {
  bool more = false;
  for (int i = 0; i < kMaxReadsPerWake; ++i) {
    const Transport::Result r = transport_->Read(read_buffer, kReadSize);
    if (r.io == Transport::Io::kDone) {
      last_recv_ = std::chrono::steady_clock::now();
      Feed(read_buffer, r.bytes);
      if (closed_) return;
      // A short plaintext read drained the socket; TLS may hold more records, keep reading.
      if (!transport_->tls() && r.bytes < kReadSize) break;
      more = i + 1 == kMaxReadsPerWake;
      continue;
    }
    if (r.io == Transport::Io::kWantRead) break;
    if (r.io == Transport::Io::kWantWrite) {  // TLS: a key update needs a write first
      Flush();
      break;
    }
    Close(r.io == Transport::Io::kClosed ? "closed by the peer" : transport_->error());
    return;
  }
  Flush();
  if (closed_) return;
  if (out_.size() - out_pos_ >= kHighWater) {
    read_paused_ = true;  // resumed once the socket took our output
    return;
  }
  if (more) {
    boost::asio::post(io_, [self = shared_from_this()] {
      if (!self->closed_) self->OnReadable();
    });
  } else {
    WaitRead();
  }
}

void H2Connection::Feed(const uint8_t* data, size_t len) {
  bool failed = false;
  auto feed = [&](const uint8_t* p, size_t n) {
    if (failed || close_pending_) return;
    ++in_session_;
    const ssize_t rv = nghttp2_session_mem_recv(session_, p, n);
    --in_session_;
    if (rv < 0) {
      // A fatal error (flood, bad preface): nghttp2 queued a GOAWAY where it could; send it,
      // then close.
      failed = true;
      Flush();
      Close(std::string("HTTP/2 error: ") + nghttp2_strerror(static_cast<int>(rv)));
    }
  };
  if (reset_filter_ == nullptr) {
    feed(data, len);
  } else {
    const size_t dropped = reset_filter_->Filter(data, len, feed, [this](uint32_t id) {
      return (id & 1) != 0 &&
             static_cast<int32_t>(id) > nghttp2_session_get_last_proc_stream_id(session_);
    });
    // They still count against the reset rate: a flood of them is a flood.
    for (size_t i = 0; i < dropped && !failed && !closed_; ++i) {
      if (TakeResetToken()) continue;
      spdlog::warn(
          "client {}: more than {} stream resets per second; closing its connection "
          "(GOAWAY ENHANCE_YOUR_CALM)",
          peer_, options_.reset_rate);
      going_away_ = true;
      nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
      break;
    }
  }
  if (close_pending_) FinishClose();
}

void H2Connection::ScheduleFlush() {
  if (flush_scheduled_ || closed_) return;
  flush_scheduled_ = true;
  boost::asio::post(io_, [self = shared_from_this()] {
    self->flush_scheduled_ = false;
    self->Flush();
  });
}

void H2Connection::Flush() {
  if (closed_ || !tls_done_ || writing_ || in_session_ > 0) return;
  for (;;) {
    while (out_.size() - out_pos_ < kHighWater) {
      const uint8_t* data = nullptr;
      ++in_session_;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      --in_session_;
      if (n < 0) {
        Close(std::string("HTTP/2 error: ") + nghttp2_strerror(static_cast<int>(n)));
        return;
      }
      if (close_pending_) {
        FinishClose();
        return;
      }
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (out_pos_ == out_.size()) break;
    const Transport::Result r = transport_->Write(
        reinterpret_cast<const uint8_t*>(out_.data()) + out_pos_, out_.size() - out_pos_);
    if (r.io == Transport::Io::kDone) {
      out_pos_ += r.bytes;
      if (out_pos_ == out_.size()) {
        out_.clear();
        out_pos_ = 0;
        if (out_.capacity() > kKeepCapacity) std::string().swap(out_);
      }
      continue;
    }
    if (r.io == Transport::Io::kWantWrite || r.io == Transport::Io::kWantRead) {
      writing_ = true;
      auto resume = [self = shared_from_this()](const boost::system::error_code& ec) {
        self->writing_ = false;
        if (ec || self->closed_) return;
        self->Flush();
      };
      if (r.io == Transport::Io::kWantWrite) {
        transport_->WaitWritable(std::move(resume));
      } else {
        transport_->WaitReadable(std::move(resume));
      }
      return;
    }
    Close(r.io == Transport::Io::kClosed ? "closed by the peer" : transport_->error());
    return;
  }
  if (read_paused_) {
    read_paused_ = false;
    WaitRead();
  }
  if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
    Close(going_away_ ? "closed after GOAWAY" : "session ended");
  }
}

void H2Connection::Close(const std::string& why) {
  if (closed_) return;
  if (close_reason_.empty()) close_reason_ = why;
  if (in_session_ > 0) {
    close_pending_ = true;  // nghttp2 is on the stack: finish once it returns
    return;
  }
  FinishClose();
}

void H2Connection::FinishClose() {
  if (closed_) return;
  closed_ = true;
  close_pending_ = false;
  handshake_timer_.cancel();
  keepalive_timer_.cancel();
  if (transport_) transport_->Close();
  // Keep this object alive while the handlers run (one may drop the last reference).
  const auto self = shared_from_this();
  while (streams_ != nullptr) {
    H2Stream* s = streams_;
    Unlink(s);
    nghttp2_session_set_stream_user_data(session_, s->id_, nullptr);
    if (StreamHandler* h = s->handler_) h->OnClose(*s, kConnectionLost);
    delete s;
  }
  OnClosed();
}

void H2Connection::Shutdown(uint32_t error_code) {
  if (closed_ || going_away_) return;
  going_away_ = true;
  if (role_ == Role::kServer && error_code == NGHTTP2_NO_ERROR) {
    // The graceful form: a notice now, the final GOAWAY (naming the last stream taken) after a
    // round trip, so that requests already on their way are not lost.
    nghttp2_submit_shutdown_notice(session_);
  }
  // Not terminate_session, which closes as soon as the GOAWAY is out: the open streams finish
  // first (nghttp2 stops wanting reads once none is left).
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), error_code, nullptr, 0);
  ScheduleFlush();
}

bool H2Connection::SubmitResponse(H2Stream& stream, const HeaderList& headers, bool end_stream) {
  if (closed_) return false;
  const NvList nv(headers);
  nghttp2_data_provider provider{};
  provider.source.ptr = &stream;
  provider.read_callback = H2Callbacks::ReadData;
  if (!end_stream) stream.has_provider_ = true;
  const int rv = nghttp2_submit_response(session_, stream.id_, nv.data(), nv.size(),
                                         end_stream ? nullptr : &provider);
  if (rv != 0) {
    stream.has_provider_ = false;
    return false;
  }
  ScheduleFlush();
  return true;
}

H2Stream* H2Connection::SubmitRequest(const HeaderList& headers, StreamHandler* handler,
                                      bool end_stream) {
  if (going_away()) return nullptr;
  auto* stream = new H2Stream(this, 0);
  stream->handler_ = handler;
  const NvList nv(headers);
  nghttp2_data_provider provider{};
  provider.source.ptr = stream;
  provider.read_callback = H2Callbacks::ReadData;
  stream->has_provider_ = !end_stream;
  const int32_t id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(),
                                            end_stream ? nullptr : &provider, stream);
  if (id < 0) {
    if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) going_away_ = true;  // rotate the connection
    delete stream;
    return nullptr;
  }
  stream->id_ = id;
  Link(stream);
  ScheduleFlush();
  return stream;
}

void H2Connection::Link(H2Stream* s) {
  s->prev_ = nullptr;
  s->next_ = streams_;
  if (streams_ != nullptr) streams_->prev_ = s;
  streams_ = s;
  ++open_streams_;
}

void H2Connection::Unlink(H2Stream* s) {
  if (s->prev_ != nullptr) {
    s->prev_->next_ = s->next_;
  } else {
    streams_ = s->next_;
  }
  if (s->next_ != nullptr) s->next_->prev_ = s->prev_;
  s->prev_ = s->next_ = nullptr;
  --open_streams_;
}

bool H2Connection::TakeResetToken() {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - reset_refill_).count();
  reset_refill_ = now;
  reset_tokens_ =
      std::min<double>(options_.reset_burst, reset_tokens_ + elapsed * options_.reset_rate);
  if (reset_tokens_ < 1) return false;
  reset_tokens_ -= 1;
  return true;
}

void H2Connection::ArmKeepalive() {
  if (options_.keepalive_time.count() <= 0 || closed_) return;
  const auto tick = std::min(options_.keepalive_time, options_.keepalive_timeout);
  keepalive_timer_.expires_after(tick);
  keepalive_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && !self->closed_) self->OnKeepaliveTick();
  });
}

void H2Connection::OnKeepaliveTick() {
  const auto now = std::chrono::steady_clock::now();
  if (ping_outstanding_) {
    if (now - ping_sent_ >= options_.keepalive_timeout) {
      Close("no answer to a keepalive ping within " +
            std::to_string(options_.keepalive_timeout.count()) + " ms");
      return;
    }
  } else if (now - last_recv_ >= options_.keepalive_time &&
             (!options_.ping_only_with_streams || open_streams_ > 0)) {
    nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
    ping_outstanding_ = true;
    ping_sent_ = now;
    Flush();
  }
  ArmKeepalive();
}

// H2Stream's operations need the session.

void H2Stream::Write(std::string_view bytes) {
  if (connection_->closed_ || closing_ || end_ || has_trailers_) return;
  out_.append(bytes.data(), bytes.size());
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(connection_->session_, id_);
  }
  connection_->ScheduleFlush();
}

void H2Stream::WriteBorrowed(std::string_view bytes) {
  if (connection_->closed_ || closing_ || end_ || has_trailers_ || bytes.empty()) return;
  if (!borrowed_.empty() || out_pos_ != out_.size()) {
    Write(bytes);  // something is queued already: keep the order
    return;
  }
  borrowed_ = bytes;
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(connection_->session_, id_);
  }
  connection_->ScheduleFlush();
}

void H2Stream::End() {
  if (connection_->closed_ || closing_ || end_ || has_trailers_) return;
  end_ = true;
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(connection_->session_, id_);
  }
  connection_->ScheduleFlush();
}

void H2Stream::EndWithTrailers(HeaderList trailers) {
  if (connection_->closed_ || closing_ || end_ || has_trailers_) return;
  has_trailers_ = true;
  trailers_ = std::move(trailers);
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(connection_->session_, id_);
  }
  connection_->ScheduleFlush();
}

void H2Stream::Consume(size_t n) {
  if (connection_->closed_ || n == 0) return;
  n = std::min(n, unconsumed_);
  unconsumed_ -= n;
  nghttp2_session_consume(connection_->session_, id_, n);
  connection_->ScheduleFlush();
}

void H2Stream::Reset(uint32_t code) {
  if (connection_->closed_ || closing_) return;
  closing_ = true;
  // A request whose HEADERS still wait in nghttp2's queue is dropped there, unsent (and closes
  // with `code`); otherwise an RST_STREAM follows the HEADERS already on their way.
  nghttp2_submit_rst_stream(connection_->session_, NGHTTP2_FLAG_NONE, id_, code);
  connection_->ScheduleFlush();
}

}  // namespace ehp
