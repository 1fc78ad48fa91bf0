// The Git source: reads a desired-state repository at any revision through libgit2, without
// checking out a work tree.
//
// GitRepository owns one open repository (a work tree's .git or a bare repository). It resolves
// revspecs (HEAD, branch, tag, 40-hex or short id, HEAD~2, main^{tree} is refused), reads every
// *.yaml / *.yml blob of a revision's tree into config::SourceFile (path relative to the root,
// dot-folders such as .github/ skipped, symlinks and submodules ignored), and lists commits.
// OpenMirror() keeps a bare mirror of a URL (file://, a local path, or any transport libgit2 was
// built with) in a cache folder: it clones on first use and fetches (with prune) afterwards.
//
// Ownership: the caller owns the returned GitRepository. Threads: one GitRepository may be used
// by one thread at a time; separate objects (even on the same path) may be used concurrently.
// Errors: NotFound (no repository, unknown revision), InvalidArgument (bad revspec, a blob over
// config::kMaxFileBytes), Unavailable (a fetch could not reach the URL), Internal (libgit2).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/loader.h"

struct git_repository;

namespace bursar::gitops {

struct CommitInfo {
  std::string id;               // 40 hex
  std::string author;           // author name
  std::string email;            // author email
  int64_t time = 0;             // author time, seconds since the Unix epoch
  int offset_minutes = 0;       // author time zone offset
  std::string message;          // full message
  std::string Subject() const;  // the first line of the message
};

class GitRepository {
 public:
  // Opens the repository at `path` exactly (no search in parent folders): a work tree's root
  // or a bare repository. NotFound when `path` is not a repository.
  static StatusOr<std::unique_ptr<GitRepository>> Open(const std::string& path);

  // Clones `url` as a bare mirror into `cache_dir` (created), or fetches into it when it already
  // holds a mirror of the same URL; branches land in refs/heads/*, tags in refs/tags/*, and
  // HEAD follows the remote's default branch. FailedPrecondition when `cache_dir` holds a
  // repository of another URL.
  static StatusOr<std::unique_ptr<GitRepository>> OpenMirror(const std::string& url,
                                                             const std::string& cache_dir);

  ~GitRepository();
  GitRepository(const GitRepository&) = delete;
  GitRepository& operator=(const GitRepository&) = delete;

  // The commit a revspec names, as 40 hex. NotFound for an unknown revision.
  StatusOr<std::string> ResolveCommit(std::string_view rev);

  // The tree id of a revision's commit, as 40 hex.
  StatusOr<std::string> ResolveTree(std::string_view rev);

  // Every *.yaml / *.yml blob of the revision's tree, sorted by path.
  StatusOr<std::vector<config::SourceFile>> ReadFiles(std::string_view rev);

  // Commits reachable from `rev`, newest first (topological, then time), at most `limit`.
  StatusOr<std::vector<CommitInfo>> ListCommits(std::string_view rev, size_t limit = 100);

  // One commit's details.
  StatusOr<CommitInfo> GetCommit(std::string_view rev);

  // The full name of the branch HEAD points to ("refs/heads/main"); FailedPrecondition when
  // HEAD is detached.
  StatusOr<std::string> HeadBranch();

  bool is_bare() const;
  const std::string& path() const { return path_; }

  // The libgit2 handle, for the gitops area's own writers (git_writer.cc). Owned by this object.
  git_repository* raw() const { return repo_; }

 private:
  GitRepository(git_repository* repo, std::string path) : repo_(repo), path_(std::move(path)) {}

  git_repository* repo_;  // owned; freed in the destructor
  std::string path_;
};

// The default mirror folder of a URL: $BURSAR_CACHE_DIR, else $XDG_CACHE_HOME/bursar, else
// $HOME/.cache/bursar, then "/git/<16 hex of a hash of the URL>".
std::string DefaultMirrorDir(const std::string& url);

// Opens `source`: a local repository (GitRepository::Open), or for a URL (IsRemoteSource in
// gitops/syncer.h) a fetched mirror in `cache_dir` ("" = DefaultMirrorDir(source)).
StatusOr<std::unique_ptr<GitRepository>> OpenLocalOrMirror(const std::string& source,
                                                           const std::string& cache_dir = "");

// The manifests of a repository at one revision, from Git or from a plain directory.
struct RepositoryFiles {
  bool is_git = false;
  std::string commit;  // 40 hex; "" for a plain directory
  std::vector<config::SourceFile> files;
};

// Reads `path` at `rev`: when `path` is the root of a Git repository or a URL (mirrored as
// OpenLocalOrMirror does), the tree of `rev` ("" means HEAD) through libgit2, without checkout;
// when it is a plain directory, its files through
// config::ReadDirectory, and then `rev` must be "" (InvalidArgument otherwise). NotFound when
// `path` does not exist.
StatusOr<RepositoryFiles> ReadRepository(const std::string& path, const std::string& rev);

// True when `path` is the root of a Git repository (a work tree or a bare repository).
bool IsGitRepository(const std::string& path);

// True for a path ending in .yaml or .yml, with no dot-folder component.
bool IsManifestPath(std::string_view path);

}  // namespace bursar::gitops
