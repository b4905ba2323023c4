// TLS (or plaintext) credentials for the client listener.
#pragma once

#include <grpcpp/security/server_credentials.h>

#include <functional>
#include <memory>
#include <string>

#include "proxy/config/proxy_config.h"

namespace ehp {

// Called with the presented identity ("CN=... SAN=[...]") of each client certificate that the
// CA accepted but --allowed-client-names did not.
using ClientRefusedFn = std::function<void(const std::string& identity)>;

// With --cert-file: TLS whose certificate, key and client CA are re-read when the files change;
// with --trusted-ca-file, clients must present a certificate it signed (and, with
// --allowed-client-names, one that names an allowed client). Else plaintext.
std::shared_ptr<grpc::ServerCredentials> MakeListenerCredentials(const Config& config,
                                                                 ClientRefusedFn on_refused);

}  // namespace ehp
