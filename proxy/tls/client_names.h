// Which client certificates may connect beyond being signed by the trusted CA: an allow-list of
// names (--allowed-client-names) matched against the certificate's subject CN and every SAN.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ehp {

struct ClientIdentity {
  std::string common_name;
  std::vector<std::string> sans;  // DNS, URI, e-mail and IP names, as gRPC reports them
};

// True when `allowed` is empty or names the CN or one of the SANs exactly (case-sensitive, as
// names in certificates are compared by etcd and kube-apiserver).
bool ClientNameAllowed(const std::vector<std::string>& allowed, const ClientIdentity& identity);

// "CN=etcd-client SAN=[localhost,127.0.0.1]" for logs: what the client presented, never keys.
std::string DescribeIdentity(const ClientIdentity& identity);

}  // namespace ehp
