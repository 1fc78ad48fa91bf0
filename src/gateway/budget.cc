#include "gateway/budget.h"

#include <algorithm>

namespace bursar::gateway {

// One budget's amounts. Immutable members are set at creation; the rest is guarded by mu.
struct BudgetState {
  BudgetState(std::string n, config::BudgetPeriod p, std::shared_ptr<const TimeZone> z)
      : name(std::move(n)), period_kind(p), tz(std::move(z)) {}
  const std::string name;
  const config::BudgetPeriod period_kind;
  const std::shared_ptr<const TimeZone> tz;

  std::mutex mu;
  Period period;                      // guarded by mu
  Micros spent = 0;                   // guarded by mu
  Micros reserved = 0;                // guarded by mu
  std::vector<int> alerted_percents;  // guarded by mu: alert thresholds fired this period
  int64_t alerts_fired = 0, downgrades = 0, blocks = 0;  // guarded by mu

  // REQUIRES: mu held.
  void RollLocked(SysSeconds now) {
    if (now < period.end && now >= period.start) return;
    period = PeriodContaining(period_kind, *tz, now);
    spent = 0;
    reserved = 0;
    alerted_percents.clear();
  }
};

struct BudgetTracker::Table {
  struct Entry {
    config::Budget config;
    std::shared_ptr<BudgetState> state;
  };
  std::vector<Entry> entries;
};

namespace {

SysSeconds ToSeconds(SysTime t) { return std::chrono::floor<std::chrono::seconds>(t); }

bool Contains(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

bool InScope(const config::BudgetScope& s, const BudgetRequest& r) {
  for (const auto& [k, v] : s.tags) {
    if (r.key_tags == nullptr) return false;
    auto it = r.key_tags->find(k);
    if (it == r.key_tags->end() || it->second != v) return false;
  }
  if (!s.keys.empty() && !Contains(s.keys, r.key_name)) return false;
  if (!s.models.empty() && !Contains(s.models, r.model)) return false;
  if (!s.routes.empty() && !Contains(s.routes, r.route)) return false;
  return true;
}

bool SameScope(const config::BudgetScope& a, const config::BudgetScope& b) {
  return a.tags == b.tags && a.keys == b.keys && a.models == b.models && a.routes == b.routes;
}

Micros ThresholdAmount(Micros limit, int percent) {
  return static_cast<Micros>(static_cast<__int128>(limit) * percent / 100);
}

void ReleaseHold(BudgetState& s, int64_t period_start, Micros amount) {
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.period.start.time_since_epoch().count() == period_start) {
    s.reserved = std::max<Micros>(0, s.reserved - amount);
  }
}

const std::vector<config::BudgetThreshold>& EffectiveThresholds(const config::Budget& b) {
  static const std::vector<config::BudgetThreshold> kDefault = {
      {100, config::BudgetAction::kBlock, ""}};
  return b.thresholds.empty() ? kDefault : b.thresholds;
}

}  // namespace

std::string_view ToString(AdmitOutcome o) {
  switch (o) {
    case AdmitOutcome::kAlert:
      return "alert";
    case AdmitOutcome::kDowngrade:
      return "downgrade";
    case AdmitOutcome::kBlock:
      return "block";
    case AdmitOutcome::kAllow:
      break;
  }
  return "allow";
}

Reservation::Reservation(Reservation&& o) noexcept
    : holds_(std::exchange(o.holds_, {})), amount_(std::exchange(o.amount_, 0)) {}

Reservation& Reservation::operator=(Reservation&& o) noexcept {
  if (this != &o) {
    for (const Hold& h : holds_) ReleaseHold(*h.state, h.period_start, amount_);
    holds_ = std::exchange(o.holds_, {});
    amount_ = std::exchange(o.amount_, 0);
  }
  return *this;
}

Reservation::~Reservation() {
  for (const Hold& h : holds_) ReleaseHold(*h.state, h.period_start, amount_);
}

std::vector<std::string> Reservation::budgets() const {
  std::vector<std::string> out;
  for (const Hold& h : holds_) out.push_back(h.state->name);
  return out;
}

BudgetTracker::BudgetTracker(NowFn now, SpendSeedFn seed, std::string zoneinfo_dir)
    : now_(std::move(now)), seed_(std::move(seed)), zoneinfo_dir_(std::move(zoneinfo_dir)), id_([] {
        static std::atomic<uint64_t> next{0};
        return next.fetch_add(1) + 1;
      }()) {}

BudgetTracker::~BudgetTracker() = default;

StatusOr<std::unique_ptr<BudgetTracker>> BudgetTracker::Create(
    const std::vector<config::Budget>& budgets, NowFn now, SpendSeedFn seed,
    std::string zoneinfo_dir) {
  std::unique_ptr<BudgetTracker> t(new BudgetTracker(now ? std::move(now) : SystemNow(),
                                                     std::move(seed), std::move(zoneinfo_dir)));
  BURSAR_RETURN_IF_ERROR(t->Reconfigure(budgets));
  return t;
}

std::shared_ptr<const BudgetTracker::Table> BudgetTracker::table() const {
  std::lock_guard<std::mutex> lock(table_mu_);
  return table_;
}

const BudgetTracker::Table* BudgetTracker::CachedTable() const {
  struct Cache {
    uint64_t tracker = 0;
    uint64_t version = 0;
    std::shared_ptr<const Table> table;
  };
  thread_local Cache cache;
  // The version is read before the table: a swap in between leaves a newer table under an older
  // version, which the next call replaces; never an older table under a newer version.
  const uint64_t v = version_.load(std::memory_order_acquire);
  if (cache.tracker != id_ || cache.version != v) {
    cache.table = table();
    cache.tracker = id_;
    cache.version = v;
  }
  return cache.table.get();
}

Status BudgetTracker::Reconfigure(const std::vector<config::Budget>& budgets) {
  const auto old = table();
  auto next = std::make_shared<Table>();
  const SysSeconds now = ToSeconds(now_());
  for (const config::Budget& b : budgets) {
    std::shared_ptr<BudgetState> state;
    if (old) {
      for (const auto& e : old->entries) {
        if (e.config.meta.name == b.meta.name && e.config.period == b.period &&
            e.config.time_zone == b.time_zone && SameScope(e.config.scope, b.scope)) {
          state = e.state;
        }
      }
    }
    if (!state) {
      auto tz = LoadTimeZone(b.time_zone, zoneinfo_dir_);
      if (!tz.ok()) {
        return InvalidArgumentError("budget " + b.meta.name + ": " + tz.status().message());
      }
      state = std::make_shared<BudgetState>(b.meta.name, b.period, *tz);
      const Period p = PeriodContaining(b.period, **tz, now);
      const Micros seeded = seed_ ? seed_(b, p.start, p.end) : 0;  // no lock held
      std::lock_guard<std::mutex> lock(state->mu);
      state->period = p;
      state->spent = seeded;
    }
    next->entries.push_back({b, std::move(state)});
  }
  std::lock_guard<std::mutex> lock(table_mu_);
  table_ = std::move(next);
  version_.fetch_add(1, std::memory_order_release);
  return OkStatus();
}

AdmitDecision BudgetTracker::Admit(const BudgetRequest& request, Micros estimate) {
  AdmitDecision d;
  estimate = std::max<Micros>(0, estimate);
  const Table* t = CachedTable();
  if (!t) return d;
  boost::container::small_vector<const Table::Entry*, 4> scope;
  for (const auto& e : t->entries) {
    if (InScope(e.config.scope, request)) scope.push_back(&e);
  }
  if (scope.empty()) return d;
  std::sort(scope.begin(), scope.end(), [](const Table::Entry* a, const Table::Entry* b) {
    return a->state.get() < b->state.get();
  });
  boost::container::small_vector<std::unique_lock<std::mutex>, 4> locks;
  locks.reserve(scope.size());
  for (const auto* e : scope) locks.emplace_back(e->state->mu);

  const SysSeconds now = ToSeconds(now_());
  const Table::Entry* blocker = nullptr;
  const Table::Entry* downgrader = nullptr;
  const config::BudgetThreshold* down_threshold = nullptr;
  int block_percent = 0;
  std::vector<std::pair<BudgetState*, int>> alerts;
  for (const auto* e : scope) {
    BudgetState& s = *e->state;
    s.RollLocked(now);
    const Micros projected = s.spent + s.reserved + estimate;
    for (const auto& th : EffectiveThresholds(e->config)) {
      const Micros at = ThresholdAmount(e->config.limit, th.percent);
      switch (th.action) {
        case config::BudgetAction::kBlock:
          // Deterministic choice: the first budget by name.
          if (projected > at && (!blocker || e->config.meta.name < blocker->config.meta.name)) {
            blocker = e;
            block_percent = th.percent;
          }
          break;
        case config::BudgetAction::kDowngrade:
          // The highest crossed downgrade threshold wins (ties: the first budget by name).
          if (projected >= at && !request.downgraded &&
              (!downgrader || th.percent > down_threshold->percent ||
               (th.percent == down_threshold->percent &&
                e->config.meta.name < downgrader->config.meta.name))) {
            downgrader = e;
            down_threshold = &th;
          }
          break;
        case config::BudgetAction::kAlert:
          if (projected >= at && std::find(s.alerted_percents.begin(), s.alerted_percents.end(),
                                           th.percent) == s.alerted_percents.end()) {
            alerts.emplace_back(&s, th.percent);
          }
          break;
      }
    }
  }
  if (blocker) {
    BudgetState& s = *blocker->state;
    ++s.blocks;
    d.outcome = AdmitOutcome::kBlock;
    d.budget = s.name;
    d.resets_at = s.period.end;
    d.message = "budget \"" + s.name + "\" would exceed " + std::to_string(block_percent) +
                "% of its limit of " + FormatMicros(blocker->config.limit) + " " +
                blocker->config.currency + " (spent " + FormatMicros(s.spent) + ", reserved " +
                FormatMicros(s.reserved) + ", this request up to " + FormatMicros(estimate) + ")";
    return d;
  }
  if (downgrader) {
    BudgetState& s = *downgrader->state;
    ++s.downgrades;
    d.outcome = AdmitOutcome::kDowngrade;
    d.budget = s.name;
    d.downgrade_to = down_threshold->downgrade_to;
    d.resets_at = s.period.end;
    d.message = "budget \"" + s.name + "\" passed " + std::to_string(down_threshold->percent) +
                "% of its limit; serving route \"" + d.downgrade_to + "\" instead";
    return d;
  }
  for (const auto* e : scope) {
    BudgetState& s = *e->state;
    s.reserved += estimate;
    d.reservation.holds_.push_back({e->state, s.period.start.time_since_epoch().count()});
  }
  d.reservation.amount_ = estimate;
  for (auto& [s, percent] : alerts) {
    s->alerted_percents.push_back(percent);
    ++s->alerts_fired;
    if (std::find(d.alerts.begin(), d.alerts.end(), s->name) == d.alerts.end()) {
      d.alerts.push_back(s->name);
    }
  }
  d.outcome = d.alerts.empty() ? AdmitOutcome::kAllow : AdmitOutcome::kAlert;
  return d;
}

void BudgetTracker::Settle(Reservation reservation, Micros actual_cost) {
  const SysSeconds now = ToSeconds(now_());
  for (const auto& h : reservation.holds_) {
    BudgetState& s = *h.state;
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.period.start.time_since_epoch().count() == h.period_start) {
      s.reserved = std::max<Micros>(0, s.reserved - reservation.amount_);
    }
    s.RollLocked(now);
    s.spent += std::max<Micros>(0, actual_cost);
  }
  reservation.holds_.clear();
}

void BudgetTracker::Release(Reservation reservation) {
  // The destructor of `reservation` releases every hold.
}

void BudgetTracker::RecordSpend(const BudgetRequest& request, Micros cost) {
  const auto t = table();
  if (!t) return;
  const SysSeconds now = ToSeconds(now_());
  for (const auto& e : t->entries) {
    if (!InScope(e.config.scope, request)) continue;
    std::lock_guard<std::mutex> lock(e.state->mu);
    e.state->RollLocked(now);
    e.state->spent += cost;
  }
}

std::vector<BudgetStatus> BudgetTracker::Snapshot() const {
  std::vector<BudgetStatus> out;
  const auto t = table();
  if (!t) return out;
  const SysSeconds now = ToSeconds(now_());
  for (const auto& e : t->entries) {
    BudgetState& s = *e.state;
    std::lock_guard<std::mutex> lock(s.mu);
    s.RollLocked(now);
    out.push_back({s.name, e.config.limit, s.spent, s.reserved, s.period, s.alerts_fired,
                   s.downgrades, s.blocks});
  }
  std::sort(out.begin(), out.end(),
            [](const BudgetStatus& a, const BudgetStatus& b) { return a.name < b.name; });
  return out;
}

}  // namespace bursar::gateway
