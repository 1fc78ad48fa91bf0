#include "config/loader.h"
namespace bursar::config {
std::string Diagnostic::ToString() const {
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " + message;
}
LoadResult LoadDesiredState(const std::vector<SourceFile>&) { return {}; }
StatusOr<std::vector<SourceFile>> ReadDirectory(const std::string&) { return UnimplementedError("todo"); }
}  // namespace bursar::config
