#include "tests/support/client_calls.h"

namespace ehp::testing {

std::unique_ptr<grpc::ClientContext> ContextWithDeadline(std::chrono::milliseconds timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  return ctx;
}

grpc::Status RangeKey(const std::shared_ptr<grpc::Channel>& channel, const std::string& key,
                      std::chrono::milliseconds timeout, etcdserverpb::RangeResponse* resp) {
  etcdserverpb::RangeRequest req;
  req.set_key(key);
  etcdserverpb::RangeResponse ignored;
  return etcdserverpb::KV::NewStub(channel)->Range(ContextWithDeadline(timeout).get(), req,
                                                   resp != nullptr ? resp : &ignored);
}

grpc::Status PutKey(const std::shared_ptr<grpc::Channel>& channel, const std::string& key,
                    const std::string& value, std::chrono::milliseconds timeout) {
  etcdserverpb::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  etcdserverpb::PutResponse resp;
  return etcdserverpb::KV::NewStub(channel)->Put(ContextWithDeadline(timeout).get(), req, &resp);
}

}  // namespace ehp::testing
