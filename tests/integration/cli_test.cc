// The binary's command line: exit codes, messages that name the flag or YAML key, --help and
// --version, and SIGTERM handling.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <thread>

#include "tests/support/eventually.h"
#include "tests/support/process.h"

namespace ehp::testing {
namespace {

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir("ehp-cli"); }
  void TearDown() override { RemoveTree(dir_); }
  CommandResult Proxy(std::vector<std::string> args) {
    args.insert(args.begin(), EHP_BINARY);
    return RunCommand(args);
  }
  std::string dir_;
};

// Scenario: --version and --help answer and exit 0.
TEST_F(CliTest, VersionAndHelp) {
  const CommandResult v = Proxy({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.output.rfind("etcd-health-proxy 0.", 0), 0u) << v.output;
  const CommandResult h = Proxy({"--help"});
  EXPECT_EQ(h.exit_code, 0);
  for (const char* flag : {"--endpoints", "--listen-addr", "--cacert", "--cert", "--key",
                           "--trusted-ca-file", "--cert-file", "--key-file", "--metrics-addr",
                           "--config", "--log-level", "--log-format", "--insecure-listen"}) {
    EXPECT_NE(h.output.find("  " + std::string(flag)), std::string::npos) << flag;
  }
}

// Scenario: every bad flag is reported in one run, each naming the flag; exit code 2.
TEST_F(CliTest, BadFlagsExitTwoAndNameEachFlag) {
  const CommandResult r =
      Proxy({"--endpoints=ftp://a:1", "--log-format=xml", "--nope", "--listen-addr=0.0.0.0:2379"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--endpoints: \"ftp://a:1\" must start with http:// or https://"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("--log-format: \"xml\" is not text or json"), std::string::npos);
  EXPECT_NE(r.output.find("--nope: unknown flag"), std::string::npos);
  EXPECT_NE(r.output.find("--listen-addr: \"0.0.0.0:2379\" is not loopback"), std::string::npos);
}

// Scenario: a bad config file names each key with its line and column; flags override the file.
TEST_F(CliTest, BadConfigNamesKeyLineAndColumn) {
  const std::string file = dir_ + "/config.yaml";
  WriteFile(file,
            "endpoints:\n"
            "  - https://127.0.0.1:2379\n"
            "  - nonsense\n"
            "upstream-connections: 99\n"
            "shutdown-grace: soon\n"
            "typo-key: 1\n");
  const CommandResult r = Proxy({"--config=" + file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(file + ":2:3: endpoints: \"nonsense\" must start with http://"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(file + ":4:23: upstream-connections: 99 is out of range (1 to 64)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(file + ":5:17: shutdown-grace: \"soon\" is not a duration"),
            std::string::npos);
  EXPECT_NE(r.output.find(file + ":6:1: typo-key: unknown key"), std::string::npos);

  const CommandResult overridden = Proxy({"--config=" + file, "--upstream-connections=3",
                                          "--shutdown-grace=1s", "--endpoints=http://127.0.0.1:1"});
  EXPECT_EQ(overridden.exit_code, 2);  // typo-key remains
  EXPECT_EQ(overridden.output.find("upstream-connections"), std::string::npos) << overridden.output;
  EXPECT_NE(overridden.output.find("typo-key: unknown key"), std::string::npos);
}

// Scenario: SIGTERM stops a running proxy cleanly with exit code 0.
TEST_F(CliTest, SigtermExitsZero) {
  Process p({EHP_BINARY, "--endpoints=http://127.0.0.1:" + std::to_string(FreePort()),
             "--listen-addr=127.0.0.1:" + std::to_string(FreePort()), "--metrics-addr=127.0.0.1:0"},
            dir_ + "/proxy.log");
  Eventually(
      [&] { return ReadFile(dir_ + "/proxy.log").find("listening on") != std::string::npos; },
      std::chrono::seconds(5), std::chrono::milliseconds(25));
  // SIGPIPE is ignored: a TLS write to a peer that has gone would otherwise end the process.
  const std::string proc = ReadFile("/proc/" + std::to_string(p.pid()) + "/status");
  const size_t at = proc.find("SigIgn:\t");
  ASSERT_NE(at, std::string::npos) << proc;
  const uint64_t ignored = std::stoull(proc.substr(at + 8, 16), nullptr, 16);
  EXPECT_TRUE(ignored & (uint64_t{1} << (SIGPIPE - 1))) << proc.substr(at, 24);
  p.Signal(SIGTERM);
  const int status = p.Wait(std::chrono::seconds(15));
  ASSERT_NE(status, -1) << "still running 15 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(ReadFile(dir_ + "/proxy.log").find("shut down"), std::string::npos);
}

// Scenario: SIGHUP with a broken config file is refused with the key named, and the proxy keeps
// running; a good one is applied.
TEST_F(CliTest, SighupReloadRefusesBadConfig) {
  const std::string file = dir_ + "/config.yaml";
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(FreePort());
  WriteFile(file, "endpoints: " + endpoint + "\nmetrics-addr: 127.0.0.1:0\n");
  Process p(
      {EHP_BINARY, "--config=" + file, "--listen-addr=127.0.0.1:" + std::to_string(FreePort())},
      dir_ + "/proxy.log");
  const auto log = [&] { return ReadFile(dir_ + "/proxy.log"); };
  Eventually([&] { return log().find("listening on") != std::string::npos; },
             std::chrono::seconds(5), std::chrono::milliseconds(25));
  WriteFile(file,
            "endpoints: " + endpoint + "\nmetrics-addr: 127.0.0.1:0\nprobe-interval: never\n");
  p.Signal(SIGHUP);
  Eventually([&] { return log().find("reload refused: 1 problem") != std::string::npos; },
             std::chrono::seconds(5), std::chrono::milliseconds(25));
  EXPECT_NE(log().find("reload refused: " + file +
                       ":3:17: probe-interval: \"never\" is not a "
                       "duration"),
            std::string::npos)
      << log();
  EXPECT_TRUE(p.running());
  WriteFile(file, "endpoints: " + endpoint + "\nmetrics-addr: 127.0.0.1:0\nprobe-interval: 1s\n");
  p.Signal(SIGHUP);
  Eventually([&] { return log().find("reload done") != std::string::npos; },
             std::chrono::seconds(5), std::chrono::milliseconds(25));
  EXPECT_NE(log().find("reload done"), std::string::npos) << log();
  EXPECT_TRUE(p.running());
}

// Scenario: a port that is already taken is a start-up failure (exit 1), not a silent split.
TEST_F(CliTest, PortInUseFails) {
  const int port = FreePort();
  Process first({EHP_BINARY, "--endpoints=http://127.0.0.1:1", "--metrics-addr=127.0.0.1:0",
                 "--listen-addr=127.0.0.1:" + std::to_string(port)},
                dir_ + "/first.log");
  Eventually(
      [&] { return ReadFile(dir_ + "/first.log").find("listening on") != std::string::npos; },
      std::chrono::seconds(5), std::chrono::milliseconds(25));
  const CommandResult second =
      Proxy({"--endpoints=http://127.0.0.1:1", "--metrics-addr=127.0.0.1:0",
             "--listen-addr=127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_NE(second.output.find("cannot listen on 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << second.output;
}

}  // namespace
}  // namespace ehp::testing
