// Test helper (tests only): a real Git repository made with the `git` command in a fresh
// temporary folder, removed on destruction. Commits get fixed, increasing dates so history order
// is deterministic. Throws std::runtime_error when a git command fails (tests only; never used
// by the library).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace bursar::gitops::testing {

inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Runs a shell command; returns its stdout without the trailing newline; throws on failure.
inline std::string Run(const std::string& command) {
  std::string full = command + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  int rc = pclose(pipe);
  if (rc != 0) throw std::runtime_error("command failed (" + command + "): " + out);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

inline std::string MakeTempDir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

// A scratch folder removed on destruction.
class TempDir {
 public:
  TempDir() : path_(MakeTempDir("bursar-test-")) {}
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class TempRepo {
 public:
  // A work-tree repository on branch main (bare = true: a bare repository, e.g. a remote).
  explicit TempRepo(bool bare = false) : path_(MakeTempDir("bursar-git-")) {
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
    Git(std::string("init -q -b main") + (bare ? " --bare" : ""));
    Git("config user.name 'Test Author'");
    Git("config user.email test@example.com");
    Git("config commit.gpgsign false");
  }
  ~TempRepo() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempRepo(const TempRepo&) = delete;
  TempRepo& operator=(const TempRepo&) = delete;

  const std::string& path() const { return path_; }
  std::string url() const { return "file://" + path_; }

  // Runs `git <args>` in the repository (args are shell text).
  std::string Git(const std::string& args) const {
    return Run("git -C " + ShellQuote(path_) + " " + args);
  }

  void Write(const std::string& rel, const std::string& content) const {
    auto full = std::filesystem::path(path_) / rel;
    std::filesystem::create_directories(full.parent_path());
    std::ofstream(full, std::ios::binary) << content;
  }
  void Remove(const std::string& rel) const {
    std::filesystem::remove(std::filesystem::path(path_) / rel);
  }

  // Stages everything and commits; returns the new commit id.
  std::string Commit(const std::string& message) {
    ++commits_;
    std::string date = "@" + std::to_string(1700000000 + commits_ * 60) + " +0000";
    Git("add -A");
    Run("cd " + ShellQuote(path_) + " && GIT_AUTHOR_DATE=" + ShellQuote(date) +
        " GIT_COMMITTER_DATE=" + ShellQuote(date) + " git commit -q --allow-empty -m " +
        ShellQuote(message));
    return Git("rev-parse HEAD");
  }

 private:
  std::string path_;
  int commits_ = 0;
};

}  // namespace bursar::gitops::testing
