#include "proxy/net/tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "proxy/tls/client_names.h"

namespace ehp {
namespace {

constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};

// What the listener's verify callback needs; owned by the context (freed with it).
struct ServerState {
  std::vector<std::string> allowed;
  ClientRefusedFn on_refused;
};

void FreeServerState(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/,
                     long /*argl*/, void* /*argp*/) {
  delete static_cast<ServerState*>(ptr);
}

// Freed with the context, whoever holds the last reference (a connection's SSL may).
int ServerStateIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeServerState);
  return index;
}

void FreeSlot(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
              void* /*argp*/) {
  delete static_cast<std::shared_ptr<TlsSessionSlot>*>(ptr);
}

// The slot a member connection's SSL saves its sessions into (freed with the SSL).
int SessionSlotIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeSlot);
  return index;
}

std::string Utf8(const ASN1_STRING* s) {
  unsigned char* out = nullptr;
  const int n = ASN1_STRING_to_UTF8(&out, s);
  if (n < 0) return {};
  std::string text(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return text;
}

ClientIdentity IdentityOf(X509* cert) {
  ClientIdentity id;
  X509_NAME* subject = X509_get_subject_name(cert);
  const int cn = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (cn >= 0) id.common_name = Utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, cn)));
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return id;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    switch (name->type) {
      case GEN_DNS:
      case GEN_URI:
      case GEN_EMAIL:
        id.sans.push_back(Utf8(name->d.ia5));
        break;
      case GEN_IPADD: {
        const ASN1_OCTET_STRING* ip = name->d.iPAddress;
        char text[INET6_ADDRSTRLEN] = {};
        if (ip->length == 4 || ip->length == 16) {
          inet_ntop(ip->length == 4 ? AF_INET : AF_INET6, ip->data, text, sizeof text);
          id.sans.emplace_back(text);
        }
        break;
      }
      default:
        break;
    }
  }
  GENERAL_NAMES_free(names);
  return id;
}

// Runs for each certificate of the client's chain after OpenSSL checked it; at the leaf, the
// names are matched against allowed-client-names, so a refused client fails the handshake.
int VerifyClient(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok != 1 || X509_STORE_CTX_get_error_depth(store) != 0) return preverify_ok;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* state =
      static_cast<ServerState*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ServerStateIndex()));
  if (state == nullptr || state->allowed.empty()) return 1;
  const ClientIdentity id = IdentityOf(X509_STORE_CTX_get_current_cert(store));
  if (ClientNameAllowed(state->allowed, id)) return 1;
  if (state->on_refused) state->on_refused(DescribeIdentity(id));
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

int SelectAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
               const unsigned char* in, unsigned int inlen, void* /*arg*/) {
  for (unsigned int i = 0; i < inlen;) {
    const unsigned int len = in[i];
    if (i + 1 + len > inlen) break;
    if (len == 2 && std::memcmp(in + i + 1, "h2", 2) == 0) {
      *out = in + i + 1;
      *outlen = 2;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;  // gRPC speaks HTTP/2 only
}

int SaveSession(SSL* ssl, SSL_SESSION* session) {
  auto* slot =
      static_cast<std::shared_ptr<TlsSessionSlot>*>(SSL_get_ex_data(ssl, SessionSlotIndex()));
  if (slot == nullptr || *slot == nullptr) return 0;
  (*slot)->Store(session);
  return 1;  // the slot took the reference
}

SslCtxPtr NewContext(const SSL_METHOD* method, std::string* error) {
  SSL_CTX* raw = SSL_CTX_new(method);
  if (raw == nullptr) {
    *error = "cannot create a TLS context: " + TakeOpenSslError();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  // Idle connections give their record buffers back (about 34 KiB each otherwise); writes may
  // be retried from a moved buffer and complete in parts.
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_ENABLE_PARTIAL_WRITE);
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  return SslCtxPtr(raw, SSL_CTX_free);
}

bool LoadIdentity(SSL_CTX* ctx, const std::string& cert, const std::string& key,
                  std::string* error) {
  if (cert.empty()) return true;
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    *error = "\"" + cert + "\": " + TakeOpenSslError();
    return false;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    *error = "\"" + key + "\": " + TakeOpenSslError();
    return false;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    *error = "\"" + key + "\" does not belong to \"" + cert + "\"";
    return false;
  }
  return true;
}

}  // namespace

std::string TakeOpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

SslCtxPtr MakeServerTlsContext(const ServerTlsOptions& options, std::string* error) {
  SslCtxPtr ctx = NewContext(TLS_server_method(), error);
  if (!ctx) return nullptr;
  if (!LoadIdentity(ctx.get(), options.files.cert, options.files.key, error)) return nullptr;
  SSL_CTX_set_alpn_select_cb(ctx.get(), SelectAlpn, nullptr);
  // No session resumption on the listener: clients keep their connections for hours.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  if (!options.files.ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), options.files.ca.c_str(), nullptr) != 1) {
      *error = "\"" + options.files.ca + "\": " + TakeOpenSslError();
      return nullptr;
    }
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.files.ca.c_str())) {
      SSL_CTX_set_client_CA_list(ctx.get(), names);
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, VerifyClient);
  }
  SSL_CTX_set_ex_data(ctx.get(), ServerStateIndex(),
                      new ServerState{options.allowed_client_names, options.on_refused});
  return ctx;
}

SslCtxPtr MakeMemberTlsContext(const MemberTlsOptions& options, std::string* error) {
  SslCtxPtr ctx = NewContext(TLS_client_method(), error);
  if (!ctx) return nullptr;
  if (!LoadIdentity(ctx.get(), options.cert, options.key, error)) return nullptr;
  if (!options.ca.empty() &&
      SSL_CTX_load_verify_locations(ctx.get(), options.ca.c_str(), nullptr) != 1) {
    *error = "\"" + options.ca + "\": " + TakeOpenSslError();
    return nullptr;
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpnH2, sizeof kAlpnH2);
  // Sessions are kept per member by the connections (TlsSessionSlot), not in OpenSSL's cache.
  SSL_CTX_set_session_cache_mode(ctx.get(),
                                 SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx.get(), SaveSession);
  return ctx;
}

TlsSessionSlot::~TlsSessionSlot() {
  if (session_ != nullptr) SSL_SESSION_free(session_);
}

void TlsSessionSlot::Store(SSL_SESSION* session) {
  if (session_ != nullptr) SSL_SESSION_free(session_);
  session_ = session;
}

SslPtr NewMemberSsl(SSL_CTX* ctx, const std::string& host, std::shared_ptr<TlsSessionSlot> slot,
                    std::string* error) {
  SslPtr ssl(SSL_new(ctx), SSL_free);
  if (!ssl) {
    *error = "cannot create a TLS connection: " + TakeOpenSslError();
    return SslPtr(nullptr, SSL_free);
  }
  unsigned char ip[16];
  const bool is_ip =
      inet_pton(AF_INET, host.c_str(), ip) == 1 || inet_pton(AF_INET6, host.c_str(), ip) == 1;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
  if (is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    SSL_set_tlsext_host_name(ssl.get(), host.c_str());
  }
  if (slot != nullptr) {
    if (slot->get() != nullptr) SSL_set_session(ssl.get(), slot->get());
    // Freed with the SSL (see the deleter of the ex_data below).
    SSL_set_ex_data(ssl.get(), SessionSlotIndex(),
                    new std::shared_ptr<TlsSessionSlot>(std::move(slot)));
  }
  SSL_set_connect_state(ssl.get());
  return ssl;
}

}  // namespace ehp
