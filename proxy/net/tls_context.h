// OpenSSL contexts of the HTTP/2 data path: the client listener's (ALPN h2, client certificates
// checked against trusted-ca-file and allowed-client-names during the handshake) and the one
// towards the members (their certificates must name the host of their URL; TLS sessions are
// resumed on reconnect). A context is immutable once built; a certificate rotation builds a new
// one, which new connections take while established ones keep theirs.
#pragma once

#include <openssl/ssl.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/tls/certificate_files.h"

namespace ehp {

using SslCtxPtr = std::shared_ptr<SSL_CTX>;
using SslPtr = std::unique_ptr<SSL, decltype(&SSL_free)>;

// Called from inside a handshake with the description of a refused client certificate.
using ClientRefusedFn = std::function<void(const std::string& identity)>;

struct ServerTlsOptions {
  CertificateFiles files;  // files.ca empty: clients are not asked for a certificate
  std::vector<std::string> allowed_client_names;
  ClientRefusedFn on_refused;
};

// nullptr with *error naming the file and the problem.
SslCtxPtr MakeServerTlsContext(const ServerTlsOptions& options, std::string* error);

struct MemberTlsOptions {
  std::string ca;         // verifies the members' certificates
  std::string cert, key;  // the proxy's client certificate (both or neither)
};
SslCtxPtr MakeMemberTlsContext(const MemberTlsOptions& options, std::string* error);

// A TLS client session saved from one member, offered when reconnecting to it. Lives as long as
// the connections that refer to it; single-threaded (each I/O thread has its own).
class TlsSessionSlot {
 public:
  TlsSessionSlot() = default;
  TlsSessionSlot(const TlsSessionSlot&) = delete;
  TlsSessionSlot& operator=(const TlsSessionSlot&) = delete;
  ~TlsSessionSlot();
  void Store(SSL_SESSION* session);  // takes ownership
  SSL_SESSION* get() const { return session_; }

 private:
  SSL_SESSION* session_ = nullptr;
};

// A client SSL for a connection to `host` (an IP address or a DNS name, checked against the
// member's certificate), resuming from `slot` and saving new sessions into it (slot may be null).
SslPtr NewMemberSsl(SSL_CTX* ctx, const std::string& host, std::shared_ptr<TlsSessionSlot> slot,
                    std::string* error);

// The newest OpenSSL error queue entry as text (and clears the queue).
std::string TakeOpenSslError();

}  // namespace ehp
