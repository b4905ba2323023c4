// etcd-health-proxy: flags -> Config -> ProxyServer; signals drive reload and shutdown.
#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>
#include <vector>

#include "proxy/config/config_loader.h"
#include "proxy/config/settings.h"
#include "proxy/log/logging.h"
#include "proxy/server/file_limit.h"
#include "proxy/server/proxy_server.h"
#include "proxy/service/service_notifier.h"
#include "version.h"

namespace {

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

// SIGHUP: the same flags and the config file, read again. A configuration with any problem is
// refused as a whole and the running one stays.
void Reload(const std::vector<std::string>& args, ehp::ProxyServer* server,
            ehp::ServiceNotifier* notifier) {
  spdlog::info("SIGHUP: reloading the configuration");
  notifier->Reloading();
  ehp::LoadResult next = ehp::LoadConfig(args);
  if (!next.ok()) {
    for (const std::string& e : next.errors) spdlog::error("reload refused: {}", e);
    spdlog::error("reload refused: {} problem(s); the running configuration stays",
                  next.errors.size());
    notifier->Reloaded();
    return;
  }
  ehp::SetUpLogging(next.config.log_level, next.config.log_format);
  for (const std::string& name : server->Reload(next.config)) {
    spdlog::warn("reload: a change of --{} needs a restart; the old value stays in effect", name);
  }
  spdlog::info("reload done");
  notifier->Reloaded();
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's abseil is built with absl::Mutex deadlock detection on: every lock taken inside
  // gRPC updates a global lock graph, which profiles showed on the per-call path.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::vector<std::string> args(argv + 1, argv + argc);
  ehp::LoadResult loaded = ehp::LoadConfig(args);
  if (loaded.show_help) {
    std::fputs(loaded.show_help_markdown ? ehp::FlagTableMarkdown().c_str()
                                         : ehp::HelpText("etcd-health-proxy").c_str(),
               stdout);
    return 0;
  }
  if (loaded.show_version) {
    std::printf("etcd-health-proxy %s (gRPC %s)\n", EHP_VERSION, grpc::Version().c_str());
    return 0;
  }
  if (!loaded.ok()) {
    for (const std::string& e : loaded.errors) {
      std::fprintf(stderr, "etcd-health-proxy: %s\n", e.c_str());
    }
    std::fprintf(stderr, "etcd-health-proxy: %zu problem(s) in flags or config; see --help\n",
                 loaded.errors.size());
    return kExitUsage;
  }
  const ehp::Config& config = loaded.config;
  ehp::SetUpLogging(config.log_level, config.log_format);
  for (const std::string& w : loaded.warnings) spdlog::warn("{}", w);

  // Signals are taken synchronously by this thread; every other thread (gRPC's included,
  // created later) inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  spdlog::info("etcd-health-proxy {} starting", EHP_VERSION);
  const uint64_t files = ehp::RaiseFileLimit();
  const uint64_t wanted =
      static_cast<uint64_t>(config.max_connections + config.admin_max_connections) + 256;
  if (files != 0 && files < wanted) {
    spdlog::warn(
        "open file limit {} is below max-connections + admin-max-connections + 256 ({}): "
        "connections beyond it are refused",
        files, wanted);
  }
  ehp::ProxyServer server(config);
  std::string error;
  if (!server.Start(&error)) {
    spdlog::critical("{}", error);
    return kExitRuntime;
  }
  // Ready for systemd once the listener is bound and the first probe round is judged (Start
  // waits for it).
  ehp::ServiceNotifier notifier([&server] { return server.StatusLine(); },
                                [&server](std::string* why) { return server.Alive(why); },
                                server.scheduler());
  notifier.Ready();

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      Reload(args, &server, &notifier);
      continue;
    }
    spdlog::info("{} received", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  notifier.Stopping();
  server.Shutdown();
  return 0;
}
