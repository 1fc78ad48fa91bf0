#include "gitops/git_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gitops/rollback.h"
#include "gitops/test_repo.h"

namespace bursar::gitops {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempRepo;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<GitRepository> MustOpen(const std::string& path) {
  auto repo = GitRepository::Open(path);
  EXPECT_TRUE(repo.ok()) << repo.status().ToString();
  return repo.ok() ? std::move(*repo) : nullptr;
}

TEST(WriteCommit, EditsFilesWithoutTouchingOthers) {
  TempRepo repo;
  repo.Write("routes/chat.yaml", "weight: 90\n");
  repo.Write("models.yaml", "a: 1\n");
  std::string first = repo.Commit("one");
  auto git = MustOpen(repo.path());

  CommitRequest req;
  req.edits = {{"routes/chat.yaml", "weight: 80\n"},
               {"new/dir/x.yaml", "x: 1\n"},
               {"models.yaml", std::nullopt}};
  req.message = "bursar: shift weight";
  auto c = WriteCommit(*git, req);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->parent, first);
  EXPECT_EQ(c->branch, "refs/heads/main");
  EXPECT_EQ(repo.Git("rev-parse HEAD"), c->commit);
  EXPECT_EQ(repo.Git("log -1 --format=%an%x20%ae%x20%cn%x20%ce%x20%s"),
            "bursar bursar@localhost bursar bursar@localhost bursar: shift weight");
  EXPECT_EQ(repo.Git("ls-tree -r --name-only HEAD"), "new/dir/x.yaml\nroutes/chat.yaml");
  EXPECT_EQ(repo.Git("show HEAD:routes/chat.yaml"), "weight: 80");
  // The checked-out work tree and index follow the new commit.
  EXPECT_EQ(ReadFile(repo.path() + "/routes/chat.yaml"), "weight: 80\n");
  EXPECT_FALSE(std::filesystem::exists(repo.path() + "/models.yaml"));
  EXPECT_EQ(repo.Git("status --porcelain"), "");
}

TEST(WriteCommit, RefusesDirtyWorkTreeStaleParentAndEmptyCommit) {
  TempRepo repo;
  repo.Write("a.yaml", "a: 1\n");
  std::string first = repo.Commit("one");
  auto git = MustOpen(repo.path());

  CommitRequest req;
  req.edits = {{"a.yaml", "a: 2\n"}};
  req.message = "m";
  req.expected_parent = std::string(40, '0');
  auto stale = WriteCommit(*git, req);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(stale.status().message(), HasSubstr("moved"));

  req.expected_parent = first;
  repo.Write("a.yaml", "a: local edit\n");
  auto dirty = WriteCommit(*git, req);
  ASSERT_FALSE(dirty.ok());
  EXPECT_THAT(dirty.status().message(), HasSubstr("dirty"));
  EXPECT_THAT(dirty.status().message(), HasSubstr("a.yaml"));
  EXPECT_EQ(repo.Git("rev-parse HEAD"), first);
  repo.Git("checkout -- a.yaml");
  repo.Write("untracked.txt", "left alone\n");  // untracked files do not block

  req.edits = {{"a.yaml", "a: 1\n"}};  // same content: nothing to commit
  auto empty = WriteCommit(*git, req);
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("nothing to commit"));

  req.edits = {{"../escape.yaml", "x"}};
  EXPECT_EQ(WriteCommit(*git, req).status().code(), StatusCode::kInvalidArgument);
  req.edits = {{"missing.yaml", std::nullopt}};
  EXPECT_FALSE(WriteCommit(*git, req).ok());
  req.edits = {{"b.yaml", "b: 1\n"}};
  auto ok = WriteCommit(*git, req);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(repo.path() + "/untracked.txt"));
}

TEST(WriteCommit, OtherBranchInABareRepositoryAndPush) {
  TempRepo remote(/*bare=*/true);
  TempRepo repo;
  repo.Write("a.yaml", "a: 1\n");
  repo.Commit("one");
  repo.Git("branch config");
  repo.Git("remote add origin " + remote.path());
  repo.Git("push -q origin main config");
  auto git = MustOpen(repo.path());
  EXPECT_TRUE(HasRemote(*git, "origin"));
  EXPECT_FALSE(HasRemote(*git, "upstream"));

  CommitRequest req;
  req.branch = "config";  // not checked out: the work tree is not touched
  req.edits = {{"a.yaml", "a: 2\n"}};
  req.message = "edit config branch";
  auto c = WriteCommit(*git, req);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(ReadFile(repo.path() + "/a.yaml"), "a: 1\n");
  EXPECT_EQ(repo.Git("show config:a.yaml"), "a: 2");
  ASSERT_TRUE(PushBranch(*git, "origin", c->branch).ok());
  EXPECT_EQ(remote.Git("rev-parse config"), c->commit);

  // Writing straight into the bare remote, then pushing the stale local branch: rejected.
  auto bare = MustOpen(remote.path());
  req.edits = {{"a.yaml", "a: 3\n"}};
  ASSERT_TRUE(WriteCommit(*bare, req).ok());
  req.edits = {{"a.yaml", "a: 4\n"}};
  auto local = WriteCommit(*git, req);
  ASSERT_TRUE(local.ok());
  Status push = PushBranch(*git, "origin", local->branch);
  ASSERT_FALSE(push.ok());
  EXPECT_EQ(push.code(), StatusCode::kFailedPrecondition) << push.ToString();
}

class RollbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_.Write("routes/chat.yaml", "weights: [90, 10]\n");
    c1_ = repo_.Commit("one: canary 10%");
    repo_.Write("routes/chat.yaml", "weights: [50, 50]\n");
    c2_ = repo_.Commit("two: canary 50%");
    repo_.Write("models.yaml", "new: model\n");
    c3_ = repo_.Commit("three: add a model");
    repo_.Git("remote add origin " + remote_.path());
    repo_.Git("push -q origin main");
    git_ = MustOpen(repo_.path());
  }
  TempRepo remote_{/*bare=*/true};
  TempRepo repo_;
  std::string c1_, c2_, c3_;
  std::unique_ptr<GitRepository> git_;
};

TEST_F(RollbackTest, RevertsTheTipAndPushes) {
  RollbackRequest req;
  req.reason = "error rate above 5%";
  auto r = Rollback(*git_, req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->pushed) << r->push_status.ToString();
  EXPECT_EQ(r->commit.parent, c3_);
  EXPECT_EQ(repo_.Git("rev-parse HEAD^{tree}"), repo_.Git("rev-parse " + c2_ + "^{tree}"));
  EXPECT_EQ(remote_.Git("rev-parse main"), r->commit.commit);
  ASSERT_EQ(r->reverted.size(), 1u);
  EXPECT_EQ(r->reverted[0].id, c3_);
  EXPECT_EQ(repo_.Git("log -1 --format=%B"),
            "Revert \"three: add a model\"\n\nThis reverts commit " + c3_ +
                ".\n\nReason: error rate above 5%\n\nReverts: " + c3_);
  EXPECT_EQ(repo_.Git("log -1 --format=%an%x20%ae"), "bursar bursar@localhost");
  EXPECT_FALSE(std::filesystem::exists(repo_.path() + "/models.yaml"));
}

TEST_F(RollbackTest, RollsBackToAnEarlierRevision) {
  RollbackRequest req;
  req.to = "HEAD~2";
  auto r = Rollback(*git_, req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->commit.tree, repo_.Git("rev-parse " + c1_ + "^{tree}"));
  EXPECT_EQ(repo_.Git("rev-parse HEAD^{tree}"), repo_.Git("rev-parse " + c1_ + "^{tree}"));
  EXPECT_EQ(repo_.Git("rev-parse HEAD~1"), c3_);  // history is kept, not rewritten
  EXPECT_EQ(remote_.Git("rev-parse main^{tree}"), repo_.Git("rev-parse " + c1_ + "^{tree}"));
  std::vector<std::string> ids;
  for (const auto& c : r->reverted) ids.push_back(c.id);
  EXPECT_THAT(ids, ElementsAre(c3_, c2_));
  std::string body = repo_.Git("log -1 --format=%B");
  EXPECT_THAT(body, HasSubstr("Roll back main to " + c1_.substr(0, 12) + " \"one: canary 10%\""));
  EXPECT_THAT(body, HasSubstr("Reason: requested with bursar rollback"));
  EXPECT_THAT(body, HasSubstr("  " + c3_.substr(0, 12) + " three: add a model\n"));
  EXPECT_THAT(body, HasSubstr("  " + c2_.substr(0, 12) + " two: canary 50%\n"));
  EXPECT_THAT(body, HasSubstr("Rollback-To: " + c1_));
  EXPECT_EQ(ReadFile(repo_.path() + "/routes/chat.yaml"), "weights: [90, 10]\n");
}

TEST_F(RollbackTest, RefusesWhatCannotBeRolledBack) {
  RollbackRequest req;
  req.to = "HEAD";
  EXPECT_EQ(Rollback(*git_, req).status().code(), StatusCode::kFailedPrecondition);
  req.to = "no-such-rev";
  EXPECT_EQ(Rollback(*git_, req).status().code(), StatusCode::kNotFound);
  repo_.Git("checkout -q -b side " + c1_);
  repo_.Write("side.yaml", "s: 1\n");
  repo_.Commit("side");
  repo_.Git("checkout -q main");
  req.to = "side";
  auto r = Rollback(*git_, req);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("not an ancestor"));
  EXPECT_EQ(repo_.Git("rev-parse HEAD"), c3_);
}

}  // namespace
}  // namespace bursar::gitops
