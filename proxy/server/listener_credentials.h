// TLS (or plaintext) credentials for the client listener.
#pragma once

#include <grpcpp/security/server_credentials.h>

#include <memory>

#include "proxy/config/proxy_config.h"

namespace ehp {

// With --cert-file: TLS whose certificate, key and client CA are re-read when the files change;
// with --trusted-ca-file, clients must present a certificate it signed. Else plaintext.
std::shared_ptr<grpc::ServerCredentials> MakeListenerCredentials(const Config& config);

}  // namespace ehp
