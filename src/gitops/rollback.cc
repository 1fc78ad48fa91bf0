#include "gitops/rollback.h"

#include "gitops/git_handles.h"

namespace bursar::gitops {
namespace {

constexpr char kRemote[] = "origin";

StatusOr<git_oid> ToOid(const std::string& hex) {
  git_oid oid;
  if (git_oid_fromstr(&oid, hex.c_str()) < 0) return InternalError("bad object id " + hex);
  return oid;
}

// Commits reachable from `tip` but not from `base`, newest first.
StatusOr<std::vector<std::string>> CommitsBetween(git_repository* repo, const git_oid& base,
                                                  const git_oid& tip) {
  git_revwalk* walk = nullptr;
  BURSAR_RETURN_IF_ERROR(GitCheck(git_revwalk_new(&walk, repo), "cannot walk history"));
  RevwalkPtr owned(walk);
  BURSAR_RETURN_IF_ERROR(
      GitCheck(git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME), "revwalk"));
  BURSAR_RETURN_IF_ERROR(GitCheck(git_revwalk_push(walk, &tip), "revwalk"));
  BURSAR_RETURN_IF_ERROR(GitCheck(git_revwalk_hide(walk, &base), "revwalk"));
  std::vector<std::string> out;
  git_oid oid;
  for (;;) {
    int rc = git_revwalk_next(&oid, walk);
    if (rc == GIT_ITEROVER) break;
    BURSAR_RETURN_IF_ERROR(GitCheck(rc, "cannot walk history"));
    out.push_back(OidToString(oid));
  }
  return out;
}

// The tree of reverting `commit_id` on top of itself.
StatusOr<std::string> RevertTree(git_repository* repo, const std::string& commit_id) {
  BURSAR_ASSIGN_OR_RETURN(git_oid oid, ToOid(commit_id));
  git_commit* commit = nullptr;
  BURSAR_RETURN_IF_ERROR(GitCheck(git_commit_lookup(&commit, repo, &oid), "cannot read commit"));
  CommitPtr owned(commit);
  unsigned parents = git_commit_parentcount(commit);
  if (parents == 0) {
    return FailedPreconditionError("commit " + commit_id.substr(0, 12) +
                                   " is the first commit; there is nothing before it to return to");
  }
  git_index* index = nullptr;
  BURSAR_RETURN_IF_ERROR(
      GitCheck(git_revert_commit(&index, repo, commit, commit, parents > 1 ? 1 : 0, nullptr),
               "cannot revert " + commit_id.substr(0, 12)));
  IndexPtr owned_index(index);
  if (git_index_has_conflicts(index)) {
    return FailedPreconditionError("reverting " + commit_id.substr(0, 12) + " conflicts");
  }
  git_oid tree;
  BURSAR_RETURN_IF_ERROR(
      GitCheck(git_index_write_tree_to(&tree, index, repo), "cannot write reverted tree"));
  return OidToString(tree);
}

std::string ShortBranch(const std::string& ref) {
  constexpr std::string_view kHeads = "refs/heads/";
  return ref.rfind(kHeads, 0) == 0 ? ref.substr(kHeads.size()) : ref;
}

}  // namespace

StatusOr<RollbackResult> Rollback(GitRepository& repo, const RollbackRequest& request) {
  EnsureLibgit2();
  git_repository* r = repo.raw();
  std::string branch;
  if (request.branch.empty()) {
    BURSAR_ASSIGN_OR_RETURN(branch, repo.HeadBranch());
  } else {
    branch =
        request.branch.rfind("refs/", 0) == 0 ? request.branch : "refs/heads/" + request.branch;
  }
  BURSAR_ASSIGN_OR_RETURN(std::string tip, repo.ResolveCommit(branch));
  std::string reason =
      request.reason.empty() ? std::string("requested with bursar rollback") : request.reason;

  RollbackResult result;
  CommitRequest commit;
  commit.branch = branch;
  commit.expected_parent = tip;
  std::string& msg = result.message;
  if (request.to.empty()) {
    BURSAR_ASSIGN_OR_RETURN(commit.target_tree, RevertTree(r, tip));
    BURSAR_ASSIGN_OR_RETURN(CommitInfo info, repo.GetCommit(tip));
    result.reverted.push_back(info);
    msg = "Revert \"" + info.Subject() + "\"\n\n";
    msg += "This reverts commit " + tip + ".\n\n";
    msg += "Reason: " + reason + "\n\n";
    msg += "Reverts: " + tip + "\n";
  } else {
    BURSAR_ASSIGN_OR_RETURN(std::string to, repo.ResolveCommit(request.to));
    if (to == tip) {
      return FailedPreconditionError("nothing to roll back: " + request.to + " is the tip of " +
                                     ShortBranch(branch));
    }
    BURSAR_ASSIGN_OR_RETURN(git_oid to_oid, ToOid(to));
    BURSAR_ASSIGN_OR_RETURN(git_oid tip_oid, ToOid(tip));
    if (git_graph_descendant_of(r, &tip_oid, &to_oid) != 1) {
      return FailedPreconditionError(request.to + " (" + to.substr(0, 12) +
                                     ") is not an ancestor of " + ShortBranch(branch));
    }
    BURSAR_ASSIGN_OR_RETURN(std::vector<std::string> ids, CommitsBetween(r, to_oid, tip_oid));
    for (const auto& id : ids) {
      BURSAR_ASSIGN_OR_RETURN(CommitInfo info, repo.GetCommit(id));
      result.reverted.push_back(std::move(info));
    }
    BURSAR_ASSIGN_OR_RETURN(commit.target_tree, repo.ResolveTree(to));
    BURSAR_ASSIGN_OR_RETURN(CommitInfo target, repo.GetCommit(to));
    msg = "Roll back " + ShortBranch(branch) + " to " + to.substr(0, 12) + " \"" +
          target.Subject() + "\"\n\n";
    msg += "Reason: " + reason + "\n\n";
    msg += "This undoes " + std::to_string(ids.size()) +
           (ids.size() == 1 ? " commit" : " commits") + " (newest first):\n";
    for (const auto& info : result.reverted) {
      msg += "  " + info.id.substr(0, 12) + " " + info.Subject() + "\n";
    }
    msg += "\nRollback-To: " + to + "\n";
    for (const auto& info : result.reverted) msg += "Reverts: " + info.id + "\n";
  }
  commit.message = msg;
  BURSAR_ASSIGN_OR_RETURN(result.commit, WriteCommit(repo, commit));

  if (request.push && HasRemote(repo, kRemote)) {
    result.push_status = PushBranch(repo, kRemote, result.commit.branch);
    result.pushed = result.push_status.ok();
  }
  return result;
}

}  // namespace bursar::gitops
