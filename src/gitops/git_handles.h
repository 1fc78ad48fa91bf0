// RAII owners for libgit2 handles and the one adapter from libgit2 error codes to bursar::Status.
//
// Internal to the gitops area (it includes <git2.h>); other areas use git_source.h and
// git_writer.h. Every libgit2 handle is held by one of the unique_ptr aliases below, so nothing
// leaks on an early return. EnsureLibgit2() must run before any libgit2 call; it is idempotent
// and thread-safe (a function-local static). GitError() reads git_error_last(), which is
// thread-local in libgit2, so call it on the thread whose call failed, right after the failure.
#pragma once

#include <git2.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bursar::gitops {

// Initializes libgit2 once per process (never shut down: handles may outlive main's locals).
void EnsureLibgit2();

// Turns a libgit2 return code into a Status naming `what` and git_error_last()'s message.
// GIT_ENOTFOUND -> NotFound; GIT_EAMBIGUOUS / GIT_EINVALIDSPEC / GIT_EINVALID -> InvalidArgument;
// GIT_ENONFASTFORWARD / GIT_EUNBORNBRANCH / GIT_ECONFLICT / GIT_EEXISTS / GIT_ELOCKED ->
// FailedPrecondition; GIT_EAUTH -> Unauthenticated; network errors -> Unavailable; else Internal.
// REQUIRES: rc < 0.
Status GitError(int rc, std::string_view what);

// Returns OkStatus() when rc >= 0, else GitError(rc, what).
inline Status GitCheck(int rc, std::string_view what) {
  return rc < 0 ? GitError(rc, what) : OkStatus();
}

template <typename T, void (*Free)(T*)>
struct GitDeleter {
  void operator()(T* p) const {
    if (p != nullptr) Free(p);
  }
};

using RepositoryPtr =
    std::unique_ptr<git_repository, GitDeleter<git_repository, git_repository_free>>;
using ObjectPtr = std::unique_ptr<git_object, GitDeleter<git_object, git_object_free>>;
using CommitPtr = std::unique_ptr<git_commit, GitDeleter<git_commit, git_commit_free>>;
using TreePtr = std::unique_ptr<git_tree, GitDeleter<git_tree, git_tree_free>>;
using TreeEntryPtr =
    std::unique_ptr<git_tree_entry, GitDeleter<git_tree_entry, git_tree_entry_free>>;
using TreeBuilderPtr =
    std::unique_ptr<git_treebuilder, GitDeleter<git_treebuilder, git_treebuilder_free>>;
using BlobPtr = std::unique_ptr<git_blob, GitDeleter<git_blob, git_blob_free>>;
using RevwalkPtr = std::unique_ptr<git_revwalk, GitDeleter<git_revwalk, git_revwalk_free>>;
using RemotePtr = std::unique_ptr<git_remote, GitDeleter<git_remote, git_remote_free>>;
using ReferencePtr = std::unique_ptr<git_reference, GitDeleter<git_reference, git_reference_free>>;
using IndexPtr = std::unique_ptr<git_index, GitDeleter<git_index, git_index_free>>;
using OdbPtr = std::unique_ptr<git_odb, GitDeleter<git_odb, git_odb_free>>;
using SignaturePtr = std::unique_ptr<git_signature, GitDeleter<git_signature, git_signature_free>>;
using ConfigPtr = std::unique_ptr<git_config, GitDeleter<git_config, git_config_free>>;

// A git_buf that frees itself.
class GitBuf {
 public:
  GitBuf() = default;
  GitBuf(const GitBuf&) = delete;
  GitBuf& operator=(const GitBuf&) = delete;
  ~GitBuf() { git_buf_dispose(&buf_); }
  git_buf* get() { return &buf_; }
  std::string str() const { return buf_.ptr ? std::string(buf_.ptr, buf_.size) : std::string(); }

 private:
  git_buf buf_ = GIT_BUF_INIT;
};

// A git_strarray that frees itself (for arrays libgit2 fills in).
class GitStrArray {
 public:
  GitStrArray() = default;
  GitStrArray(const GitStrArray&) = delete;
  GitStrArray& operator=(const GitStrArray&) = delete;
  ~GitStrArray() { git_strarray_dispose(&arr_); }
  git_strarray* get() { return &arr_; }

 private:
  git_strarray arr_ = {nullptr, 0};
};

// 40-hex text of an object id.
std::string OidToString(const git_oid& oid);

}  // namespace bursar::gitops
