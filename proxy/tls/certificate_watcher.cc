#include "proxy/tls/certificate_watcher.h"

#include <spdlog/spdlog.h>

namespace ehp {

CertificateWatcher::CertificateWatcher(std::chrono::milliseconds interval, CounterFamily* reloads,
                                       std::shared_ptr<Scheduler> scheduler)
    : interval_(interval), reloads_(reloads), jobs_(std::move(scheduler)) {}

CertificateWatcher::~CertificateWatcher() { Stop(); }

void CertificateWatcher::Watch(const std::string& listener, CertificateFiles files, Apply apply) {
  const uint64_t fingerprint = ContentFingerprint(files);
  std::lock_guard lock(mu_);
  for (Entry& e : entries_) {
    if (e.listener == listener) {
      e = Entry{listener, std::move(files), std::move(apply), fingerprint};
      return;
    }
  }
  entries_.push_back(Entry{listener, std::move(files), std::move(apply), fingerprint});
}

void CertificateWatcher::Start() {
  jobs_.After(interval_, [this] { Tick(); });
}

void CertificateWatcher::Tick() {
  PollOnce();
  jobs_.After(interval_, [this] { Tick(); });
}

void CertificateWatcher::Stop() { jobs_.Close(); }

void CertificateWatcher::PollOnce() {
  std::vector<Entry> changed;
  {
    std::lock_guard lock(mu_);
    for (Entry& e : entries_) {
      const uint64_t now = ContentFingerprint(e.files);
      if (now == e.fingerprint) continue;
      e.fingerprint = now;  // judged once per rewrite; a fixed rewrite is judged again
      changed.push_back(e);
    }
  }
  // Checked and applied outside the lock: loading keys is slow and Apply may block briefly.
  for (const Entry& e : changed) {
    std::string error = CheckCertificateFiles(e.files);
    if (error.empty() && e.apply) e.apply(&error);
    if (reloads_ != nullptr) {
      reloads_->Inc({e.listener, error.empty() ? "success" : "failure"});
    }
    if (error.empty()) {
      spdlog::info("certificates of the {} listener changed on disk and were reloaded ({})",
                   e.listener, e.files.cert);
    } else {
      spdlog::error(
          "certificates of the {} listener changed on disk but cannot be used, the previous ones "
          "stay in use: {}",
          e.listener, error);
    }
  }
}

}  // namespace ehp
