// Notices when certificate files are rewritten (rotation by an operator or cert-manager), judges
// the new files, applies them where the proxy itself holds them (the admin plane), and counts
// each reload in etcd_health_proxy_certificate_reloads_total{listener,result}. gRPC's own file
// watchers load the client listener's and the upstream connections' files; this watcher checks
// the same files so that a bad rotation shows up in metrics and logs instead of going unnoticed.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/core/job_group.h"
#include "proxy/metrics/metric_families.h"
#include "proxy/tls/certificate_files.h"

namespace ehp {

class CertificateWatcher {
 public:
  // Puts new, already checked files into use; false with *error when that failed.
  using Apply = std::function<bool(std::string* error)>;

  // Looks every `interval`, as a job on `scheduler`.
  CertificateWatcher(std::chrono::milliseconds interval, CounterFamily* reloads,
                     std::shared_ptr<Scheduler> scheduler);
  ~CertificateWatcher();

  // Watches one set of files, named by `listener` ("client", "upstream", "admin"); replaces an
  // earlier set of that name. `apply` may be empty when someone else loads the files.
  void Watch(const std::string& listener, CertificateFiles files, Apply apply = nullptr);

  void Start();
  // For good: no look starts after it, and one in progress has finished.
  void Stop();

  // One look at every watched set (a job each interval; tests call it directly).
  void PollOnce();

 private:
  struct Entry {
    std::string listener;
    CertificateFiles files;
    Apply apply;
    uint64_t fingerprint;
  };

  const std::chrono::milliseconds interval_;
  CounterFamily* const reloads_;
  void Tick();

  std::mutex mu_;
  std::vector<Entry> entries_;  // guarded by mu_
  JobGroup jobs_;               // last: closed before what its jobs use goes
};

}  // namespace ehp
