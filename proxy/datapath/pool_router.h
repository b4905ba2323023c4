// The member set of one UpstreamPool as a call's plan sees it (MemberRouter). Keeps the members
// it handed out, so the plan's keys can be turned back into members for as long as the call
// runs, whatever the health checker publishes meanwhile.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "proxy/routing/call_plan.h"
#include "proxy/upstream/upstream_pool.h"

namespace ehp {

class PoolRouter final : public MemberRouter {
 public:
  explicit PoolRouter(const UpstreamPool& pool) : pool_(pool) {}

  Key Pick(const CallClass& call, std::span<const Key> tried, bool despite_stall) override;
  bool Stalled() const override { return pool_.stalled(); }

  // The member behind a key Pick() returned.
  std::shared_ptr<Member> Get(Key key) const;

 private:
  const UpstreamPool& pool_;
  boost::container::small_vector<std::shared_ptr<Member>, 2> picked_;
};

}  // namespace ehp
