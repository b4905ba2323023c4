// Child processes for tests: started with argv, output to a log file, stopped by PID only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace ehp::testing {

class Process {
 public:
  Process() = default;
  // Starts argv[0] (searched in PATH) with stdout and stderr appended to log_path.
  Process(const std::vector<std::string>& argv, const std::string& log_path,
          const std::vector<std::string>& extra_env = {});
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  ~Process();

  pid_t pid() const { return pid_; }
  bool running();
  void Signal(int sig);
  // Sends SIGTERM, waits up to `grace`, then SIGKILL. Returns the exit status (as from waitpid).
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // Waits for the process to exit by itself; -1 on timeout (it keeps running).
  int Wait(std::chrono::milliseconds timeout);
  // Its wait status once it has exited and running() or Stop() saw it; -1 before.
  int status() const { return status_; }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

// Runs a command to completion; returns its exit code and combined output.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_text = "",
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A TCP port on 127.0.0.1 that was free a moment ago, outside the ephemeral range, never
// handed out twice in one process.
int FreePort();

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);
// A fresh directory under $TMPDIR (or /tmp), removed by the caller.
std::string MakeTempDir(const std::string& prefix);
void RemoveTree(const std::string& path);

}  // namespace ehp::testing
