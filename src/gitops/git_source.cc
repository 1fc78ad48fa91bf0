#include "gitops/git_source.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "gitops/git_handles.h"
#include "gitops/syncer.h"  // IsRemoteSource

namespace bursar::gitops {

void EnsureLibgit2() {
  static const int kInit = git_libgit2_init();
  (void)kInit;
}

Status GitError(int rc, std::string_view what) {
  const git_error* e = git_error_last();
  std::string message(what);
  if (e != nullptr && e->message != nullptr && e->message[0] != '\0') {
    message += ": ";
    message += e->message;
  }
  switch (rc) {
    case GIT_ENOTFOUND:
      return NotFoundError(std::move(message));
    case GIT_EAMBIGUOUS:
    case GIT_EINVALIDSPEC:
    case GIT_EINVALID:
      return InvalidArgumentError(std::move(message));
    case GIT_ENONFASTFORWARD:
    case GIT_EUNBORNBRANCH:
    case GIT_ECONFLICT:
    case GIT_EEXISTS:
    case GIT_ELOCKED:
    case GIT_EMODIFIED:
    case GIT_EBAREREPO:
    case GIT_EUNMERGED:
    case GIT_EUNCOMMITTED:
    case GIT_EMERGECONFLICT:
      return FailedPreconditionError(std::move(message));
    case GIT_EAUTH:
    case GIT_ECERTIFICATE:
      return UnauthenticatedError(std::move(message));
    default:
      break;
  }
  if (e != nullptr && (e->klass == GIT_ERROR_NET || e->klass == GIT_ERROR_SSH ||
                       e->klass == GIT_ERROR_HTTP || e->klass == GIT_ERROR_SSL)) {
    return UnavailableError(std::move(message));
  }
  return InternalError(std::move(message));
}

std::string OidToString(const git_oid& oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof(buf), &oid);
  return std::string(buf);
}

std::string CommitInfo::Subject() const {
  size_t nl = message.find('\n');
  return nl == std::string::npos ? message : message.substr(0, nl);
}

bool IsManifestPath(std::string_view path) {
  auto ends_with = [&](std::string_view suffix) {
    return path.size() > suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
  };
  if (!ends_with(".yaml") && !ends_with(".yml")) return false;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) break;  // the last component is the file itself
    if (path[start] == '.') return false;
    start = slash + 1;
  }
  return true;
}

namespace {

StatusOr<CommitPtr> LookupCommit(git_repository* repo, std::string_view rev) {
  EnsureLibgit2();
  std::string spec(rev);
  if (spec.empty()) return InvalidArgumentError("empty revision");
  git_object* obj = nullptr;
  int rc = git_revparse_single(&obj, repo, spec.c_str());
  if (rc < 0) {
    if (rc == GIT_ENOTFOUND) return NotFoundError("unknown revision \"" + spec + "\"");
    return GitError(rc, "cannot resolve revision \"" + spec + "\"");
  }
  ObjectPtr owned(obj);
  git_object* peeled = nullptr;
  rc = git_object_peel(&peeled, owned.get(), GIT_OBJECT_COMMIT);
  if (rc < 0) return GitError(rc, "revision \"" + spec + "\" does not name a commit");
  return CommitPtr(reinterpret_cast<git_commit*>(peeled));
}

CommitInfo ToCommitInfo(const git_commit* commit) {
  CommitInfo info;
  info.id = OidToString(*git_commit_id(commit));
  const git_signature* author = git_commit_author(commit);
  if (author != nullptr) {
    info.author = author->name ? author->name : "";
    info.email = author->email ? author->email : "";
    info.time = author->when.time;
    info.offset_minutes = author->when.offset;
  }
  const char* message = git_commit_message(commit);
  info.message = message ? message : "";
  return info;
}

struct WalkState {
  git_repository* repo;
  git_odb* odb;
  std::vector<config::SourceFile>* files;
  Status status;
};

int WalkCallback(const char* root, const git_tree_entry* entry, void* payload) {
  auto* state = static_cast<WalkState*>(payload);
  const char* name = git_tree_entry_name(entry);
  git_object_t type = git_tree_entry_type(entry);
  if (type == GIT_OBJECT_TREE) return name[0] == '.' ? 1 : 0;  // 1 skips the subtree
  if (type != GIT_OBJECT_BLOB) return 0;                       // submodule (commit)
  git_filemode_t mode = git_tree_entry_filemode(entry);
  if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE) return 0;  // symlink
  std::string path = std::string(root) + name;
  if (!IsManifestPath(path)) return 0;

  const git_oid* id = git_tree_entry_id(entry);
  size_t size = 0;
  git_object_t odb_type = GIT_OBJECT_INVALID;
  int rc = git_odb_read_header(&size, &odb_type, state->odb, id);
  if (rc < 0) {
    state->status = GitError(rc, "cannot read " + path);
    return -1;
  }
  if (size > config::kMaxFileBytes) {
    state->status =
        InvalidArgumentError(path + ": file is " + std::to_string(size) + " bytes; the limit is " +
                             std::to_string(config::kMaxFileBytes) + " bytes");
    return -1;
  }
  git_blob* blob = nullptr;
  rc = git_blob_lookup(&blob, state->repo, id);
  if (rc < 0) {
    state->status = GitError(rc, "cannot read " + path);
    return -1;
  }
  BlobPtr owned(blob);
  const char* data = static_cast<const char*>(git_blob_rawcontent(blob));
  auto len = static_cast<size_t>(git_blob_rawsize(blob));
  state->files->push_back({std::move(path), std::string(data, len)});
  return 0;
}

}  // namespace

StatusOr<std::unique_ptr<GitRepository>> GitRepository::Open(const std::string& path) {
  EnsureLibgit2();
  git_repository* repo = nullptr;
  int rc = git_repository_open_ext(&repo, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr);
  if (rc < 0) {
    if (rc == GIT_ENOTFOUND) return NotFoundError(path + ": not a Git repository");
    return GitError(rc, "cannot open repository " + path);
  }
  return std::unique_ptr<GitRepository>(new GitRepository(repo, path));
}

GitRepository::~GitRepository() {
  if (repo_ != nullptr) git_repository_free(repo_);
}

bool GitRepository::is_bare() const { return git_repository_is_bare(repo_) == 1; }

StatusOr<std::string> GitRepository::ResolveCommit(std::string_view rev) {
  BURSAR_ASSIGN_OR_RETURN(CommitPtr commit, LookupCommit(repo_, rev));
  return OidToString(*git_commit_id(commit.get()));
}

StatusOr<std::string> GitRepository::ResolveTree(std::string_view rev) {
  BURSAR_ASSIGN_OR_RETURN(CommitPtr commit, LookupCommit(repo_, rev));
  return OidToString(*git_commit_tree_id(commit.get()));
}

StatusOr<CommitInfo> GitRepository::GetCommit(std::string_view rev) {
  BURSAR_ASSIGN_OR_RETURN(CommitPtr commit, LookupCommit(repo_, rev));
  return ToCommitInfo(commit.get());
}

StatusOr<std::vector<config::SourceFile>> GitRepository::ReadFiles(std::string_view rev) {
  BURSAR_ASSIGN_OR_RETURN(CommitPtr commit, LookupCommit(repo_, rev));
  git_tree* tree = nullptr;
  BURSAR_RETURN_IF_ERROR(GitCheck(git_commit_tree(&tree, commit.get()), "cannot read tree"));
  TreePtr owned_tree(tree);
  git_odb* odb = nullptr;
  BURSAR_RETURN_IF_ERROR(GitCheck(git_repository_odb(&odb, repo_), "cannot open object db"));
  OdbPtr owned_odb(odb);

  std::vector<config::SourceFile> files;
  WalkState state{repo_, odb, &files, OkStatus()};
  int rc = git_tree_walk(tree, GIT_TREEWALK_PRE, WalkCallback, &state);
  if (!state.status.ok()) return state.status;
  if (rc < 0) return GitError(rc, "cannot walk tree");
  std::sort(
      files.begin(), files.end(),
      [](const config::SourceFile& a, const config::SourceFile& b) { return a.path < b.path; });
  return files;
}

StatusOr<std::vector<CommitInfo>> GitRepository::ListCommits(std::string_view rev, size_t limit) {
  BURSAR_ASSIGN_OR_RETURN(CommitPtr start, LookupCommit(repo_, rev));
  git_revwalk* walk = nullptr;
  BURSAR_RETURN_IF_ERROR(GitCheck(git_revwalk_new(&walk, repo_), "cannot walk history"));
  RevwalkPtr owned_walk(walk);
  BURSAR_RETURN_IF_ERROR(
      GitCheck(git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME), "revwalk"));
  BURSAR_RETURN_IF_ERROR(GitCheck(git_revwalk_push(walk, git_commit_id(start.get())), "revwalk"));
  std::vector<CommitInfo> out;
  git_oid oid;
  while (out.size() < limit) {
    int rc = git_revwalk_next(&oid, walk);
    if (rc == GIT_ITEROVER) break;
    if (rc < 0) return GitError(rc, "cannot walk history");
    git_commit* commit = nullptr;
    BURSAR_RETURN_IF_ERROR(GitCheck(git_commit_lookup(&commit, repo_, &oid), "commit lookup"));
    CommitPtr owned(commit);
    out.push_back(ToCommitInfo(commit));
  }
  return out;
}

StatusOr<std::string> GitRepository::HeadBranch() {
  git_reference* head = nullptr;
  int rc = git_repository_head(&head, repo_);
  if (rc == GIT_EUNBORNBRANCH) return FailedPreconditionError(path_ + ": HEAD has no commit yet");
  BURSAR_RETURN_IF_ERROR(GitCheck(rc, "cannot read HEAD"));
  ReferencePtr owned(head);
  if (git_reference_is_branch(head) != 1) {
    return FailedPreconditionError(path_ + ": HEAD is detached, not on a branch");
  }
  return std::string(git_reference_name(head));
}

bool IsGitRepository(const std::string& path) {
  EnsureLibgit2();
  return git_repository_open_ext(nullptr, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) ==
         0;
}

std::string DefaultMirrorDir(const std::string& url) {
  std::string base;
  if (const char* dir = std::getenv("BURSAR_CACHE_DIR"); dir != nullptr && *dir != '\0') {
    base = dir;
  } else if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    base = std::string(xdg) + "/bursar";
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    base = std::string(home) + "/.cache/bursar";
  } else {
    base = (std::filesystem::temp_directory_path() / "bursar-cache").string();
  }
  uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable across builds, unlike std::hash
  for (unsigned char c : url) h = (h ^ c) * 1099511628211ULL;
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return base + "/git/" + hex;
}

StatusOr<std::unique_ptr<GitRepository>> OpenLocalOrMirror(const std::string& source,
                                                           const std::string& cache_dir) {
  if (IsRemoteSource(source)) {
    return GitRepository::OpenMirror(source,
                                     cache_dir.empty() ? DefaultMirrorDir(source) : cache_dir);
  }
  return GitRepository::Open(source);
}

StatusOr<RepositoryFiles> ReadRepository(const std::string& path, const std::string& rev) {
  RepositoryFiles out;
  if (IsRemoteSource(path) || IsGitRepository(path)) {
    BURSAR_ASSIGN_OR_RETURN(std::unique_ptr<GitRepository> repo, OpenLocalOrMirror(path));
    std::string spec = rev.empty() ? "HEAD" : rev;
    out.is_git = true;
    BURSAR_ASSIGN_OR_RETURN(out.commit, repo->ResolveCommit(spec));
    BURSAR_ASSIGN_OR_RETURN(out.files, repo->ReadFiles(out.commit));
    return out;
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) {
    return NotFoundError(path + ": no such directory");
  }
  if (!rev.empty()) {
    return InvalidArgumentError(path + " is a plain directory, not a Git repository: --rev " + rev +
                                " cannot be read from it");
  }
  BURSAR_ASSIGN_OR_RETURN(out.files, config::ReadDirectory(path));
  return out;
}

// --- mirrors ---------------------------------------------------------------------------------

namespace {

constexpr char kRemoteName[] = "origin";

Status FetchMirror(git_repository* repo, const std::string& url) {
  git_remote* remote = nullptr;
  BURSAR_RETURN_IF_ERROR(
      GitCheck(git_remote_lookup(&remote, repo, kRemoteName), "cannot find remote origin"));
  RemotePtr owned(remote);
  git_remote_callbacks callbacks{};
  (void)git_remote_init_callbacks(&callbacks, GIT_REMOTE_CALLBACKS_VERSION);
  int rc = git_remote_connect(remote, GIT_DIRECTION_FETCH, &callbacks, nullptr, nullptr);
  if (rc < 0) return GitError(rc, "cannot reach " + url);
  // Owned by the remote; disconnect on every path.
  struct Disconnect {
    git_remote* r;
    ~Disconnect() { git_remote_disconnect(r); }
  } disconnect{remote};

  GitBuf default_branch;
  bool has_default = git_remote_default_branch(default_branch.get(), remote) == 0;

  git_fetch_options options{};
  (void)git_fetch_options_init(&options, GIT_FETCH_OPTIONS_VERSION);
  options.prune = GIT_FETCH_PRUNE;
  options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
  BURSAR_RETURN_IF_ERROR(
      GitCheck(git_remote_download(remote, nullptr, &options), "cannot fetch " + url));
  BURSAR_RETURN_IF_ERROR(GitCheck(
      git_remote_update_tips(remote, &callbacks, 0, GIT_REMOTE_DOWNLOAD_TAGS_ALL, "bursar: fetch"),
      "cannot update refs from " + url));
  BURSAR_RETURN_IF_ERROR(GitCheck(git_remote_prune(remote, &callbacks), "cannot prune refs"));
  if (has_default) {
    BURSAR_RETURN_IF_ERROR(
        GitCheck(git_repository_set_head(repo, default_branch.str().c_str()), "cannot set HEAD"));
  }
  return OkStatus();
}

}  // namespace

StatusOr<std::unique_ptr<GitRepository>> GitRepository::OpenMirror(const std::string& url,
                                                                   const std::string& cache_dir) {
  EnsureLibgit2();
  git_repository* repo = nullptr;
  if (IsGitRepository(cache_dir)) {
    BURSAR_RETURN_IF_ERROR(GitCheck(
        git_repository_open_ext(&repo, cache_dir.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr),
        "cannot open cache " + cache_dir));
    RepositoryPtr owned(repo);
    git_remote* remote = nullptr;
    int rc = git_remote_lookup(&remote, repo, kRemoteName);
    RemotePtr owned_remote(remote);
    if (rc < 0 || git_remote_url(remote) == nullptr || url != git_remote_url(remote)) {
      return FailedPreconditionError(cache_dir + " holds a repository that is not a mirror of " +
                                     url);
    }
    owned_remote.reset();
    BURSAR_RETURN_IF_ERROR(FetchMirror(repo, url));
    return std::unique_ptr<GitRepository>(new GitRepository(owned.release(), cache_dir));
  }
  std::error_code ec;
  if (std::filesystem::exists(cache_dir, ec) && !std::filesystem::is_empty(cache_dir, ec)) {
    return FailedPreconditionError(cache_dir + " is not empty and not a Git mirror");
  }
  std::filesystem::create_directories(cache_dir, ec);
  if (ec) return InternalError("cannot create " + cache_dir + ": " + ec.message());
  BURSAR_RETURN_IF_ERROR(
      GitCheck(git_repository_init(&repo, cache_dir.c_str(), 1), "cannot create " + cache_dir));
  RepositoryPtr owned(repo);
  git_remote* remote = nullptr;
  BURSAR_RETURN_IF_ERROR(
      GitCheck(git_remote_create_with_fetchspec(&remote, repo, kRemoteName, url.c_str(),
                                                "+refs/heads/*:refs/heads/*"),
               "cannot add remote " + url));
  RemotePtr owned_remote(remote);
  BURSAR_RETURN_IF_ERROR(GitCheck(
      git_remote_add_fetch(repo, kRemoteName, "+refs/tags/*:refs/tags/*"), "cannot add refspec"));
  owned_remote.reset();
  Status fetched = FetchMirror(repo, url);
  if (!fetched.ok()) {
    owned.reset();
    std::filesystem::remove_all(cache_dir, ec);  // leave no half-made mirror behind
    return fetched;
  }
  return std::unique_ptr<GitRepository>(new GitRepository(owned.release(), cache_dir));
}

}  // namespace bursar::gitops
