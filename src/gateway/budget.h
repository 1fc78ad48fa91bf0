// Budget enforcement on the request path: reserve on admission, settle on completion, release
// on failure, so that concurrent requests cannot overspend.
//
// A BudgetTracker is built from the configuration's Budgets. For each request it finds the
// budgets in scope (every non-empty selector of Budget.scope matches: all scope tags equal the
// key's tags, the key name, the target model name, the route name) and, in Admit, evaluates
// all of them and reserves the estimated cost in all of them under their locks (taken in a
// fixed order), so the check and the reservation are one atomic step.
//
// Decision, per budget, with projected = spent + reserved + estimate in the current period:
//   block      a block threshold is exceeded: projected > limit * at / 100. Nothing reserved;
//              the caller answers 429 naming `budget` and `resets_at`.
//   downgrade  projected >= limit * at / 100 for a downgrade threshold, and the request is not
//              already downgraded: nothing reserved; the caller re-estimates for route
//              `downgrade_to` and calls Admit again with BudgetRequest::downgraded = true (then
//              downgrade thresholds are ignored), and adds a response header saying so.
//   alert      projected >= limit * at / 100 for an alert threshold not yet fired this period:
//              the request is admitted; `alerts` names the budgets (each fires once a period;
//              counted in BudgetStatus::alerts_fired for metrics).
//   allow      otherwise.
// The most severe outcome over all budgets in scope wins (block > downgrade > alert > allow);
// among downgrades the highest crossed threshold; ties go to the first budget by name.
// A budget without thresholds blocks at 100% of its limit.
// A request admitted with estimate E then costs at most E more than any budget allowed: with
// 200 concurrent requests against a budget that fits 50, at most 50 are admitted.
//
// Periods (day/week/month) are computed in each budget's IANA time zone (timezone.h); at a
// rollover spent and reserved restart at 0 and alerts may fire again. A reservation made in a
// previous period settles its actual cost into the current period.
//
// Reconfigure swaps in new budgets: a budget with the same name, period, time zone and scope
// keeps its spent and reserved amounts (and outstanding reservations stay valid); others start
// from the seed callback.
//
// Threads: all methods are thread-safe; Reconfigure calls must not overlap each other (one
// configuration thread). Locks: one std::mutex per budget (BudgetState::mu)
// guards its amounts; Admit takes the in-scope budgets' mutexes in ascending address order.
// The set of budgets is an immutable table swapped under `table_mu_` (held only to copy a
// shared_ptr). The seed callback is called without any lock held.
// Errors: InvalidArgument from Create/Reconfigure when a time zone cannot be loaded.
#pragma once

#include <atomic>
#include <boost/container/small_vector.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/money.h"
#include "common/status.h"
#include "config/model.h"
#include "gateway/timezone.h"

namespace bursar::gateway {

// Spend already recorded in [start, end) for a budget (the ledger sums matching records).
using SpendSeedFn =
    std::function<Micros(const config::Budget& budget, SysSeconds start, SysSeconds end)>;

struct BudgetRequest {
  std::string_view key_name;
  const std::map<std::string, std::string>* key_tags = nullptr;  // may be null: no tags
  std::string_view route;
  std::string_view model;   // the target Model's name
  bool downgraded = false;  // already serving a downgrade_to route
};

enum class AdmitOutcome { kAllow, kAlert, kDowngrade, kBlock };
std::string_view ToString(AdmitOutcome o);  // "allow", "alert", "downgrade", "block"

struct BudgetState;  // private to budget.cc

// What Admit reserved. Move-only; pass it to Settle or Release exactly once (a reservation
// that is destroyed without either is released).
class Reservation {
 public:
  Reservation() = default;
  Reservation(Reservation&&) noexcept;
  Reservation& operator=(Reservation&&) noexcept;
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation();

  Micros amount() const { return amount_; }
  bool active() const { return !holds_.empty(); }
  std::vector<std::string> budgets() const;  // names of the budgets reserved in

 private:
  friend class BudgetTracker;
  struct Hold {
    std::shared_ptr<BudgetState> state;
    int64_t period_start = 0;  // UTC seconds of the period the amount was reserved in
  };
  boost::container::small_vector<Hold, 2> holds_;  // inline for up to two budgets in scope
  Micros amount_ = 0;
};

struct AdmitDecision {
  AdmitOutcome outcome = AdmitOutcome::kAllow;
  std::string budget;        // the budget that decided a block or downgrade
  std::string downgrade_to;  // kDowngrade: the Route to serve instead
  SysSeconds resets_at{};    // kBlock: end of the blocking budget's period
  std::string message;  // kBlock/kDowngrade: human-readable, for the 429 body or a log; it does
                        // not repeat resets_at
  std::vector<std::string> alerts;  // budgets whose alert threshold this request crossed
  Reservation reservation;          // active for kAllow and kAlert
};

// A budget's state for metrics and the admin API.
struct BudgetStatus {
  std::string name;
  Micros limit = 0;
  Micros spent = 0;     // settled this period (including the seed)
  Micros reserved = 0;  // outstanding reservations this period
  Period period;
  int64_t alerts_fired = 0;  // since start (counter)
  int64_t downgrades = 0;    // since start (counter)
  int64_t blocks = 0;        // since start (counter)
};

class BudgetTracker {
 public:
  static StatusOr<std::unique_ptr<BudgetTracker>> Create(
      const std::vector<config::Budget>& budgets, NowFn now, SpendSeedFn seed = nullptr,
      std::string zoneinfo_dir = "/usr/share/zoneinfo");
  ~BudgetTracker();

  // Evaluates the budgets in scope and reserves `estimate` (>= 0) in all of them unless the
  // outcome is kBlock or kDowngrade.
  AdmitDecision Admit(const BudgetRequest& request, Micros estimate);

  // Replaces the reservation with the actual cost (>= 0) in every budget it was made in.
  void Settle(Reservation reservation, Micros actual_cost);
  // Drops the reservation (the request failed and costs nothing).
  void Release(Reservation reservation);

  // Adds spend that bypassed Admit (e.g. a cache hit is free, but imports or corrections are
  // not) to every budget in scope.
  void RecordSpend(const BudgetRequest& request, Micros cost);

  // New budgets; see the header comment for what carries over.
  Status Reconfigure(const std::vector<config::Budget>& budgets);

  std::vector<BudgetStatus> Snapshot() const;  // sorted by name

  struct Table;  // private to budget.cc

 private:
  BudgetTracker(NowFn now, SpendSeedFn seed, std::string zoneinfo_dir);
  std::shared_ptr<const Table> table() const;
  // The current table for the request path: each thread keeps the one it saw last with its
  // version, so while the table is unchanged Admit reads one atomic and takes neither table_mu_
  // nor a reference count (both shared by every worker).
  const Table* CachedTable() const;

  NowFn now_;
  SpendSeedFn seed_;
  std::string zoneinfo_dir_;
  const uint64_t id_;            // unique per tracker in the process (keys the thread caches)
  mutable std::mutex table_mu_;  // guards table_ (the pointer only)
  std::shared_ptr<const Table> table_;
  std::atomic<uint64_t> version_{0};  // bumped after each swap of table_
};

}  // namespace bursar::gateway
