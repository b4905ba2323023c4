// Single gRPC calls as the integration suites make them: a context with a deadline (so a stuck
// call fails the test instead of hanging it) and a Range or Put whose status is what matters.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace ehp::testing {

// A client context whose deadline is `timeout` from now.
std::unique_ptr<grpc::ClientContext> ContextWithDeadline(std::chrono::milliseconds timeout);

// A Range of `key` on `channel` within `timeout`; the answer goes to *resp when given.
grpc::Status RangeKey(const std::shared_ptr<grpc::Channel>& channel, const std::string& key,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5),
                      etcdserverpb::RangeResponse* resp = nullptr);

// A Put of `key` = `value` on `channel` within `timeout`.
grpc::Status PutKey(const std::shared_ptr<grpc::Channel>& channel, const std::string& key,
                    const std::string& value,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace ehp::testing
