// Who may connect, and to whom: client certificates on the listener, the members' certificate
// names, and certificate files replaced while the proxy runs.
#include <grpcpp/security/auth_context.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "tests/support/etcd_cluster.h"
#include "tests/support/proxy_fixture.h"

namespace ehp::testing {
namespace {

using std::chrono::seconds;

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("ehp-tls"));
    certs_ = new Certs(GenerateCerts(*dir_ + "/certs"));
    cluster_ = new EtcdCluster(*dir_, *certs_, {.members = 1, .extra_flags = {}});
    ASSERT_TRUE(cluster_->Start());
  }
  static void TearDownTestSuite() {
    delete cluster_;
    RemoveTree(*dir_);
    delete certs_;
    delete dir_;
  }

  static grpc::Status Range(std::shared_ptr<grpc::Channel> channel) {
    auto kv = etcdserverpb::KV::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(5));
    etcdserverpb::RangeRequest req;
    req.set_key("k");
    etcdserverpb::RangeResponse resp;
    return kv->Range(&ctx, req, &resp);
  }

  static std::string* dir_;
  static Certs* certs_;
  static EtcdCluster* cluster_;
};

std::string* TlsTest::dir_ = nullptr;
Certs* TlsTest::certs_ = nullptr;
EtcdCluster* TlsTest::cluster_ = nullptr;

// Scenario: clients without a certificate, or with one from another CA, are refused; a
// legitimate client on the same listener is served at the same time.
TEST_F(TlsTest, ClientCertificatesAreRequiredAndVerified) {
  auto proxy = StartProxy(ProxyConfig(cluster_->Endpoints(), *certs_));
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

// Scenario: a member whose certificate does not name the host in its URL is never used.
TEST_F(TlsTest, MemberCertificateNameIsChecked) {
  const std::string sub = *dir_ + "/wrong";
  std::filesystem::create_directories(sub);
  EtcdCluster wrong(sub, *certs_,
                    {.members = 1, .server_cert_name = "wrong-host", .extra_flags = {}});
  wrong.StartMember(0);
  // Wait until the member listens (its certificate is for 127.0.0.2, so TLS checks are off
  // here: only readiness is probed).
  for (int i = 0; i < 100; ++i) {
    if (RunCommand({"curl", "-sk", "--cert", certs_->client(), "--key", certs_->client_key(),
                    wrong.ClientUrl(0) + "/version"})
            .output.find("etcdserver") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
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
  const std::string staging = *dir_ + "/staging";
  std::filesystem::create_directories(staging);
  std::filesystem::copy_file(certs_->ca(), staging + "/ca.pem");
  std::filesystem::copy_file(certs_->Path("ca-key.pem"), staging + "/ca-key.pem");
  std::filesystem::copy_file(certs_->Path("other-ca.pem"), staging + "/other-ca.pem");
  std::filesystem::copy_file(certs_->Path("other-ca-key.pem"), staging + "/other-ca-key.pem");
  GenerateCerts(staging);
  const std::string new_cert = ReadFile(staging + "/server.pem");
  ASSERT_NE(new_cert, old_cert);
  std::filesystem::copy_file(staging + "/server-key.pem", live + "/server-key.pem",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(staging + "/server.pem", live + "/server.pem",
                             std::filesystem::copy_options::overwrite_existing);

  std::string seen;
  for (int i = 0; i < 50 && seen != new_cert; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    grpc::ClientContext ctx;
    auto kv = etcdserverpb::KV::NewStub(ProxyChannel(*proxy, *certs_));
    etcdserverpb::RangeRequest q;
    q.set_key("rotate");
    etcdserverpb::RangeResponse r;
    if (kv->Range(&ctx, q, &r).ok()) seen = PeerCertificate(ctx);
  }
  EXPECT_EQ(seen, new_cert) << "the new certificate was not served within 10 s";

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

}  // namespace
}  // namespace ehp::testing
