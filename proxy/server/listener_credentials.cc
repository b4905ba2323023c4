#include "proxy/server/listener_credentials.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

namespace ehp {

std::shared_ptr<grpc::ServerCredentials> MakeListenerCredentials(const Config& config) {
  namespace gx = grpc::experimental;
  if (config.cert_file.empty()) return grpc::InsecureServerCredentials();
  const unsigned refresh = static_cast<unsigned>(
      std::chrono::duration_cast<std::chrono::seconds>(config.cert_reload_interval).count());
  const bool verify_clients = !config.trusted_ca_file.empty();
  auto provider = verify_clients
                      ? std::make_shared<gx::FileWatcherCertificateProvider>(
                            config.key_file, config.cert_file, config.trusted_ca_file, refresh)
                      : std::make_shared<gx::FileWatcherCertificateProvider>(
                            config.key_file, config.cert_file, refresh);
  gx::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (verify_clients) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return gx::TlsServerCredentials(options);
}

}  // namespace ehp
