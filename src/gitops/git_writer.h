// Writing commits: every automated action bursar takes (rollback, drift healing, remediation)
// is a commit on a branch, made here through libgit2 without a checkout, then optionally pushed.
//
// WriteCommit builds the new tree from the branch tip's tree plus file edits (or takes a given
// tree as a whole), creates the commit with author and committer `bursar <bursar@localhost>`
// (unless told otherwise), and moves the branch with a compare-and-swap on its old tip, so a
// concurrent writer makes it fail (FailedPrecondition) instead of being overwritten. When the
// branch is checked out in a work tree, the work tree must have no uncommitted change to
// tracked files (FailedPrecondition "dirty") and is updated to the new commit afterwards.
//
// Threads: like GitRepository, one thread at a time per repository object. Errors: NotFound
// (branch, tree), FailedPrecondition (dirty work tree, branch moved, push rejected),
// InvalidArgument (bad path), Unavailable (remote unreachable), Internal (libgit2).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "gitops/git_source.h"

namespace bursar::gitops {

inline constexpr char kBotName[] = "bursar";
inline constexpr char kBotEmail[] = "bursar@localhost";

// Sets (content) or deletes (nullopt) one file; `path` is relative to the root, '/'-separated.
struct FileEdit {
  std::string path;
  std::optional<std::string> content;
};

struct CommitRequest {
  std::string branch;  // "main" or "refs/heads/main"; "" = the branch HEAD is on
  // When set, the branch tip must still be this commit (40 hex), else FailedPrecondition.
  std::string expected_parent;
  std::vector<FileEdit> edits;  // applied to the tip's tree, in order
  // When set (40 hex tree id), the commit's tree is exactly this tree; `edits` must be empty.
  std::string target_tree;
  std::string message;
  std::string author_name = kBotName;
  std::string author_email = kBotEmail;
  bool allow_empty = false;  // refuse (FailedPrecondition) a commit whose tree equals its parent's
};

struct CommitResult {
  std::string commit;  // new commit id
  std::string tree;    // its tree id
  std::string parent;  // the old branch tip
  std::string branch;  // full ref name that now points at `commit`
};

StatusOr<CommitResult> WriteCommit(GitRepository& repo, const CommitRequest& request);

// True when the repository has a remote of that name.
bool HasRemote(GitRepository& repo, const std::string& remote);

// Pushes `branch` (full ref name) to the same ref on `remote`. FailedPrecondition when the
// remote rejects the update (non-fast-forward, checked-out branch), with its reason.
Status PushBranch(GitRepository& repo, const std::string& remote, const std::string& branch);

}  // namespace bursar::gitops
