// The messages of one Watch stream as the data path relays them: whole gRPC messages are cut
// out of the bytes in each direction so that WatchTracker can follow what the stream asked for
// and was given. What passes is the bytes as they came, except the answers to re-creations (kept
// from the client) and the failed re-creations (replaced). Pure: bytes in, bytes out.
//
// Requests pass only as whole messages, so a stream that moves to another member never leaves
// half a message behind on the old one. A message the filter cannot read (compressed, or not a
// WatchRequest/WatchResponse) still passes, but the stream can no longer be resumed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "proxy/h2/grpc_framing.h"
#include "proxy/relay/watch_tracker.h"

namespace ehp {

class WatchFilter {
 public:
  // Messages larger than `max_message` fail the stream (FromClient/FromMember return false).
  explicit WatchFilter(size_t max_message) : from_client_(max_message), from_member_(max_message) {}

  // Client bytes that go to the member now: appends to *to_member the messages they complete.
  bool FromClient(const uint8_t* data, size_t len, std::string* to_member);
  // Member bytes: appends to *to_client what the client gets.
  bool FromMember(const uint8_t* data, size_t len, std::string* to_client);

  // False while the stream cannot move without repeating or losing events (a watcher between
  // the fragments of one response, or a message the filter could not read).
  bool CanResume() const { return readable_ && tracker_.CanResume(); }
  // The stream moves to another member: returns the requests to send there first, and appends
  // to *to_client the answers the client must get now. A message the old member cut off
  // half-way is dropped.
  std::string Resume(std::string* to_client);

  // What the member's responses since the last call said about how current its stream is
  // (WatchTracker::Delivery, merged: the oldest live event, the newest progress revision).
  WatchTracker::Delivery TakeDelivery() { return std::exchange(delivery_, {}); }

  size_t watchers() const { return tracker_.watchers(); }
  // Bytes of incomplete messages held, either way.
  size_t pending() const { return from_client_.pending() + from_member_.pending(); }

 private:
  GrpcMessageAssembler from_client_;
  GrpcMessageAssembler from_member_;
  WatchTracker tracker_;
  WatchTracker::Delivery delivery_;
  bool readable_ = true;
};

}  // namespace ehp
