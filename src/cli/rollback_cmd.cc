// bursar rollback --repo PATH [--to REV] [--reason TEXT] [--branch B] [--no-push]
//
// Writes a revert commit (gitops/rollback.h) and pushes it to `origin` when there is one.
// Exit 0 when committed (and pushed, if there is a remote); 2 when nothing can be rolled back,
// the repository or revision cannot be read, or the push fails (the local commit then stays).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "gitops/git_source.h"
#include "gitops/rollback.h"

namespace bursar::cli {
namespace {

struct RollbackOptions {
  std::string repo;
  std::string to;
  std::string reason;
  std::string branch;
  bool no_push = false;
  std::string output = "table";
};

int RunRollback(const RollbackOptions& opt) {
  auto repo = gitops::GitRepository::Open(opt.repo);
  if (!repo.ok()) {
    std::fprintf(stderr, "bursar rollback: %s\n", repo.status().message().c_str());
    return kExitUsage;
  }
  gitops::RollbackRequest req;
  req.to = opt.to;
  req.reason = opt.reason;
  req.branch = opt.branch;
  req.push = !opt.no_push;
  auto r = gitops::Rollback(**repo, req);
  if (!r.ok()) {
    std::fprintf(stderr, "bursar rollback: %s\n", r.status().message().c_str());
    return kExitUsage;
  }
  bool push_failed = !r->push_status.ok();
  if (opt.output == "json") {
    nlohmann::json j;
    j["commit"] = r->commit.commit;
    j["tree"] = r->commit.tree;
    j["parent"] = r->commit.parent;
    j["branch"] = r->commit.branch;
    j["pushed"] = r->pushed;
    if (push_failed) j["pushError"] = r->push_status.message();
    nlohmann::json reverted = nlohmann::json::array();
    for (const auto& c : r->reverted) reverted.push_back({{"id", c.id}, {"subject", c.Subject()}});
    j["reverted"] = std::move(reverted);
    j["message"] = r->message;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("wrote %s on %s (parent %s), reverting %zu commit(s):\n",
                r->commit.commit.substr(0, 12).c_str(), r->commit.branch.c_str(),
                r->commit.parent.substr(0, 12).c_str(), r->reverted.size());
    for (const auto& c : r->reverted) {
      std::printf("  %s %s\n", c.id.substr(0, 12).c_str(), c.Subject().c_str());
    }
    if (r->pushed) std::printf("pushed to origin\n");
  }
  if (push_failed) {
    std::fprintf(stderr, "bursar rollback: committed locally but the push failed: %s\n",
                 r->push_status.message().c_str());
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace

Runner SetupRollback(CLI::App& sub) {
  auto opt = std::make_shared<RollbackOptions>();
  sub.add_option("--repo", opt->repo, "Git repository (work tree or bare)")->required();
  sub.add_option("--to", opt->to,
                 "Return to this revision: the new commit's tree equals its tree (default: "
                 "revert the tip commit only)");
  sub.add_option("--reason", opt->reason, "Why, written into the commit message");
  sub.add_option("--branch", opt->branch, "Branch to write to (default: the one HEAD is on)");
  sub.add_flag("--no-push", opt->no_push, "Do not push to origin");
  sub.add_option("--output", opt->output, "table or json")->check(CLI::IsMember({"table", "json"}));
  sub.footer(
      "Writes a new commit (author and committer bursar <bursar@localhost>) that names the "
      "reverted commits and the reason, and pushes it when the repository has a remote "
      "'origin'. History is never rewritten. Exit 0 done; 2 nothing to roll back, a bad "
      "revision, a dirty work tree, or a failed push.");
  return [opt] { return RunRollback(*opt); };
}

}  // namespace bursar::cli
