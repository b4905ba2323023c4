// Who may connect, and to whom: client certificates on the listener, the members' certificate
// names, and certificate files replaced while the proxy runs.
#include <grpcpp/security/auth_context.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "tests/support/client_calls.h"
#include "tests/support/cluster_proxy_suite.h"

namespace ehp::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class TlsTest : public ClusterProxySuite {
 protected:
  static void SetUpTestSuite() {
    StartSuite("ehp-tls", {.etcd = {.members = 1, .extra_flags = {}}, .proxy = false});
  }

  static grpc::Status Range(const std::shared_ptr<grpc::Channel>& channel) {
    return RangeKey(channel, "k");
  }

  // New leaf certificates from the same CA in $dir/name (a rotation's staging directory).
  static std::string Reissue(const std::string& name) {
    const std::string staging = *dir_ + "/" + name;
    std::filesystem::create_directories(staging);
    for (const char* f : {"ca.pem", "ca-key.pem", "other-ca.pem", "other-ca-key.pem"}) {
      std::filesystem::copy_file(certs_->Path(f), staging + "/" + f);
    }
    GenerateCerts(staging);
    return staging;
  }
  // Swaps the server certificate and key of `from` into `to`, key first, as a rotation does.
  static void InstallServerCert(const std::string& from, const std::string& to) {
    for (const char* f : {"server-key.pem", "server.pem"}) {
      std::filesystem::copy_file(from + "/" + f, to + "/" + f,
                                 std::filesystem::copy_options::overwrite_existing);
    }
  }
};

// Scenario: clients without a certificate, or with one from another CA, are refused; a
// legitimate client on the same listener is served at the same time.
TEST_F(TlsTest, ClientCertificatesAreRequiredAndVerified) {
  auto proxy = StartProxy(SuiteConfig());
  const auto none = MakeChannel(proxy->Address(), ClientCredentials(certs_->ca(), "", ""));
  const auto foreign = MakeChannel(proxy->Address(),
                                   ClientCredentials(certs_->ca(), certs_->Path("other-client.pem"),
                                                     certs_->Path("other-client-key.pem")));
  const auto good = ProxyChannel(*proxy, *certs_);
  EXPECT_EQ(Range(none).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Range(foreign).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(Range(good).ok());
  // Plaintext to a TLS listener fails too.
  EXPECT_FALSE(Range(MakeChannel(proxy->Address(), grpc::InsecureChannelCredentials())).ok());
}

// Scenario: with allowed-client-names, a certificate the CA signed but that names another client
// is refused at the handshake (counted, logged with the presented identity); one whose CN or a
// SAN is listed is served, on the same listener at the same time.
TEST_F(TlsTest, AllowedClientNamesRefuseOtherClients) {
  // server.pem doubles as a client certificate: CN=etcd-server, SANs 127.0.0.1, ::1, localhost.
  const auto as_server = [&](const ProxyServer& proxy) {
    return MakeChannel(proxy.Address(),
                       ClientCredentials(certs_->ca(), certs_->server(), certs_->server_key()));
  };
  for (const std::string allowed : {"etcd-server", "localhost"}) {
    SCOPED_TRACE("allowed-client-names=" + allowed);
    Config config = SuiteConfig();
    config.allowed_client_names = {"someone-else", allowed};
    auto proxy = StartProxy(config);
    const grpc::Status refused = Range(ProxyChannel(*proxy, *certs_));  // CN=etcd-client
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
    EXPECT_TRUE(Range(as_server(*proxy)).ok());
    EXPECT_GE(
        MetricValue(proxy->RenderMetrics(), "etcd_health_proxy_client_certificates_refused_total"),
        1);
  }
  // Without the list, any certificate the CA signed may connect.
  auto open = StartProxy(SuiteConfig());
  EXPECT_TRUE(Range(ProxyChannel(*open, *certs_)).ok());
  EXPECT_EQ(
      MetricValue(open->RenderMetrics(), "etcd_health_proxy_client_certificates_refused_total"), 0);
}

// Scenario: a member whose certificate does not name the host in its URL is never used.
TEST_F(TlsTest, MemberCertificateNameIsChecked) {
  const std::string sub = *dir_ + "/wrong";
  std::filesystem::create_directories(sub);
  EtcdCluster wrong(sub, *certs_,
                    {.members = 1, .server_cert_name = "wrong-host", .extra_flags = {}});
  wrong.StartMember(0);
  // Wait until the member listens (its certificate is for 127.0.0.2, so TLS checks are off
  // here: only readiness is probed).
  Eventually(
      [&] {
        return RunCommand({"curl", "-sk", "--cert", certs_->client(), "--key", certs_->client_key(),
                           wrong.ClientUrl(0) + "/version"})
                   .output.find("etcdserver") != std::string::npos;
      },
      seconds(10), milliseconds(100));
  auto proxy = StartProxy(ProxyConfig(wrong.Endpoints(), *certs_));
  const grpc::Status s = Range(ProxyChannel(*proxy, *certs_));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

std::string PeerCertificate(grpc::ClientContext& ctx) {
  const auto auth = ctx.auth_context();
  const auto values = auth->FindPropertyValues("x509_pem_cert");
  return values.empty() ? "" : std::string(values.front().data(), values.front().size());
}

// Scenario: replacing the listener's certificate files takes effect for new connections without
// a restart, and a watch opened before keeps flowing.
TEST_F(TlsTest, ListenerCertificateIsReloaded) {
  const std::string live = *dir_ + "/live";
  std::filesystem::create_directories(live);
  std::filesystem::copy(certs_->dir, live, std::filesystem::copy_options::recursive);
  const Certs live_certs{live};
  Config config = ProxyConfig(cluster_->Endpoints(), live_certs);
  auto proxy = StartProxy(config);

  // A long watch on its own connection, opened with the old certificate.
  auto watch_channel = ProxyChannel(*proxy, *certs_);
  auto watch_stub = etcdserverpb::Watch::NewStub(watch_channel);
  grpc::ClientContext watch_ctx;
  auto watch = watch_stub->Watch(&watch_ctx);
  etcdserverpb::WatchRequest req;
  req.mutable_create_request()->set_key("rotate");
  ASSERT_TRUE(watch->Write(req));
  etcdserverpb::WatchResponse resp;
  ASSERT_TRUE(watch->Read(&resp));
  ASSERT_TRUE(resp.created());

  grpc::ClientContext before;
  {
    auto kv = etcdserverpb::KV::NewStub(ProxyChannel(*proxy, *certs_));
    etcdserverpb::RangeRequest q;
    q.set_key("rotate");
    etcdserverpb::RangeResponse r;
    ASSERT_TRUE(kv->Range(&before, q, &r).ok());
  }
  const std::string old_cert = PeerCertificate(before);
  ASSERT_EQ(old_cert, ReadFile(live_certs.server()));

  // Re-issue the server certificate from the same CA into a staging directory, then swap it in.
  const std::string staging = Reissue("staging");
  const std::string new_cert = ReadFile(staging + "/server.pem");
  ASSERT_NE(new_cert, old_cert);
  InstallServerCert(staging, live);

  std::string seen;
  Eventually(
      [&] {
        grpc::ClientContext ctx;
        auto kv = etcdserverpb::KV::NewStub(ProxyChannel(*proxy, *certs_));
        etcdserverpb::RangeRequest q;
        q.set_key("rotate");
        etcdserverpb::RangeResponse r;
        if (kv->Range(&ctx, q, &r).ok()) seen = PeerCertificate(ctx);
        return seen == new_cert;
      },
      seconds(10), milliseconds(200));
  EXPECT_EQ(seen, new_cert) << "the new certificate was not served within 10 s";
  EXPECT_GE(proxy->metrics().certificate_reloads.Value({"client", "success"}), 1);
  EXPECT_EQ(proxy->metrics().certificate_reloads.Value({"client", "failure"}), 0);

  // The watch from before the rotation still delivers events.
  {
    auto kv = etcdserverpb::KV::NewStub(cluster_->Channel(0));
    grpc::ClientContext ctx;
    etcdserverpb::PutRequest put;
    put.set_key("rotate");
    put.set_value("1");
    etcdserverpb::PutResponse r;
    ASSERT_TRUE(kv->Put(&ctx, put, &r).ok());
  }
  ASSERT_TRUE(watch->Read(&resp));
  ASSERT_EQ(resp.events_size(), 1);
  EXPECT_EQ(resp.events(0).kv().value(), "1");
  watch_ctx.TryCancel();
  watch->Finish();
}

// curl against the https admin plane: the HTTP status, or 0 when no HTTP exchange happened
// (refused handshake). `client` is a certificate name from gen-certs.sh, or empty for none.
int AdminHttps(int port, const Certs& certs, const std::string& method, const std::string& path,
               const std::string& client = "") {
  std::vector<std::string> argv = {"curl", "-s",           "-o",         "/dev/null",
                                   "-w",   "%{http_code}", "--cacert",   certs.ca(),
                                   "-X",   method,         "--max-time", "5"};
  if (!client.empty()) {
    argv.insert(argv.end(),
                {"--cert", certs.Path(client + ".pem"), "--key", certs.Path(client + "-key.pem")});
  }
  argv.push_back("https://127.0.0.1:" + std::to_string(port) + path);
  const CommandResult r = RunCommand(argv);
  return std::atoi(r.output.c_str());
}

// The certificate the https admin plane serves now, PEM.
std::string AdminServedCert(int port, const Certs& certs) {
  const CommandResult r = RunCommand({"openssl", "s_client", "-connect",
                                      "127.0.0.1:" + std::to_string(port), "-CAfile", certs.ca()},
                                     "", seconds(10));
  const size_t begin = r.output.find("-----BEGIN CERTIFICATE-----");
  const std::string end_marker = "-----END CERTIFICATE-----\n";
  const size_t end = r.output.find(end_marker, begin);
  if (begin == std::string::npos || end == std::string::npos) return "";
  return r.output.substr(begin, end + end_marker.size() - begin);
}

// Scenario: the admin plane over https. Anyone the CA check lets through may read; drain and
// undrain need a verified client certificate (loopback proves nothing in a shared pod network);
// rotated files are used for new sessions, a broken rotation is refused and counted while the
// old certificate stays in service.
TEST_F(TlsTest, AdminPlaneOverHttps) {
  const std::string live = *dir_ + "/admin-live";
  std::filesystem::create_directories(live);
  std::filesystem::copy(certs_->dir, live, std::filesystem::copy_options::recursive);
  const Certs live_certs{live};
  Config config = SuiteConfig();
  std::string error;
  config.metrics_addr = *ParseHttpAddress("https://127.0.0.1:0", &error);
  config.metrics_cert_file = live_certs.server();
  config.metrics_key_file = live_certs.server_key();
  config.cert_reload_interval = seconds(1);
  auto proxy = StartProxy(config);
  const int port = proxy->admin_port();
  const std::string member = cluster_->ClientTarget(0);

  EXPECT_EQ(AdminHttps(port, *certs_, "GET", "/livez"), 200);
  EXPECT_EQ(AdminHttps(port, *certs_, "GET", "/metrics", "client"), 200);
  EXPECT_EQ(AdminHttps(port, *certs_, "POST", "/members/" + member + "/drain"), 403);
  EXPECT_EQ(AdminHttps(port, *certs_, "POST", "/members/" + member + "/drain", "other-client"),
            403);
  EXPECT_FALSE(proxy->health().Snapshot().members.at(0).state == HealthState::kDrained);
  EXPECT_EQ(AdminHttps(port, *certs_, "POST", "/members/" + member + "/drain", "client"), 200);
  EXPECT_EQ(proxy->health().Snapshot().members.at(0).state, HealthState::kDrained);
  EXPECT_EQ(AdminHttps(port, *certs_, "POST", "/members/" + member + "/undrain", "client"), 200);
  // Plain http to the https port gets no HTTP answer.
  EXPECT_NE(RunCommand({"curl", "-s", "--max-time", "5",
                        "http://127.0.0.1:" + std::to_string(port) + "/livez"})
                .output.find("ok"),
            0u);

  // A broken rotation (a key that is not the certificate's) is refused and counted.
  const std::string old_cert = AdminServedCert(port, *certs_);
  ASSERT_EQ(old_cert, ReadFile(live_certs.server()));
  std::filesystem::copy_file(certs_->Path("other-client-key.pem"), live_certs.server_key(),
                             std::filesystem::copy_options::overwrite_existing);
  const auto& reloads = proxy->metrics().certificate_reloads;
  Eventually(
      [&] {
        return reloads.Value({"admin", "failure"}) >= 1;
      },
      seconds(5), milliseconds(100));
  EXPECT_EQ(reloads.Value({"admin", "failure"}), 1);
  EXPECT_EQ(AdminHttps(port, *certs_, "GET", "/livez"), 200);
  EXPECT_EQ(AdminServedCert(port, *certs_), old_cert);

  // A good rotation is served to new sessions.
  const std::string staging = Reissue("admin-staging");
  InstallServerCert(staging, live);
  const std::string new_cert = ReadFile(staging + "/server.pem");
  Eventually(
      [&] {
        return reloads.Value({"admin", "success"}) >= 1;
      },
      seconds(5), milliseconds(100));
  EXPECT_EQ(reloads.Value({"admin", "success"}), 1);
  EXPECT_EQ(AdminServedCert(port, *certs_), new_cert);
  EXPECT_NE(
      proxy->RenderMetrics().find(
          "etcd_health_proxy_certificate_reloads_total{listener=\"admin\",result=\"success\"} 1"),
      std::string::npos);
}

// Scenario: with metrics-client-cert-auth, the admin plane refuses clients without a
// certificate its CA signed, at the handshake.
TEST_F(TlsTest, AdminPlaneCanRequireClientCertificates) {
  Config config = SuiteConfig();
  std::string error;
  config.metrics_addr = *ParseHttpAddress("https://127.0.0.1:0", &error);
  config.metrics_client_cert_auth = true;
  auto proxy = StartProxy(config);
  const int port = proxy->admin_port();
  EXPECT_EQ(AdminHttps(port, *certs_, "GET", "/livez"), 0);
  EXPECT_EQ(AdminHttps(port, *certs_, "GET", "/livez", "other-client"), 0);
  EXPECT_EQ(AdminHttps(port, *certs_, "GET", "/livez", "client"), 200);
}

}  // namespace
}  // namespace ehp::testing
