// A small, immutable YAML tree with 1-based source positions on every node, built from
// yaml-cpp's event parser.
//
// Why not YAML::Node: its accessors throw, zombie nodes have no position, it hides whether a
// scalar was quoted, and it has no limit on nesting or aliases. This tree is built in one pass
// with limits enforced while parsing (depth, nodes, aliases), so a hostile file cannot exhaust
// the stack or memory. Aliases share the anchored node (the tree is a DAG, never a cycle).
//
// Ownership: a YamlFile owns all its nodes; node pointers live as long as the YamlFile.
// Thread safety: ParseYaml is pure; a built YamlFile is immutable.
// Errors: ParseYaml never throws; a syntax error or an exceeded limit is returned as a
// YamlError with the position yaml-cpp reported.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bursar::config {

// Limits applied while parsing one file.
inline constexpr int kMaxYamlDepth = 64;          // nested mappings/sequences
inline constexpr size_t kMaxYamlNodes = 1 << 20;  // nodes per file, also with aliases expanded
inline constexpr size_t kMaxYamlAliases = 1000;   // alias uses (*name) per file

struct YamlNode {
  enum class Type { kNull, kScalar, kSequence, kMapping };
  Type type = Type::kNull;
  int line = 0;         // 1-based
  int column = 0;       // 1-based
  std::string value;    // kScalar: the scalar's text
  bool plain = false;   // kScalar: unquoted plain scalar (so `1` and `"1"` can be told apart)
  size_t expanded = 1;  // nodes in this subtree with aliases expanded (at most kMaxYamlNodes)
  std::vector<const YamlNode*> items;                                // kSequence
  std::vector<std::pair<const YamlNode*, const YamlNode*>> entries;  // kMapping: key, value

  bool IsNull() const { return type == Type::kNull; }
  bool IsScalar() const { return type == Type::kScalar; }
  bool IsSequence() const { return type == Type::kSequence; }
  bool IsMapping() const { return type == Type::kMapping; }
  // "null", "string", "number", "boolean", "sequence" or "mapping", for messages.
  std::string_view TypeName() const;
};

struct YamlFile {
  std::vector<const YamlNode*> documents;  // roots, in file order (an empty document is kNull)
  std::vector<std::unique_ptr<YamlNode>> arena;
};

struct YamlError {
  int line = 1;
  int column = 1;
  std::string message;
};

// Parses every document of `text`. Returns false and fills `error` on a syntax error or when
// a limit above is exceeded.
bool ParseYaml(std::string_view text, YamlFile* out, YamlError* error);

}  // namespace bursar::config
