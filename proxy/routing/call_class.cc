#include "proxy/routing/call_class.h"

#include <array>
#include <optional>
#include <utility>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"

namespace ehp {
namespace {

constexpr std::string_view kRange = "/etcdserverpb.KV/Range";
constexpr std::string_view kTxn = "/etcdserverpb.KV/Txn";
constexpr std::string_view kRangeStream = "/etcdserverpb.KV/RangeStream";

struct Known {
  std::string_view method;
  CallKind kind;
};

// Every etcd v3 method that is not a write. Anything else (including methods this table does
// not know) is treated as a write: never retried after an ambiguous failure.
constexpr std::array kKnown = {
    Known{kRange, CallKind::kRead},
    Known{kTxn, CallKind::kRead},
    Known{kRangeStream, CallKind::kRead},  // etcd 3.7
    Known{"/etcdserverpb.Watch/Watch", CallKind::kStream},
    Known{"/etcdserverpb.Lease/LeaseKeepAlive", CallKind::kStream},
    Known{"/etcdserverpb.Lease/LeaseTimeToLive", CallKind::kRead},
    Known{"/etcdserverpb.Lease/LeaseLeases", CallKind::kRead},
    Known{"/etcdserverpb.Cluster/MemberList", CallKind::kRead},
    Known{"/etcdserverpb.Maintenance/Status", CallKind::kMemberLocal},
    Known{"/etcdserverpb.Maintenance/Defragment", CallKind::kMemberLocal},
    Known{"/etcdserverpb.Maintenance/Hash", CallKind::kMemberLocal},
    Known{"/etcdserverpb.Maintenance/HashKV", CallKind::kMemberLocal},
    Known{"/etcdserverpb.Maintenance/Snapshot", CallKind::kStream},
    // A repeat only issues another token.
    Known{"/etcdserverpb.Auth/Authenticate", CallKind::kRead},
    Known{"/etcdserverpb.Auth/AuthStatus", CallKind::kRead},
    Known{"/etcdserverpb.Auth/UserGet", CallKind::kRead},
    Known{"/etcdserverpb.Auth/UserList", CallKind::kRead},
    Known{"/etcdserverpb.Auth/RoleGet", CallKind::kRead},
    Known{"/etcdserverpb.Auth/RoleList", CallKind::kRead},
    Known{"/v3electionpb.Election/Leader", CallKind::kRead},
    Known{"/v3electionpb.Election/Observe", CallKind::kStream},
};

bool ReadOnly(const etcdserverpb::RequestOp& op);

bool ReadOnly(const google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>& ops) {
  for (const auto& op : ops) {
    if (!ReadOnly(op)) return false;
  }
  return true;
}

bool ReadOnly(const etcdserverpb::RequestOp& op) {
  switch (op.request_case()) {
    case etcdserverpb::RequestOp::kRequestRange:
      return true;
    case etcdserverpb::RequestOp::kRequestTxn:
      return ReadOnly(op.request_txn().success()) && ReadOnly(op.request_txn().failure());
    default:
      return false;  // put, delete, or a kind this build does not know
  }
}

// RangeRequest.serializable (field 7) read off the wire without building the message: the one
// field the class needs. nullopt for bytes that are not a RangeRequest, exactly where parsing
// it would fail (the call_class fuzzer holds the two to the same answer).
std::optional<bool> ScanRangeSerializable(std::string_view request) {
  using google::protobuf::internal::WireFormatLite;
  constexpr uint32_t kSerializableField = 7;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(request.data()),
                                            static_cast<int>(request.size()));
  bool serializable = false;
  while (!in.ExpectAtEnd()) {
    // A tag as protobuf's parser reads one: at most 5 bytes, the bits above 32 dropped.
    const int at = in.CurrentPosition();
    uint64_t raw;
    if (!in.ReadVarint64(&raw) || in.CurrentPosition() - at > 5) return std::nullopt;
    const auto tag = static_cast<uint32_t>(raw);
    if (tag == 0) return std::nullopt;  // no parser accepts a zero tag
    const auto wire_type = WireFormatLite::GetTagWireType(tag);
    if (wire_type == WireFormatLite::WIRETYPE_END_GROUP) return std::nullopt;  // no group open
    if (WireFormatLite::GetTagFieldNumber(tag) == 0) return std::nullopt;
    if (WireFormatLite::GetTagFieldNumber(tag) == kSerializableField &&
        wire_type == WireFormatLite::WIRETYPE_VARINT) {
      uint64_t value;
      if (!in.ReadVarint64(&value)) return std::nullopt;
      serializable = value != 0;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return std::nullopt;
    }
  }
  return serializable;
}

}  // namespace

CallClass ClassifyMethod(std::string_view method) {
  CallClass c;
  for (const Known& k : kKnown) {
    if (k.method == method) c.kind = k.kind;
  }
  c.to_leader = method == "/etcdserverpb.Maintenance/MoveLeader" ||
                method == "/etcdserverpb.Lease/LeaseKeepAlive";
  // Maintenance calls are about one member and must answer even when it has no leader (Status
  // is how operators see that); all the others are refused by a leaderless member at once.
  c.hasleader = !method.starts_with("/etcdserverpb.Maintenance/");
  return c;
}

CallClass ClassifyStream(std::string_view method) {
  CallClass c = ClassifyMethod(method);
  if (method != kRangeStream) c.kind = CallKind::kStream;
  return c;
}

bool NeedsRequest(std::string_view method) { return method == kRange || method == kTxn; }

CallClass ClassifyRequest(std::string_view method, std::string_view request) {
  CallClass c = ClassifyMethod(method);
  if (method == kRange) {
    const std::optional<bool> serializable = ScanRangeSerializable(request);
    if (!serializable) {
      c.kind = CallKind::kWrite;
    } else if (*serializable) {
      c.kind = CallKind::kSerializableRead;
    }
  } else if (method == kTxn) {
    etcdserverpb::TxnRequest txn;
    if (!txn.ParseFromArray(request.data(), static_cast<int>(request.size())) ||
        !ReadOnly(txn.success()) || !ReadOnly(txn.failure())) {
      c.kind = CallKind::kWrite;
    }
  }
  return c;
}

std::string_view ToString(CallKind kind) {
  switch (kind) {
    case CallKind::kRead:
      return "read";
    case CallKind::kSerializableRead:
      return "serializable_read";
    case CallKind::kWrite:
      return "write";
    case CallKind::kMemberLocal:
      return "member_local";
    case CallKind::kStream:
      return "stream";
  }
  return "write";
}

}  // namespace ehp
