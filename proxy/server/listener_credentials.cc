#include "proxy/server/listener_credentials.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "proxy/tls/client_names.h"

namespace ehp {
namespace {

namespace gx = grpc::experimental;

// Runs after OpenSSL verified the chain against the trusted CA, once per handshake (not per
// call): a refused client never gets an HTTP/2 connection.
class AllowedNamesVerifier : public gx::ExternalCertificateVerifier {
 public:
  AllowedNamesVerifier(std::vector<std::string> allowed, ClientRefusedFn on_refused)
      : allowed_(std::move(allowed)), on_refused_(std::move(on_refused)) {}

  bool Verify(gx::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/, grpc::Status* sync_status) override {
    ClientIdentity identity;
    identity.common_name =
        std::string(request->common_name().data(), request->common_name().size());
    for (const auto& names : {request->dns_names(), request->uri_names(), request->email_names(),
                              request->ip_names()}) {
      for (const grpc::string_ref& n : names) identity.sans.emplace_back(n.data(), n.size());
    }
    if (ClientNameAllowed(allowed_, identity)) {
      *sync_status = grpc::Status::OK;
    } else {
      if (on_refused_) on_refused_(DescribeIdentity(identity));
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  "client certificate not in allowed-client-names");
    }
    return true;  // decided synchronously
  }

  void Cancel(gx::TlsCustomVerificationCheckRequest* /*request*/) override {}

 private:
  const std::vector<std::string> allowed_;
  const ClientRefusedFn on_refused_;
};

}  // namespace

std::shared_ptr<grpc::ServerCredentials> MakeListenerCredentials(const Config& config,
                                                                 ClientRefusedFn on_refused) {
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
    if (!config.allowed_client_names.empty()) {
      options.set_certificate_verifier(
          gx::ExternalCertificateVerifier::Create<AllowedNamesVerifier>(config.allowed_client_names,
                                                                        std::move(on_refused)));
    }
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return gx::TlsServerCredentials(options);
}

}  // namespace ehp
