// Loads and validates a desired-state repository from a set of files.
//
// The loader is pure: it takes file contents (from a directory, or from a Git tree through
// gitops/git_source.h) and returns a validated DesiredState or every error found, each with a
// 1-based file:line:column and a message saying what is wrong and what is expected (field by
// field: docs/CONFIG.md). It never throws, and bounds its work on hostile input (file size,
// document count, YAML nesting depth 64, alias count and expanded size: config/yaml_tree.h).
// Thread-safe (no shared state).
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
  // e.g. `unknown field "wieght" in Route "chat" spec.targets[0]; expected one of: model, weight`
  std::string message;
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

// Reads every *.yaml / *.yml under `dir` (recursively, skipping dot-folders) into SourceFiles,
// sorted by path, paths relative to `dir` with '/' separators. A file larger than kMaxFileBytes
// is read only up to just past the limit, so that the loader reports it. Errors: NotFound when
// `dir` is not a directory, InvalidArgument when something under it cannot be read.
StatusOr<std::vector<SourceFile>> ReadDirectory(const std::string& dir);

}  // namespace bursar::config
