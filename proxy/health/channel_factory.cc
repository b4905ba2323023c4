#include "proxy/health/channel_factory.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/support/channel_arguments.h>

namespace ehp {

ChannelFactory::ChannelFactory(const Config& config) : config_(config) {
  if (config_.cacert.empty()) return;
  namespace gx = grpc::experimental;
  const unsigned refresh = static_cast<unsigned>(
      std::chrono::duration_cast<std::chrono::seconds>(config_.cert_reload_interval).count());
  std::shared_ptr<gx::CertificateProviderInterface> provider;
  gx::TlsChannelCredentialsOptions options;
  if (!config_.cert.empty()) {
    provider = std::make_shared<gx::FileWatcherCertificateProvider>(config_.key, config_.cert,
                                                                    config_.cacert, refresh);
    options.set_certificate_provider(provider);
    options.watch_identity_key_cert_pairs();
  } else {
    provider = std::make_shared<gx::FileWatcherCertificateProvider>(config_.cacert, refresh);
    options.set_certificate_provider(provider);
  }
  options.watch_root_certs();
  options.set_verify_server_certs(true);
  // Each member's certificate must name the host in its URL.
  options.set_certificate_verifier(std::make_shared<gx::HostNameCertificateVerifier>());
  tls_credentials_ = gx::TlsCredentials(options);
}

std::shared_ptr<grpc::Channel> ChannelFactory::Create(const MemberUrl& member, int index) const {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("ehp.connection_index", index);
  args.SetMaxReceiveMessageSize(static_cast<int>(config_.max_send_bytes));
  args.SetMaxSendMessageSize(static_cast<int>(config_.max_recv_bytes));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(config_.keepalive_time.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(config_.keepalive_timeout.count()));
  // Pings without calls would count as abuse on etcd's side (ENHANCE_YOUR_CALM).
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(config_.dial_timeout.count()));
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  // Retries are the proxy's decision (it knows which etcd calls are safe to resend).
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  args.SetString(GRPC_ARG_PRIMARY_USER_AGENT_STRING, "etcd-health-proxy");
  auto credentials = member.tls ? tls_credentials_ : grpc::InsecureChannelCredentials();
  return grpc::CreateCustomChannel(member.Authority(), credentials, args);
}

}  // namespace ehp
