#include "proxy/tls/certificate_files.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

namespace ehp {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// FNV-1a: stable, dependency-free and plenty for change detection (not a security boundary).
uint64_t Fnv1a(uint64_t h, const std::string& data) {
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ULL;
  return (h ^ 0xff) * 1099511628211ULL;  // separates "ab"+"c" from "a"+"bc"
}

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

uint64_t ContentFingerprint(const CertificateFiles& files) {
  uint64_t h = 14695981039346656037ULL;
  for (const std::string* path : {&files.cert, &files.key, &files.ca}) {
    h = Fnv1a(h, path->empty() ? std::string() : ReadAll(*path));
  }
  return h;
}

std::string CheckCertificateFiles(const CertificateFiles& files) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_method()), SSL_CTX_free);
  if (!ctx) return "cannot create a TLS context: " + OpenSslError();
  ERR_clear_error();
  if (!files.cert.empty() &&
      SSL_CTX_use_certificate_chain_file(ctx.get(), files.cert.c_str()) != 1) {
    return "\"" + files.cert + "\": " + OpenSslError();
  }
  if (!files.key.empty() &&
      SSL_CTX_use_PrivateKey_file(ctx.get(), files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return "\"" + files.key + "\": " + OpenSslError();
  }
  if (!files.cert.empty() && !files.key.empty() && SSL_CTX_check_private_key(ctx.get()) != 1) {
    return "\"" + files.key + "\" does not belong to \"" + files.cert + "\"";
  }
  if (!files.ca.empty() &&
      SSL_CTX_load_verify_locations(ctx.get(), files.ca.c_str(), nullptr) != 1) {
    return "\"" + files.ca + "\": " + OpenSslError();
  }
  return "";
}

std::string CertificateCommonName(const std::string& path) {
  FILE* f = path.empty() ? nullptr : std::fopen(path.c_str(), "r");
  if (f == nullptr) return "";
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr) {
    ERR_clear_error();
    return "";
  }
  char cn[256] = {};
  const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
                                          static_cast<int>(sizeof cn));
  X509_free(cert);
  return n > 0 ? std::string(cn, static_cast<size_t>(n)) : "";
}

}  // namespace ehp
