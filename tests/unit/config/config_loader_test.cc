// Flags, YAML and validation: every rule has a failing case.
#include "proxy/config/config_loader.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace ehp {
namespace {

// A minimal valid command line; tests add the flag under test.
std::vector<std::string> Base(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--endpoints=http://127.0.0.1:2379"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

bool HasError(const LoadResult& r, const std::string& text) {
  return std::any_of(r.errors.begin(), r.errors.end(),
                     [&](const std::string& e) { return e.find(text) != std::string::npos; });
}

std::string Errors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e + "\n";
  return out;
}

class ConfigLoaderTest : public ::testing::Test {};

// Scenario: the defaults with only --endpoints are valid and match the documented values.
TEST_F(ConfigLoaderTest, DefaultsAreValid) {
  const LoadResult r = LoadConfig(Base());
  ASSERT_TRUE(r.ok()) << Errors(r);
  EXPECT_EQ(r.config.listen_addr.raw, "127.0.0.1:23790");
  EXPECT_EQ(r.config.metrics_addr.port, 23791);
  EXPECT_EQ(r.config.upstream_connections, 2);
  EXPECT_EQ(r.config.shutdown_grace, std::chrono::seconds(10));
  EXPECT_GE(r.config.max_send_bytes, 512LL << 20);  // room for large LIST responses
  ASSERT_EQ(r.config.endpoints.size(), 1u);
  EXPECT_FALSE(r.config.endpoints[0].tls);
  EXPECT_EQ(r.warnings.size(), 1u);  // plaintext towards the member
}

// Scenario: both "--flag=value" and "--flag value" forms, and bare boolean flags.
TEST_F(ConfigLoaderTest, FlagForms) {
  const LoadResult r =
      LoadConfig({"--endpoints", "http://127.0.0.1:1,http://127.0.0.1:2", "--upstream-connections",
                  "4", "--insecure-listen", "--listen-addr=unix:///tmp/ehp.sock"});
  ASSERT_TRUE(r.ok()) << Errors(r);
  EXPECT_EQ(r.config.endpoints.size(), 2u);
  EXPECT_EQ(r.config.upstream_connections, 4);
  EXPECT_TRUE(r.config.insecure_listen);
  EXPECT_TRUE(r.config.listen_addr.is_unix);
  EXPECT_EQ(r.config.listen_addr.GrpcUri(), "unix:///tmp/ehp.sock");
}

TEST_F(ConfigLoaderTest, HelpAndVersionShortCircuit) {
  EXPECT_TRUE(LoadConfig({"--help", "--bogus"}).show_help);
  EXPECT_TRUE(LoadConfig({"--version"}).show_version);
}

TEST_F(ConfigLoaderTest, UnknownFlagMissingValueAndStrayArgument) {
  const LoadResult r = LoadConfig(Base({"--bogus=1", "--log-level", "stray"}));
  EXPECT_TRUE(HasError(r, "--bogus: unknown flag")) << Errors(r);
  // "--log-level stray" takes "stray" as the value, which is then invalid.
  EXPECT_TRUE(HasError(r, "--log-level: \"stray\" is not one of")) << Errors(r);
  const LoadResult r2 = LoadConfig(Base({"--cacert"}));
  EXPECT_TRUE(HasError(r2, "--cacert: needs a value")) << Errors(r2);
  const LoadResult r3 = LoadConfig(Base({"positional"}));
  EXPECT_TRUE(HasError(r3, "\"positional\": unexpected argument")) << Errors(r3);
}

TEST_F(ConfigLoaderTest, EndpointsRequiredUniqueAndWellFormed) {
  EXPECT_TRUE(HasError(LoadConfig({}), "--endpoints: at least one etcd member URL is required"));
  EXPECT_TRUE(HasError(LoadConfig({"--endpoints=http://127.0.0.1:1,http://127.0.0.1:1"}),
                       "is listed twice"));
  EXPECT_TRUE(
      HasError(LoadConfig({"--endpoints=127.0.0.1:2379"}), "must start with http:// or https://"));
  EXPECT_TRUE(HasError(LoadConfig({"--endpoints=http://127.0.0.1"}), "has no port"));
  EXPECT_TRUE(HasError(LoadConfig({"--endpoints=http://127.0.0.1:0"}), "needs a port between"));
  EXPECT_TRUE(HasError(LoadConfig({"--endpoints=http://127.0.0.1:1/v3"}), "must not have a path"));
}

TEST_F(ConfigLoaderTest, UpstreamTlsRules) {
  // https needs a CA.
  EXPECT_TRUE(HasError(LoadConfig({"--endpoints=https://127.0.0.1:1"}),
                       "--cacert: is required when an endpoint uses https://"));
  // a certificate needs its key and the other way round
  EXPECT_TRUE(HasError(LoadConfig({"--endpoints=https://127.0.0.1:1", "--cacert=/etc/hostname",
                                   "--cert=/etc/hostname"}),
                       "--cert: needs --key as well"));
  EXPECT_TRUE(HasError(LoadConfig({"--endpoints=https://127.0.0.1:1", "--cacert=/etc/hostname",
                                   "--key=/etc/hostname"}),
                       "--key: needs --cert as well"));
  // unreadable files
  EXPECT_TRUE(HasError(LoadConfig({"--endpoints=https://127.0.0.1:1", "--cacert=/nonexistent"}),
                       "--cacert: cannot read \"/nonexistent\""));
  // TLS settings with only http:// members are a mistake
  EXPECT_TRUE(HasError(LoadConfig(Base({"--cacert=/etc/hostname"})), "no endpoint uses https://"));
}

TEST_F(ConfigLoaderTest, ListenerRules) {
  EXPECT_TRUE(
      HasError(LoadConfig(Base({"--listen-addr=0.0.0.0:2379"})), "refusing a plaintext listener"));
  EXPECT_TRUE(LoadConfig(Base({"--listen-addr=0.0.0.0:2379", "--insecure-listen"})).ok());
  EXPECT_TRUE(LoadConfig(Base({"--listen-addr=[::1]:2379"})).ok());
  EXPECT_TRUE(HasError(LoadConfig(Base({"--listen-addr=::1:2379"})), "in brackets"));
  EXPECT_TRUE(
      HasError(LoadConfig(Base({"--listen-addr=unix://relative.sock"})), "needs an absolute path"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--listen-addr=http://127.0.0.1:1"})),
                       "must be host:port or unix:///path"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--trusted-ca-file=/etc/hostname"})),
                       "--trusted-ca-file: needs --cert-file and --key-file"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--cert-file=/etc/hostname"})),
                       "--cert-file: needs --key-file as well"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--max-recv-bytes=10"})), "--max-recv-bytes: 10 is out"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--max-send-bytes=4GiB"})), "--max-send-bytes:"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--max-send-bytes=lots"})), "is not a size"));
}

TEST_F(ConfigLoaderTest, UpstreamTuningRules) {
  EXPECT_TRUE(HasError(LoadConfig(Base({"--upstream-connections=0"})), "out of range (1 to 64)"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--upstream-connections=two"})), "not a whole number"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--keepalive-time=1s"})), "at least 5s"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--keepalive-timeout=10ms"})), "at least 100ms"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--dial-timeout=1ms"})), "at least 100ms"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--dial-timeout=5 parsecs"})), "unknown unit"));
}

TEST_F(ConfigLoaderTest, MemberZones) {
  const LoadResult ok = LoadConfig({"--endpoints=http://127.0.0.1:1,http://127.0.0.1:2",
                                    "--member-zones=127.0.0.1:1=a,127.0.0.1:2=b"});
  ASSERT_TRUE(ok.ok()) << Errors(ok);
  ASSERT_EQ(ok.config.member_zones.size(), 2u);
  EXPECT_EQ(ok.config.member_zones[1].second, "b");
  EXPECT_TRUE(HasError(LoadConfig(Base({"--member-zones=127.0.0.1:2379"})),
                       "\"127.0.0.1:2379\" is not host:port=zone"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--member-zones=127.0.0.1:9=a"})),
                       "\"127.0.0.1:9\" is not one of the endpoints"));
}

// Scenario: the probe identity for etcd auth: a user needs its password file, the file must be
// readable and hold something, and the password never shows in an error.
TEST_F(ConfigLoaderTest, ProbeIdentity) {
  char dir_template[] = "/tmp/ehp-probe-user-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  const std::string file = dir + "/password", empty = dir + "/empty";
  std::ofstream(file) << "s3cret\n";
  std::ofstream(empty) << "\n";
  const LoadResult ok = LoadConfig(Base({"--probe-user=probe", "--probe-password-file=" + file}));
  ASSERT_TRUE(ok.ok()) << Errors(ok);
  EXPECT_EQ(ok.config.probe_user, "probe");
  EXPECT_EQ(ok.config.probe_password_file, file);
  EXPECT_TRUE(HasError(LoadConfig(Base({"--probe-user=probe"})),
                       "--probe-user: needs --probe-password-file as well"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--probe-password-file=" + file})),
                       "--probe-password-file: needs --probe-user as well"));
  EXPECT_TRUE(
      HasError(LoadConfig(Base({"--probe-user=probe", "--probe-password-file=/nonexistent"})),
               "--probe-password-file: cannot read \"/nonexistent\""));
  const LoadResult blank =
      LoadConfig(Base({"--probe-user=probe", "--probe-password-file=" + empty}));
  EXPECT_TRUE(HasError(blank, "--probe-password-file: \"" + empty + "\" is empty"))
      << Errors(blank);
  EXPECT_TRUE(HasError(LoadConfig(Base({"--probe-user=probe", "--probe-password-file=/dev/zero"})),
                       "\"/dev/zero\" is not a regular file"));
  for (const std::string& e : ok.warnings) EXPECT_EQ(e.find("s3cret"), std::string::npos);
  std::remove(file.c_str());
  std::remove(empty.c_str());
  rmdir(dir.c_str());
}

TEST_F(ConfigLoaderTest, HealthProbingRules) {
  const LoadResult ok = LoadConfig(Base(
      {"--probe-interval=200ms", "--probe-timeout=1s", "--probe-read-timeout=300ms",
       "--readmit-rounds=5", "--unreachable-threshold=3", "--max-lag=100", "--holdout-max=5m"}));
  ASSERT_TRUE(ok.ok()) << Errors(ok);
  EXPECT_EQ(ok.config.probe_interval, std::chrono::milliseconds(200));
  EXPECT_EQ(ok.config.readmit_rounds, 5);
  EXPECT_EQ(ok.config.max_lag, 100);
  EXPECT_TRUE(HasError(LoadConfig(Base({"--probe-interval=1ms"})), "between 10ms and 60s"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--probe-timeout=1ms"})), "--probe-timeout: must be"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--probe-read-timeout=1ms"})), "at least 10ms"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--probe-read-timeout=2s", "--probe-timeout=1s"})),
                       "must not be longer than --probe-timeout"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--unreachable-threshold=0"})), "out of range (1 to 100)"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--readmit-rounds=101"})), "out of range (1 to 100)"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--max-lag=0"})), "--max-lag: 0 is out of range"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--max-streams=0"})), "--max-streams: 0 is out of range"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--max-member-calls=0"})), "--max-member-calls: 0 is"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--max-header-bytes=10"})), "--max-header-bytes: 10 is"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--max-buffer-bytes=1MiB"})), "--max-buffer-bytes:"));
  EXPECT_TRUE(
      HasError(LoadConfig(Base({"--max-concurrent-streams=0"})), "--max-concurrent-streams: 0 is"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--handshake-timeout=10ms"})),
                       "--handshake-timeout: must be between 100ms and 5m"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--allowed-client-names=kube-apiserver"})),
                       "--allowed-client-names: needs --trusted-ca-file"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--holdout-max=1s"})), "at least 2s"));
  std::string many = "--endpoints=";
  for (int i = 1; i <= 17; ++i) many += "http://127.0.0.1:" + std::to_string(i) + ",";
  EXPECT_TRUE(HasError(LoadConfig({many}), "at most 16 members"));
}

TEST_F(ConfigLoaderTest, HedgingRules) {
  EXPECT_EQ(LoadConfig(Base({})).config.hedge_after, std::chrono::milliseconds(-1));  // auto
  const LoadResult fixed = LoadConfig(Base({"--hedge-after=75ms", "--hedge-min=5ms"}));
  ASSERT_TRUE(fixed.ok()) << Errors(fixed);
  EXPECT_EQ(fixed.config.hedge_after, std::chrono::milliseconds(75));
  EXPECT_EQ(fixed.config.hedge_min, std::chrono::milliseconds(5));
  EXPECT_EQ(LoadConfig(Base({"--hedge-after=0s"})).config.hedge_after,
            std::chrono::milliseconds(0));
  EXPECT_EQ(LoadConfig(Base({"--hedge-after=auto"})).config.hedge_after,
            std::chrono::milliseconds(-1));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--hedge-after=soon"})), "--hedge-after:"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--hedge-after=soon"})), "(or auto)"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--hedge-after=2m"})), "up to 60s"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--hedge-min=0s"})), "--hedge-min: must be between"));
}

TEST_F(ConfigLoaderTest, OperationsRules) {
  EXPECT_TRUE(HasError(LoadConfig(Base({"--metrics-addr=ftp://x:1"})), "--metrics-addr:"));
  EXPECT_TRUE(LoadConfig(Base({"--metrics-addr=127.0.0.1:9000"})).ok());
  EXPECT_TRUE(LoadConfig(Base({"--metrics-addr=http://127.0.0.1:9000"})).ok());
  EXPECT_TRUE(
      HasError(LoadConfig(Base({"--listen-addr=127.0.0.1:9000", "--metrics-addr=127.0.0.1:9000"})),
               "same address as --listen-addr"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--shutdown-grace=2h"})), "between 0s and 1h"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--cert-reload-interval=100ms"})), "at least 1s"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--log-level=loud"})), "is not one of"));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--log-format=xml"})), "is not text or json"));
}

// Scenario: the https admin plane needs a certificate (its own or the listener's); client
// certificate auth needs https and a CA.
TEST_F(ConfigLoaderTest, HttpsAdminRules) {
  EXPECT_TRUE(HasError(LoadConfig(Base({"--metrics-addr=https://127.0.0.1:9000"})),
                       "--metrics-addr: https:// needs a certificate"));
  EXPECT_TRUE(
      LoadConfig(Base({"--metrics-addr=https://127.0.0.1:9000", "--metrics-cert-file=/etc/hostname",
                       "--metrics-key-file=/etc/hostname"}))
          .ok());
  // The listener's files serve the admin plane too.
  const LoadResult shared =
      LoadConfig(Base({"--metrics-addr=https://127.0.0.1:9000", "--cert-file=/etc/hostname",
                       "--key-file=/etc/hostname", "--trusted-ca-file=/etc/hostname"}));
  ASSERT_TRUE(shared.ok()) << Errors(shared);
  EXPECT_EQ(shared.config.AdminCertFile(), "/etc/hostname");
  EXPECT_EQ(shared.config.AdminTrustedCaFile(), "/etc/hostname");
  EXPECT_TRUE(
      HasError(LoadConfig(Base({"--metrics-cert-file=/etc/hostname"})), "--metrics-key-file"));
  EXPECT_TRUE(HasError(
      LoadConfig(Base({"--metrics-cert-file=/nonexistent", "--metrics-key-file=/etc/hostname"})),
      "cannot read \"/nonexistent\""));
  EXPECT_TRUE(HasError(LoadConfig(Base({"--metrics-client-cert-auth"})),
                       "--metrics-client-cert-auth: only applies to an https://"));
  EXPECT_TRUE(HasError(
      LoadConfig(Base({"--metrics-addr=https://127.0.0.1:9000", "--metrics-cert-file=/etc/hostname",
                       "--metrics-key-file=/etc/hostname", "--metrics-client-cert-auth"})),
      "needs --metrics-trusted-ca-file"));
}

// Scenario: all problems are reported at once, and a value that failed to parse does not also
// produce a second, misleading message.
TEST_F(ConfigLoaderTest, AllProblemsAtOnceWithoutEchoes) {
  const LoadResult r = LoadConfig({"--endpoints=bad", "--log-format=xml", "--keepalive-time=1s"});
  EXPECT_EQ(r.errors.size(), 3u) << Errors(r);
  EXPECT_FALSE(HasError(r, "at least one etcd member URL is required"));
}

// Scenario: YAML keys, lists and the line:column of each problem; flags override the file.
TEST_F(ConfigLoaderTest, YamlKeysAndPositions) {
  LoadResult r;
  ApplyYaml("endpoints: [http://127.0.0.1:1, 'x']\nlog-level: debug\nunknown: 1\nkey: [a]\n",
            "c.yaml", &r);
  EXPECT_TRUE(HasError(r, "c.yaml:1:12: endpoints: \"x\" must start")) << Errors(r);
  EXPECT_TRUE(HasError(r, "c.yaml:3:1: unknown: unknown key")) << Errors(r);
  EXPECT_TRUE(HasError(r, "c.yaml:4:6: key: expected a single value")) << Errors(r);
  EXPECT_EQ(r.config.log_level, "debug");

  LoadResult bad;
  ApplyYaml("endpoints: [unclosed\n", "c.yaml", &bad);
  EXPECT_TRUE(HasError(bad, "c.yaml:2:1: invalid YAML")) << Errors(bad);
  LoadResult not_map;
  ApplyYaml("- a\n- b\n", "c.yaml", &not_map);
  EXPECT_TRUE(HasError(not_map, "must be a mapping")) << Errors(not_map);
  LoadResult empty_value;
  ApplyYaml("cacert:\n", "c.yaml", &empty_value);
  EXPECT_TRUE(HasError(empty_value, "c.yaml:1:1: cacert: needs a value")) << Errors(empty_value);
}

// Scenario: the shipped example configuration uses only known keys with valid values.
TEST_F(ConfigLoaderTest, ExampleConfigParses) {
  std::ifstream in(std::string(EHP_SOURCE_DIR) + "/config/example.yaml");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  LoadResult r;
  ApplyYaml(text.str(), "example.yaml", &r);
  EXPECT_TRUE(r.errors.empty()) << Errors(r);
  EXPECT_EQ(r.config.endpoints.size(), 3u);
  EXPECT_EQ(r.config.member_zones.size(), 3u);
}

TEST_F(ConfigLoaderTest, MissingConfigFile) {
  EXPECT_TRUE(HasError(LoadConfig({"--config=/nonexistent.yaml"}), "--config: cannot read"));
  EXPECT_TRUE(HasError(LoadConfig({"--config"}), "--config: needs a file name"));
}

}  // namespace
}  // namespace ehp
