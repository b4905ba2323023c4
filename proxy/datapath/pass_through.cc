#include "proxy/datapath/pass_through.h"

#include "proxy/h2/grpc_status.h"

namespace ehp {
namespace {

constexpr int kCancelled = 1;
constexpr int kUnavailable = 14;

}  // namespace

void PassThrough::Start(H2Stream& client, const HeaderList& headers, bool end_stream,
                        MemberConnection* upstream, DoneFn done) {
  auto* relay = new PassThrough(&client, std::move(done));
  client.set_handler(relay);
  H2Stream* up = upstream != nullptr ? upstream->Open(headers, relay, end_stream) : nullptr;
  if (up == nullptr) {
    relay->FailClient(kUnavailable, "etcd-health-proxy: no connection to " +
                                        (upstream ? upstream->target().name : "the member") +
                                        " takes new streams");
    return;
  }
  relay->upstream_ = up;
  relay->upstream_name_ = upstream->target().name;
}

void PassThrough::OnHeaders(H2Stream& stream, HeaderList headers, HeadersKind kind,
                            bool end_stream) {
  if (&stream == client_) {
    // Trailers from a client: rare in gRPC, passed on like the rest.
    if (upstream_ != nullptr) upstream_->EndWithTrailers(std::move(headers));
    return;
  }
  if (client_ == nullptr || client_ended_) return;
  if (kind == HeadersKind::kResponse) {
    response_started_ = true;
    const auto status = end_stream ? StatusOf(headers) : std::nullopt;
    client_->connection().SubmitResponse(*client_, headers, end_stream);
    if (end_stream) {
      client_ended_ = true;
      Finished(status ? status->code : 0);
    }
    return;
  }
  const auto status = StatusOf(headers);
  client_ended_ = true;
  client_->EndWithTrailers(std::move(headers));
  Finished(status ? status->code : 0);
}

void PassThrough::OnData(H2Stream& stream, const uint8_t* data, size_t len) {
  H2Stream* to = &stream == client_ ? upstream_ : (client_ended_ ? nullptr : client_);
  if (to == nullptr) {
    stream.Consume(len);  // nobody to give it to
    return;
  }
  // Consumed (the sender may send more) once the other connection took it: see OnSent.
  to->Write(std::string_view(reinterpret_cast<const char*>(data), len));
}

void PassThrough::OnSent(H2Stream& stream, size_t bytes) {
  H2Stream* from = &stream == client_ ? upstream_ : client_;
  if (from != nullptr) from->Consume(bytes);
}

void PassThrough::OnEnd(H2Stream& stream) {
  if (&stream == client_) {
    if (upstream_ != nullptr) upstream_->End();
    return;
  }
  // Data then END_STREAM without trailers: not gRPC, but passed on as it came.
  if (client_ != nullptr && !client_ended_) {
    client_ended_ = true;
    client_->End();
    Finished(0);
  }
}

void PassThrough::OnClose(H2Stream& stream, uint32_t error_code) {
  if (&stream == client_) {
    client_ = nullptr;
    // The client went away (or reset the stream) before the answer was complete.
    if (upstream_ != nullptr && (error_code != NGHTTP2_NO_ERROR || !client_ended_)) {
      upstream_->Reset(NGHTTP2_CANCEL);
    }
    Finished(kCancelled);
    MaybeDelete();
    return;
  }
  upstream_ = nullptr;
  if (client_ != nullptr && !client_ended_) {
    if (error_code == NGHTTP2_CANCEL) {
      FailClient(kCancelled, "etcd-health-proxy: " + upstream_name_ + " cancelled the call");
    } else if (error_code == kConnectionLost) {
      FailClient(kUnavailable,
                 "etcd-health-proxy: the connection to " + upstream_name_ + " was lost");
    } else {
      FailClient(kUnavailable, "etcd-health-proxy: " + upstream_name_ + " reset the stream (" +
                                   nghttp2_http2_strerror(error_code) + ")");
    }
  }
  MaybeDelete();
}

void PassThrough::FailClient(int code, const std::string& message) {
  if (client_ == nullptr || client_ended_) return;
  client_ended_ = true;
  if (!response_started_) {
    response_started_ = true;
    client_->connection().SubmitResponse(*client_, TrailersOnly(code, message), true);
    // The answer is complete: the client need not send the rest of its request (RFC 9113 8.1).
    if (!client_->remote_ended()) client_->ResetAfterEnd();
  } else {
    client_->EndWithTrailers(StatusTrailers(code, message));
  }
  Finished(code);
}

void PassThrough::Finished(int code) {
  if (final_code_ >= 0) return;
  final_code_ = code;
  if (done_) done_(code);
}

void PassThrough::MaybeDelete() {
  if (client_ == nullptr && upstream_ == nullptr) delete this;
}

}  // namespace ehp
