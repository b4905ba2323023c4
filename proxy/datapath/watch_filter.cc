#include "proxy/datapath/watch_filter.h"

namespace ehp {
namespace {

void AppendMessage(std::string* out, bool compressed, std::string_view payload) {
  out->append(GrpcPrefix(compressed, static_cast<uint32_t>(payload.size())));
  out->append(payload);
}

void AppendMessage(std::string* out, const google::protobuf::Message& message) {
  const std::string payload = message.SerializeAsString();
  AppendMessage(out, false, payload);
}

}  // namespace

bool WatchFilter::FromClient(const uint8_t* data, size_t len, std::string* to_member) {
  return from_client_.Feed(data, len, [&](bool compressed, std::string_view payload) {
    etcdserverpb::WatchRequest request;
    if (!compressed && request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      tracker_.Sent(request);
    } else {
      readable_ = false;
    }
    AppendMessage(to_member, compressed, payload);
  });
}

bool WatchFilter::FromMember(const uint8_t* data, size_t len, std::string* to_client) {
  return from_member_.Feed(data, len, [&](bool compressed, std::string_view payload) {
    etcdserverpb::WatchResponse response, replacement;
    if (compressed || !response.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      readable_ = false;
      AppendMessage(to_client, compressed, payload);
      return;
    }
    const WatchTracker::Verdict verdict = tracker_.Received(response, &replacement);
    delivery_.Merge(tracker_.delivery());
    switch (verdict) {
      case WatchTracker::Verdict::kForward:
        AppendMessage(to_client, false, payload);
        break;
      case WatchTracker::Verdict::kDrop:
        break;
      case WatchTracker::Verdict::kReplace:
        AppendMessage(to_client, replacement);
        break;
    }
  });
}

std::string WatchFilter::Resume(std::string* to_client) {
  from_member_.Reset();
  WatchTracker::Resumption r = tracker_.Resume();
  std::string requests;
  for (const auto& request : r.requests) AppendMessage(&requests, request);
  for (const auto& response : r.to_client) AppendMessage(to_client, response);
  return requests;
}

}  // namespace ehp
