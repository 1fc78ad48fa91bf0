// Loads and validates a desired-state repository from a set of files.
//
// The loader is pure: it takes file contents (from a directory, or from a Git tree through
// gitops/git_source.h) and returns a validated DesiredState or every error found. It never
// throws. Thread-safe (no shared state).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "config/model.h"

namespace bursar::config {

// One YAML file of a repository; `path` is relative to the repository root.
struct SourceFile {
  std::string path;
  std::string content;
};

// One validation error: where, what is wrong, what is expected.
struct Diagnostic {
  SourceLocation where;
  std::string message;  // e.g. "unknown field \"wieght\" in Route.spec.targets[0]; expected ..."
  std::string ToString() const;  // "file:line:column: message"
};

struct LoadResult {
  std::shared_ptr<DesiredState> state;  // null when diagnostics is non-empty
  std::vector<Diagnostic> diagnostics;  // in file, line, column order
};

// Size limits on input (bytes per file, documents per repository).
inline constexpr size_t kMaxFileBytes = 4 << 20;
inline constexpr size_t kMaxDocuments = 10000;

// Validates all files together (cross-document references, duplicate names).
// Files whose extension is not .yaml/.yml are ignored by the callers, not here.
LoadResult LoadDesiredState(const std::vector<SourceFile>& files);

// Reads every *.yaml / *.yml under `dir` (recursively, skipping dot-folders) into SourceFiles.
StatusOr<std::vector<SourceFile>> ReadDirectory(const std::string& dir);

}  // namespace bursar::config
