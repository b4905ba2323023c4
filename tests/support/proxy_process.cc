#include "tests/support/proxy_process.h"

#include "tests/support/eventually.h"
#include "tests/support/proxy_fixture.h"

#include <sys/wait.h>

#include <csignal>
#include <iostream>
#include <thread>

namespace ehp::testing {

ProxyProcess::ProxyProcess(const std::string& dir, const std::string& endpoints, const Certs& certs,
                           const std::vector<std::string>& extra,
                           const std::vector<std::string>& env)
    : port_(FreePort()), log_path_(dir + "/proxy-" + std::to_string(port_) + ".log") {
  std::vector<std::string> argv = {EHP_BINARY,
                                   "--endpoints=" + endpoints,
                                   "--cacert=" + certs.ca(),
                                   "--cert=" + certs.client(),
                                   "--key=" + certs.client_key(),
                                   "--listen-addr=" + address(),
                                   "--cert-file=" + certs.server(),
                                   "--key-file=" + certs.server_key(),
                                   "--trusted-ca-file=" + certs.ca(),
                                   "--metrics-addr=127.0.0.1:0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  process_ = Process(argv, log_path_, env);
  Eventually([&] { return log().find("listening on") != std::string::npos || !process_.running(); },
             std::chrono::seconds(5), std::chrono::milliseconds(25));
}

ProxyProcess::~ProxyProcess() {
  const bool exited = !process_.running();
  const int status = process_.status();
  const bool crashed = exited && WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM &&
                       WTERMSIG(status) != SIGKILL && WTERMSIG(status) != SIGINT;
  const std::string text = log();
  if (!crashed && text.find("Sanitizer") == std::string::npos &&
      text.find("runtime error:") == std::string::npos) {
    return;
  }
  constexpr size_t kTail = 16 * 1024;
  std::cerr << "the proxy on " << address() << " crashed"
            << (crashed ? " (signal " + std::to_string(WTERMSIG(status)) + ")" : std::string())
            << "; the end of its log:\n"
            << (text.size() > kTail ? text.substr(text.size() - kTail) : text) << "\n";
}

CommandResult Etcdctl(const std::string& endpoint, const Certs& certs,
                      const std::vector<std::string>& args, const std::string& stdin_text) {
  std::vector<std::string> argv = {EtcdTool("etcdctl"),           "--endpoints=" + endpoint,
                                   "--cacert=" + certs.ca(),      "--cert=" + certs.client(),
                                   "--key=" + certs.client_key(), "--command-timeout=10s"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, stdin_text);
}

std::string WithoutEtcdctlLogLines(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    if (text.compare(start, 10, "{\"level\":\"") != 0) out += text.substr(start, end - start);
    start = end;
  }
  return out;
}

}  // namespace ehp::testing
