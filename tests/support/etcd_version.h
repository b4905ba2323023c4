// Which etcd the tests run. EHP_ETCD_VERSION names it: "3.4" (the default: Debian 12's etcd and
// etcdctl from PATH), "3.5" (the newest 3.5 that tests/scripts/fetch-etcd.sh put into the build
// tree), or any other directory name it made: an exact version ("3.5.16", "3.5.30"), "trixie"
// or "sid". EHP_ETCD_DIR overrides where the fetched builds are (default: the build's).
#pragma once

#include <string>

namespace ehp::testing {

// EHP_ETCD_VERSION, or "3.4" when unset or empty.
std::string EtcdVersionName();

// The program `tool` ("etcd", "etcdctl", "etcdutl") of etcd `version` (empty: EtcdVersionName()).
// Throws std::runtime_error naming the missing file and how to fetch it.
std::string EtcdTool(const std::string& tool, const std::string& version = "");

// What `etcd --version` of `version` says ("3.5.30"), read once per version.
std::string EtcdServerVersion(const std::string& version = "");

}  // namespace ehp::testing
