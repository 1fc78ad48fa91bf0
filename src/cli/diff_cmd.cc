// bursar diff --repo PATH FROM TO [--output table|json]
//
// Resources added, removed and changed between two revisions of a Git repository, with a
// field-level path for every change (gitops/diff.h). Exit 0 whether or not there are changes;
// 2 when the repository or a revision cannot be read, or a revision's YAML does not parse.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "gitops/diff.h"
#include "gitops/git_source.h"

namespace bursar::cli {
namespace {

struct DiffOptions {
  std::string repo;
  std::string cache;
  std::string from;
  std::string to;
  std::string output = "table";
};

int RunDiff(const DiffOptions& opt) {
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "bursar diff: %s\n", s.message().c_str());
    return kExitUsage;
  };
  auto repo = gitops::OpenLocalOrMirror(opt.repo, opt.cache);
  if (!repo.ok()) return fail(repo.status());
  auto from_commit = (*repo)->ResolveCommit(opt.from);
  if (!from_commit.ok()) return fail(from_commit.status());
  auto to_commit = (*repo)->ResolveCommit(opt.to);
  if (!to_commit.ok()) return fail(to_commit.status());
  auto from_files = (*repo)->ReadFiles(*from_commit);
  if (!from_files.ok()) return fail(from_files.status());
  auto to_files = (*repo)->ReadFiles(*to_commit);
  if (!to_files.ok()) return fail(to_files.status());
  auto diff = gitops::DiffFiles(*from_files, *to_files);
  if (!diff.ok()) return fail(diff.status());
  diff->from_rev = opt.from;
  diff->to_rev = opt.to;
  diff->from_commit = *from_commit;
  diff->to_commit = *to_commit;
  if (opt.output == "json") {
    std::fputs(gitops::FormatDiffJson(*diff).c_str(), stdout);
  } else {
    std::printf("%s (%s) -> %s (%s)\n", opt.from.c_str(), from_commit->substr(0, 12).c_str(),
                opt.to.c_str(), to_commit->substr(0, 12).c_str());
    std::fputs(gitops::FormatDiffTable(*diff).c_str(), stdout);
  }
  return kExitOk;
}

}  // namespace

Runner SetupDiff(CLI::App& sub) {
  auto opt = std::make_shared<DiffOptions>();
  AddGitRepoOptions(sub, &opt->repo, &opt->cache);
  sub.add_option("from", opt->from, "Older revision (HEAD~1, a branch, tag or commit id)")
      ->required();
  sub.add_option("to", opt->to, "Newer revision")->required();
  sub.add_option("--output", opt->output, "table or json")->check(CLI::IsMember({"table", "json"}));
  sub.footer(
      "Lines: '+' added, '-' removed, '~' changed resource, each changed field as "
      "path: before -> after. Exit 0; 2 when a repository or revision cannot be read.");
  return [opt] { return RunDiff(*opt); };
}

}  // namespace bursar::cli
