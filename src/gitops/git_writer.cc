#include "gitops/git_writer.h"

#include "gitops/git_handles.h"

namespace bursar::gitops {
namespace {

Status CheckEditPath(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') {
    return InvalidArgumentError("bad file path \"" + path + "\"");
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string part =
        path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty() || part == "." || part == ".." || part == ".git") {
      return InvalidArgumentError("bad file path \"" + path + "\"");
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return OkStatus();
}

StatusOr<git_oid> ParseOid(const std::string& hex, std::string_view what) {
  git_oid oid;
  if (hex.size() != GIT_OID_HEXSZ || git_oid_fromstr(&oid, hex.c_str()) < 0) {
    return InvalidArgumentError(std::string(what) + " \"" + hex + "\" is not a 40-hex object id");
  }
  return oid;
}

// Fails when the work tree has changes to tracked files (untracked files are left alone).
Status CheckClean(git_repository* repo) {
  git_status_options opts{};
  (void)git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);
  opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  opts.flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
  git_status_list* list = nullptr;
  BURSAR_RETURN_IF_ERROR(GitCheck(git_status_list_new(&list, repo, &opts), "cannot read status"));
  std::unique_ptr<git_status_list, GitDeleter<git_status_list, git_status_list_free>> owned(list);
  size_t n = git_status_list_entrycount(list);
  if (n == 0) return OkStatus();
  const git_status_entry* e = git_status_byindex(list, 0);
  const git_diff_delta* d = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;
  std::string first = d && d->new_file.path ? d->new_file.path : "?";
  return FailedPreconditionError("the work tree is dirty (" + std::to_string(n) +
                                 " uncommitted change(s), first: " + first +
                                 "); commit or discard them first");
}

}  // namespace

StatusOr<CommitResult> WriteCommit(GitRepository& repo, const CommitRequest& request) {
  EnsureLibgit2();
  git_repository* r = repo.raw();
  CommitResult result;
  if (request.branch.empty()) {
    BURSAR_ASSIGN_OR_RETURN(result.branch, repo.HeadBranch());
  } else if (request.branch.rfind("refs/", 0) == 0) {
    result.branch = request.branch;
  } else {
    result.branch = "refs/heads/" + request.branch;
  }
  if (request.message.empty()) return InvalidArgumentError("a commit needs a message");
  if (!request.target_tree.empty() && !request.edits.empty()) {
    return InvalidArgumentError("give either edits or a target tree, not both");
  }

  git_oid tip;
  int rc = git_reference_name_to_id(&tip, r, result.branch.c_str());
  if (rc == GIT_ENOTFOUND) return NotFoundError("branch " + result.branch + " does not exist");
  BURSAR_RETURN_IF_ERROR(GitCheck(rc, "cannot read " + result.branch));
  result.parent = OidToString(tip);
  if (!request.expected_parent.empty() && request.expected_parent != result.parent) {
    return FailedPreconditionError(result.branch + " moved to " + result.parent.substr(0, 12) +
                                   " (expected " + request.expected_parent.substr(0, 12) + ")");
  }

  // Is the branch checked out in a work tree? Then the work tree must be clean.
  bool checked_out = false;
  if (!repo.is_bare()) {
    auto head = repo.HeadBranch();
    checked_out = head.ok() && *head == result.branch;
    if (checked_out) BURSAR_RETURN_IF_ERROR(CheckClean(r));
  }

  git_commit* parent = nullptr;
  BURSAR_RETURN_IF_ERROR(GitCheck(git_commit_lookup(&parent, r, &tip), "cannot read tip"));
  CommitPtr owned_parent(parent);

  git_oid tree_id;
  if (!request.target_tree.empty()) {
    BURSAR_ASSIGN_OR_RETURN(tree_id, ParseOid(request.target_tree, "target tree"));
  } else {
    git_tree* base = nullptr;
    BURSAR_RETURN_IF_ERROR(GitCheck(git_commit_tree(&base, parent), "cannot read tip tree"));
    TreePtr owned_base(base);
    std::vector<git_tree_update> updates(request.edits.size());
    for (size_t i = 0; i < request.edits.size(); ++i) {
      const FileEdit& edit = request.edits[i];
      BURSAR_RETURN_IF_ERROR(CheckEditPath(edit.path));
      git_tree_update& u = updates[i];
      u.path = edit.path.c_str();
      if (edit.content) {
        u.action = GIT_TREE_UPDATE_UPSERT;
        u.filemode = GIT_FILEMODE_BLOB;
        BURSAR_RETURN_IF_ERROR(GitCheck(
            git_blob_create_from_buffer(&u.id, r, edit.content->data(), edit.content->size()),
            "cannot write " + edit.path));
      } else {
        u.action = GIT_TREE_UPDATE_REMOVE;
        u.filemode = GIT_FILEMODE_UNREADABLE;  // ignored for removals; u.id stays zero
      }
    }
    rc = git_tree_create_updated(&tree_id, r, base, updates.size(), updates.data());
    if (rc == GIT_ENOTFOUND) return NotFoundError(GitError(rc, "cannot edit tree").message());
    BURSAR_RETURN_IF_ERROR(GitCheck(rc, "cannot edit tree"));
  }
  git_tree* tree = nullptr;
  rc = git_tree_lookup(&tree, r, &tree_id);
  if (rc == GIT_ENOTFOUND) return NotFoundError("tree " + OidToString(tree_id) + " not found");
  BURSAR_RETURN_IF_ERROR(GitCheck(rc, "cannot read tree"));
  TreePtr owned_tree(tree);
  if (!request.allow_empty && git_oid_equal(&tree_id, git_commit_tree_id(parent))) {
    return FailedPreconditionError("nothing to commit: the tree equals " +
                                   result.parent.substr(0, 12) + "'s tree");
  }

  git_signature* author = nullptr;
  BURSAR_RETURN_IF_ERROR(GitCheck(
      git_signature_now(&author, request.author_name.c_str(), request.author_email.c_str()),
      "bad author"));
  SignaturePtr owned_author(author);
  git_signature* committer = nullptr;
  BURSAR_RETURN_IF_ERROR(
      GitCheck(git_signature_now(&committer, kBotName, kBotEmail), "bad committer"));
  SignaturePtr owned_committer(committer);

  std::string message = request.message;
  if (message.back() != '\n') message += '\n';
  const git_commit* parents[] = {parent};
  git_oid commit_id;
  BURSAR_RETURN_IF_ERROR(GitCheck(git_commit_create(&commit_id, r, nullptr, author, committer,
                                                    "UTF-8", message.c_str(), tree, 1, parents),
                                  "cannot create commit"));
  git_reference* moved = nullptr;
  std::string reflog = "bursar: " + message.substr(0, message.find('\n'));
  rc = git_reference_create_matching(&moved, r, result.branch.c_str(), &commit_id, 1, &tip,
                                     reflog.c_str());
  if (rc == GIT_EMODIFIED) {
    return FailedPreconditionError(result.branch + " moved while the commit was written");
  }
  BURSAR_RETURN_IF_ERROR(GitCheck(rc, "cannot update " + result.branch));
  ReferencePtr owned_moved(moved);
  result.commit = OidToString(commit_id);
  result.tree = OidToString(tree_id);

  if (checked_out) {
    git_checkout_options opts{};
    (void)git_checkout_options_init(&opts, GIT_CHECKOUT_OPTIONS_VERSION);
    opts.checkout_strategy = GIT_CHECKOUT_FORCE;  // safe: the work tree was clean
    BURSAR_RETURN_IF_ERROR(
        GitCheck(git_checkout_head(r, &opts), "commit written but work tree not updated"));
  }
  return result;
}

bool HasRemote(GitRepository& repo, const std::string& remote) {
  git_remote* found = nullptr;
  int rc = git_remote_lookup(&found, repo.raw(), remote.c_str());
  RemotePtr owned(found);
  return rc == 0;
}

Status PushBranch(GitRepository& repo, const std::string& remote_name, const std::string& branch) {
  EnsureLibgit2();
  git_remote* remote = nullptr;
  BURSAR_RETURN_IF_ERROR(GitCheck(git_remote_lookup(&remote, repo.raw(), remote_name.c_str()),
                                  "no remote " + remote_name));
  RemotePtr owned(remote);
  std::string rejection;
  git_push_options opts{};
  (void)git_push_options_init(&opts, GIT_PUSH_OPTIONS_VERSION);
  opts.callbacks.payload = &rejection;
  opts.callbacks.push_update_reference = [](const char* ref, const char* status,
                                            void* payload) -> int {
    if (status != nullptr) {
      *static_cast<std::string*>(payload) = std::string(ref) + ": " + status;
    }
    return 0;
  };
  std::string spec = branch + ":" + branch;
  char* specs[] = {spec.data()};
  git_strarray refspecs = {specs, 1};
  int rc = git_remote_push(remote, &refspecs, &opts);
  const char* url = git_remote_url(remote);
  std::string where = remote_name + " (" + (url ? url : "?") + ")";
  if (rc < 0) {
    Status s = GitError(rc, "cannot push " + branch + " to " + where);
    if (s.code() == StatusCode::kInternal && s.message().find("rejected") != std::string::npos) {
      return FailedPreconditionError(s.message());
    }
    return s;
  }
  if (!rejection.empty()) {
    return FailedPreconditionError(where + " rejected the push: " + rejection);
  }
  return OkStatus();
}

}  // namespace bursar::gitops
