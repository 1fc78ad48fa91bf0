// Rollback by commit: undo configuration changes by writing a new commit, never by rewriting
// history, so the rollback itself is reviewable and reversible.
//
// Without `to`, the branch tip is reverted (git_revert_commit; a merge is reverted against its
// first parent). With `to`, the new commit's tree equals `to`'s tree, undoing every commit after
// it; `to` must be an ancestor of the tip. The message names each reverted commit (id and
// subject) and the reason; trailers `Reverts: <id>` (one per commit) and `Rollback-To: <id>`
// make it machine-readable. The commit is written with WriteCommit (git_writer.h), author and
// committer `bursar <bursar@localhost>`, then pushed to `origin` when the repository has one.
//
// Used by `bursar rollback` and by automatic rollbacks. Threads: one per repository object.
// Errors: NotFound (revision), FailedPrecondition (nothing to roll back, `to` not an ancestor,
// conflicts, dirty work tree, push rejected: the local commit stays and is reported),
// Unavailable (remote unreachable).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "gitops/git_source.h"
#include "gitops/git_writer.h"

namespace bursar::gitops {

struct RollbackRequest {
  std::string branch;  // "" = the branch HEAD is on
  std::string to;      // revision to return to; "" = revert the tip only
  std::string reason;  // why; "" = "requested with bursar rollback"
  bool push = true;    // push to origin when the repository has that remote
};

struct RollbackResult {
  CommitResult commit;
  std::vector<CommitInfo> reverted;  // newest first
  std::string message;               // the commit message written
  bool pushed = false;
  Status push_status;  // why the push failed, when it was tried and failed
};

StatusOr<RollbackResult> Rollback(GitRepository& repo, const RollbackRequest& request);

}  // namespace bursar::gitops
