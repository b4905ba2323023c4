// A certificate, its key and a CA bundle as files on disk, which operators and cert-manager
// rewrite in place; what the watcher needs to notice a rewrite and to judge it before use.
#pragma once

#include <cstdint>
#include <string>

namespace ehp {

struct CertificateFiles {
  std::string cert;  // PEM chain, leaf first
  std::string key;   // PEM private key of cert
  std::string ca;    // PEM bundle; empty when peers are not verified
};

// A hash of the files' contents (a missing file hashes as empty): it changes when any of them
// is rewritten, whatever happens to mtimes.
uint64_t ContentFingerprint(const CertificateFiles& files);

// Empty when the certificate and key load and belong together and the CA bundle (if any) holds
// at least one certificate; otherwise what is wrong, naming the file.
std::string CheckCertificateFiles(const CertificateFiles& files);

// The subject CN of the first certificate in the PEM file `path` (what etcd with
// --client-cert-auth takes as the user of a call without a token); empty when there is none.
std::string CertificateCommonName(const std::string& path);

}  // namespace ehp
