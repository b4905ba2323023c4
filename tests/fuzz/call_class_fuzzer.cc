// libFuzzer target: a call's class from its method name and its request bytes (ClassifyMethod,
// ClassifyStream, ClassifyRequest). Any method and any bytes must give a class; for Range and
// Txn the class must be the one the parsed request calls for: a serializable Range is a
// serializable read, a Txn with a put, a delete or an operation of an unknown kind in any
// branch (at any depth) is a write, bytes that are not the request make a write.
//
// Input: one selector byte (a known method, or a method name taken from the input), then the
// request bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"
#include "proxy/routing/call_class.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/quiet_protobuf.h"

namespace {

using ehp::CallClass;
using ehp::CallKind;

constexpr std::string_view kRange = "/etcdserverpb.KV/Range";
constexpr std::string_view kTxn = "/etcdserverpb.KV/Txn";
constexpr std::string_view kRangeStream = "/etcdserverpb.KV/RangeStream";

constexpr std::string_view kMethods[] = {
    kRange,
    kTxn,
    kRangeStream,
    "/etcdserverpb.KV/Put",
    "/etcdserverpb.KV/DeleteRange",
    "/etcdserverpb.KV/Compact",
    "/etcdserverpb.Watch/Watch",
    "/etcdserverpb.Lease/LeaseGrant",
    "/etcdserverpb.Lease/LeaseKeepAlive",
    "/etcdserverpb.Lease/LeaseTimeToLive",
    "/etcdserverpb.Cluster/MemberList",
    "/etcdserverpb.Maintenance/Status",
    "/etcdserverpb.Maintenance/MoveLeader",
    "/etcdserverpb.Maintenance/Snapshot",
    "/etcdserverpb.Auth/Authenticate",
    "/v3electionpb.Election/Observe",
};
constexpr size_t kKnownMethods = sizeof(kMethods) / sizeof(kMethods[0]);

bool ValidKind(CallKind kind) {
  switch (kind) {
    case CallKind::kRead:
    case CallKind::kSerializableRead:
    case CallKind::kWrite:
    case CallKind::kMemberLocal:
    case CallKind::kStream:
      return true;
  }
  return false;
}

bool Same(const CallClass& a, const CallClass& b) {
  return a.kind == b.kind && a.to_leader == b.to_leader && a.hasleader == b.hasleader;
}

// Whether a parsed Txn writes, walked without recursion: every operation of both branches, and
// of the branches of every nested Txn.
bool TxnWrites(const etcdserverpb::TxnRequest& txn) {
  std::vector<const etcdserverpb::TxnRequest*> todo = {&txn};
  while (!todo.empty()) {
    const etcdserverpb::TxnRequest* t = todo.back();
    todo.pop_back();
    for (const auto* branch : {&t->success(), &t->failure()}) {
      for (const etcdserverpb::RequestOp& op : *branch) {
        if (op.has_request_txn()) {
          todo.push_back(&op.request_txn());
        } else if (!op.has_request_range()) {
          return true;  // put, delete, or nothing this build knows
        }
      }
    }
  }
  return false;
}

// The class the request calls for, from the parsed message; the method's class otherwise.
CallKind Expected(std::string_view method, std::string_view request, CallKind by_name,
                  std::string* canonical) {
  if (method == kRange) {
    etcdserverpb::RangeRequest range;
    if (!range.ParseFromArray(request.data(), static_cast<int>(request.size()))) {
      return CallKind::kWrite;
    }
    *canonical = range.SerializeAsString();
    return range.serializable() ? CallKind::kSerializableRead : CallKind::kRead;
  }
  if (method == kTxn) {
    etcdserverpb::TxnRequest txn;
    if (!txn.ParseFromArray(request.data(), static_cast<int>(request.size()))) {
      return CallKind::kWrite;
    }
    *canonical = txn.SerializeAsString();
    return TxnWrites(txn) ? CallKind::kWrite : CallKind::kRead;
  }
  return by_name;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view method;
  std::string_view request;
  const size_t selector = static_cast<uint8_t>(input[0]);
  if (selector < kKnownMethods) {
    method = kMethods[selector];
    request = input.substr(1);
  } else {
    // A name from the input: (selector - known) bytes of it.
    const size_t n = std::min(selector - kKnownMethods, size - 1);
    method = input.substr(1, n);
    request = input.substr(1 + n);
  }

  const CallClass by_name = ehp::ClassifyMethod(method);
  CHECK(ValidKind(by_name.kind) && !ehp::ToString(by_name.kind).empty());
  CHECK(by_name.hasleader != method.starts_with("/etcdserverpb.Maintenance/"));
  CHECK(by_name.to_leader == (method == "/etcdserverpb.Maintenance/MoveLeader" ||
                              method == "/etcdserverpb.Lease/LeaseKeepAlive"));
  CHECK(by_name.kind != CallKind::kSerializableRead);
  CHECK(ehp::NeedsRequest(method) == (method == kRange || method == kTxn));
  if (ehp::NeedsRequest(method)) CHECK(by_name.kind == CallKind::kRead);

  // A stream is long-lived unless it is RangeStream; leader and hasleader as by name.
  const CallClass stream = ehp::ClassifyStream(method);
  CHECK(stream.kind == (method == kRangeStream ? CallKind::kRead : CallKind::kStream));
  CHECK(stream.to_leader == by_name.to_leader && stream.hasleader == by_name.hasleader);

  // A unary call: the request decides for Range and Txn only.
  const CallClass unary = ehp::ClassifyRequest(method, request);
  CHECK(unary.to_leader == by_name.to_leader && unary.hasleader == by_name.hasleader);
  std::string canonical;
  const CallKind expected = Expected(method, request, by_name.kind, &canonical);
  CHECK(unary.kind == expected);
  if (!ehp::NeedsRequest(method)) CHECK(Same(unary, by_name));
  // The same request, serialized again by protobuf, is classified the same.
  if (!canonical.empty()) CHECK(ehp::ClassifyRequest(method, canonical).kind == expected);
  return 0;
}
