// Drift: emergency overrides of the live state, and the difference they make against Git.
//
// An Override is a small typed patch applied on top of the DesiredState of the live Git commit:
//   kBlockKey      take an ApiKey out of the live state (its requests get 401)
//   kRouteWeights  set the split of a Route's existing targets (weights sum to 100)
//   kBudgetLimit   lower a Budget's limit (never raise it: that is what a commit is for)
// ApplyOverrides validates each patch against the Git state and returns the live state;
// DriftOf reports, field by field, how the live state differs from Git (the same FieldChange
// shape `bursar diff` prints). OverrideEdits turns an override into file edits of the
// repository, in place (only the changed scalar is rewritten, comments and layout are kept), so
// that the controller (drift_controller.h) can commit it and make Git true again.
//
// Pure functions and values; thread-safe. Errors: InvalidArgument (malformed override, a weight
// split that does not sum to 100, a raised limit), NotFound (the key, route, budget or target
// model is not in the Git state).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/money.h"
#include "common/status.h"
#include "config/loader.h"
#include "config/model.h"
#include "gitops/diff.h"
#include "gitops/git_writer.h"

namespace bursar::gitops {

enum class OverrideKind { kBlockKey, kRouteWeights, kBudgetLimit };
std::string_view ToString(OverrideKind k);  // "blockKey" | "routeWeights" | "budgetLimit"

// Where an override is in its life.
enum class OverrideState {
  kActive,     // applied to the live state
  kHealed,     // removed after the grace period: Git's state restored
  kCommitted,  // written to Git as a commit; removed once that commit is live
  kReverted,   // removed through the admin API
  kDropped,    // no longer applies to the Git state (target gone) or Git already agrees
};
std::string_view ToString(OverrideState s);

struct Override {
  int64_t id = 0;  // assigned by the controller
  OverrideKind kind = OverrideKind::kBlockKey;
  std::string target;                        // ApiKey, Route or Budget name
  std::vector<config::RouteTarget> weights;  // kRouteWeights: model -> weight
  Micros limit = 0;                          // kBudgetLimit
  std::string reason;                        // required: why
  std::string actor;                         // who (from the admin API)
  int64_t created_at_us = 0;
  std::string base_commit;  // the Git commit live when it was made
  OverrideState state = OverrideState::kActive;
  int64_t closed_at_us = 0;  // when it left kActive
  std::string commit;        // kCommitted: the commit that wrote it
  std::string note;          // why it was dropped, or the last commit error
};

// Parses the admin API's JSON body:
//   {"kind":"blockKey","target":"search","reason":"leaked key"}
//   {"kind":"routeWeights","target":"chat","weights":{"small":100,"large":0},"reason":"..."}
//   {"kind":"budgetLimit","target":"search-monthly","limit":"20.00","reason":"..."}
StatusOr<Override> ParseOverrideJson(std::string_view body);
std::string OverrideToJson(const Override& o);  // one JSON object (includes the fields above)

// Checks that `o` applies to `git` (target exists, weights name existing targets and sum to
// 100, the limit is lower than Git's). OK when it does.
Status CheckOverride(const config::DesiredState& git, const Override& o);

// True when `o` changes nothing in `git` (Git already says the same).
bool IsNoOp(const config::DesiredState& git, const Override& o);

// The live state: `git` with every active override applied in order. REQUIRES: each override
// passed CheckOverride against `git` (others are returned as errors).
StatusOr<std::shared_ptr<config::DesiredState>> ApplyOverrides(
    const config::DesiredState& git, const std::vector<Override>& overrides);

// One resource in which the live state differs from Git.
struct DriftEntry {
  int64_t override_id = 0;
  std::string resource;             // "Route/chat"
  std::string file;                 // the file in Git that declares it
  std::vector<FieldChange> fields;  // before = Git, after = live
  std::string reason, actor;
  int64_t created_at_us = 0;
};

// The field-level difference between `git` and the live state the overrides make.
std::vector<DriftEntry> DriftOf(const config::DesiredState& git,
                                const std::vector<Override>& active);

// Table: one line per resource, one indented line per field. JSON: {"drifted": bool,
// "liveCommit", "entries":[{"override","resource","file","reason","actor","createdAt",
// "fields":[{"path","git","live"}]}], "overrides":[...all, with state...]}.
std::string FormatDriftTable(const std::vector<DriftEntry>& entries);
std::string FormatDriftJson(const std::string& live_commit, const std::vector<DriftEntry>& entries,
                            const std::vector<Override>& overrides);

// The edits that write `o` into the repository files `files` (read at the commit `git` came
// from): the changed scalars rewritten in place, or, for kBlockKey, the ApiKey document removed
// (its file deleted when it held nothing else). The caller validates the result before
// committing.
StatusOr<std::vector<FileEdit>> OverrideEdits(const std::vector<config::SourceFile>& files,
                                              const config::DesiredState& git, const Override& o);

// The commit message for writing `o` to Git.
std::string OverrideCommitMessage(const Override& o);

}  // namespace bursar::gitops
