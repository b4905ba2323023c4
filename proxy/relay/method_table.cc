#include "proxy/relay/method_table.h"

#include <google/protobuf/descriptor.h>

#include "etcd/etcdserver/api/v3election/v3electionpb/v3election.grpc.pb.h"
#include "etcd/etcdserver/api/v3lock/v3lockpb/v3lock.grpc.pb.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace ehp {

MethodTable::MethodTable() {
  // Naming the descriptors links the generated code and registers it in the generated pool.
  const google::protobuf::FileDescriptor* files[] = {
      etcdserverpb::RangeRequest::descriptor()->file(),
      v3lockpb::LockRequest::descriptor()->file(),
      v3electionpb::CampaignRequest::descriptor()->file(),
  };
  for (const auto* file : files) {
    for (int s = 0; s < file->service_count(); ++s) {
      const auto* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const auto* method = service->method(m);
        if (!method->client_streaming() && !method->server_streaming()) {
          unary_.insert("/" + service->full_name() + "/" + method->name());
        }
      }
    }
  }
}

const std::string* MethodTable::FindUnary(std::string_view path) const {
  const auto it = unary_.find(path);
  return it == unary_.end() ? nullptr : &*it;
}

}  // namespace ehp
