#include "proxy/upstream/upstream_pool.h"

#include <algorithm>

#include "proxy/upstream/round_robin_picker.h"

namespace ehp {
namespace {

std::shared_ptr<const MemberSet> BuildMembers(const Config& config, const ChannelFactory& f) {
  auto set = std::make_shared<MemberSet>();
  for (const MemberUrl& url : config.endpoints) {
    std::vector<std::shared_ptr<grpc::Channel>> channels;
    for (int i = 0; i < config.upstream_connections; ++i) channels.push_back(f.Create(url, i));
    std::string zone;
    for (const auto& [name, z] : config.member_zones) {
      if (name == url.Authority()) zone = z;
    }
    auto member =
        std::make_shared<Member>(url.Authority(), url, std::move(zone), std::move(channels));
    member->Connect();
    set->members.push_back(std::move(member));
    set->status.push_back(MemberStatus{});
  }
  return set;
}

}  // namespace

UpstreamPool::UpstreamPool(const Config& config)
    : channels_(config), members_(BuildMembers(config, channels_)) {}

std::shared_ptr<Member> UpstreamPool::Pick(std::span<const Member* const> tried) const {
  const std::shared_ptr<const MemberSet> set = members_.Get();
  const size_t n = set->members.size();
  // Small fixed-size scratch: member sets are a handful of entries.
  PickCandidate candidates[16];
  const size_t count = std::min<size_t>(n, std::size(candidates));
  for (size_t i = 0; i < count; ++i) {
    const Member* m = set->members[i].get();
    candidates[i].excluded =
        !set->status[i].usable || std::find(tried.begin(), tried.end(), m) != tried.end();
    candidates[i].reachable = !candidates[i].excluded && m->Reachable();
  }
  const auto index =
      PickRoundRobin(std::span(candidates, count), cursor_.fetch_add(1, std::memory_order_relaxed));
  return index ? set->members[*index] : nullptr;
}

}  // namespace ehp

namespace ehp {

std::string UpstreamPool::UnavailableMessage() const {
  const std::shared_ptr<const MemberSet> set = members_.Get();
  std::string out = "etcd-health-proxy: no etcd member is usable (";
  for (size_t i = 0; i < set->members.size(); ++i) {
    const MemberStatus& st = set->status[i];
    out += (i ? ", " : "") + set->members[i]->name() + ": " +
           std::string(st.usable ? "unreachable" : ToString(st.reason));
  }
  return out + ")";
}

void UpstreamPool::PublishStatus(std::vector<MemberStatus> status) {
  const std::shared_ptr<const MemberSet> current = members_.Get();
  auto next = std::make_shared<MemberSet>();
  next->members = current->members;
  next->status = std::move(status);
  next->status.resize(next->members.size());
  members_.Set(std::move(next));
}

}  // namespace ehp
