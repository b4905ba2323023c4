#include "proxy/datapath/member_links.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace ehp {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{2000};

}  // namespace

MemberLinks::MemberLinks(boost::asio::io_context& io, MemberConnection::Target target,
                         const H2Connection::Options& options, int connections, Observer observer)
    : io_(io),
      target_(std::move(target)),
      options_(options),
      max_connections_(static_cast<size_t>(std::max(1, connections))),
      observer_(std::move(observer)) {
  if (target_.tls != nullptr && target_.session == nullptr) {
    target_.session = std::make_shared<TlsSessionSlot>();
  }
}

MemberLinks::~MemberLinks() {
  *alive_ = false;
  if (failing_ && observer_.failing) observer_.failing(false);
  if (observer_.up) observer_.up(-static_cast<int>(established()));
  CloseAll("shutting down");
}

void MemberLinks::CloseAll(const std::string& why) {
  // Copied: closing runs the closed callback, which edits the list.
  const auto connections = connections_;
  for (const auto& c : connections) c->Close(why);
  connections_.clear();
}

size_t MemberLinks::established() const {
  return static_cast<size_t>(std::count_if(connections_.begin(), connections_.end(),
                                           [](const auto& c) { return c->established(); }));
}

bool MemberLinks::idle() const {
  return std::all_of(connections_.begin(), connections_.end(),
                     [](const auto& c) { return c->open_streams() == 0; });
}

void MemberLinks::Warm() {
  if (connections_.empty()) Dial();
}

MemberConnection* MemberLinks::Pick() {
  MemberConnection* best = nullptr;
  MemberConnection* connecting = nullptr;
  size_t usable = 0;
  for (const auto& c : connections_) {
    if (c->going_away()) continue;
    ++usable;
    if (!c->established()) {
      connecting = c.get();
      continue;
    }
    if (best == nullptr || c->open_streams() < best->open_streams()) best = c.get();
  }
  // Grow towards the configured count while every connection is busy (or going away).
  if (usable < max_connections_ && (best == nullptr || best->open_streams() > 0)) {
    if (MemberConnection* fresh = Dial(); fresh != nullptr && best == nullptr) return fresh;
  }
  return best != nullptr ? best : connecting;
}

MemberConnection* MemberLinks::Dial() {
  const auto now = std::chrono::steady_clock::now();
  if (failing_ && now < next_dial_) return nullptr;
  if (failing_) next_dial_ = now + backoff_;  // one dial per back-off period
  std::weak_ptr<bool> alive = alive_;
  MemberConnection::Events events;
  events.established = [this, alive](MemberConnection*) {
    if (alive.expired() || !*alive.lock()) return;
    if (failing_) {
      spdlog::info("member {}: connected again", target_.name);
      if (observer_.failing) observer_.failing(false);
    }
    if (observer_.up) observer_.up(1);
    failing_ = false;
    backoff_ = std::chrono::milliseconds(0);
  };
  events.closed = [this, alive](MemberConnection* c) {
    if (alive.expired() || !*alive.lock()) return;
    OnClosed(c);
  };
  auto c = std::make_shared<MemberConnection>(io_, options_, target_, std::move(events));
  connections_.push_back(c);
  c->Dial();
  return c.get();
}

void MemberLinks::OnClosed(MemberConnection* c) {
  auto it = std::find_if(connections_.begin(), connections_.end(),
                         [c](const auto& p) { return p.get() == c; });
  if (it != connections_.end()) connections_.erase(it);  // the connection holds itself meanwhile
  // A connection that was up and then closed is replaced on the next call; one that never came
  // up means the member cannot be reached: back off before dialling again.
  if (c->ever_established()) {
    if (observer_.up) observer_.up(-1);
    if (c->open_streams() > 0 || c->close_reason() != "closed after GOAWAY") {
      spdlog::info("member {}: connection closed: {}", target_.name, c->close_reason());
    }
    return;
  }
  if (!failing_) {
    spdlog::warn("member {}: cannot connect: {}", target_.name, c->close_reason());
    if (observer_.failing) observer_.failing(true);
  }
  failing_ = true;
  backoff_ = std::clamp(backoff_ * 2, kFirstBackoff, kMaxBackoff);
  next_dial_ = std::chrono::steady_clock::now() + backoff_;
}

}  // namespace ehp
