// Copying gRPC metadata between the client's call and the member's call, both ways.
#pragma once

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>

#include <string_view>

namespace ehp {

// Whether a key may be copied onto a call: legal for gRPC (lowercase token characters) and not
// one that the HTTP/2 or gRPC layers manage themselves (pseudo-headers, grpc-*, te, ...).
// Adding an illegal key aborts the process inside gRPC, so every copy goes through this.
bool IsRelayableKey(std::string_view key);
bool IsLegalValue(std::string_view key, std::string_view value);

// Client request metadata -> the call towards the member (auth token, hasleader, custom keys).
// With `add_hasleader`, "hasleader: true" is added when the client did not send the key.
// Returns whether the member's call carries "hasleader: true".
bool CopyRequestMetadata(const grpc::CallbackServerContext& from, grpc::ClientContext* to,
                         bool add_hasleader = false);

// Member's initial metadata -> the client's call (before the first response is sent).
void CopyInitialMetadata(const grpc::ClientContext& from, grpc::CallbackServerContext* to);

// Member's trailing metadata -> the client's call (before Finish).
void CopyTrailingMetadata(const grpc::ClientContext& from, grpc::CallbackServerContext* to);

}  // namespace ehp
