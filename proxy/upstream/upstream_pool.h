// The set of etcd members calls can go to, and the choice of one for each call.
//
// The member set is an immutable snapshot read without locks on every call; health checking
// (and configuration reload) replace it as a whole.
#pragma once

#include <atomic>
#include <memory>
#include <span>
#include <vector>

#include "proxy/config/proxy_config.h"
#include "proxy/core/snapshot_cell.h"
#include "proxy/upstream/channel_factory.h"
#include "proxy/upstream/member.h"

namespace ehp {

struct MemberSet {
  std::vector<std::shared_ptr<Member>> members;
};

class UpstreamPool {
 public:
  // Opens `upstream-connections` connections to each configured member.
  explicit UpstreamPool(const Config& config);

  // The member for a new call, skipping members in `tried`; nullptr when all were tried.
  std::shared_ptr<Member> Pick(std::span<const Member* const> tried = {}) const;

  std::shared_ptr<const MemberSet> Members() const { return members_.Get(); }
  void Publish(std::shared_ptr<const MemberSet> members) { members_.Set(std::move(members)); }

 private:
  ChannelFactory channels_;
  SnapshotCell<MemberSet> members_;
  mutable std::atomic<uint64_t> cursor_{0};
};

}  // namespace ehp
