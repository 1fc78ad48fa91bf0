#include "config/yaml_tree.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <map>
#include <new>
#include <sstream>

namespace bursar::config {
namespace {

bool IsPlainNumber(std::string_view s) {
  if (s.empty()) return false;
  size_t i = 0;
  if (s[0] == '+' || s[0] == '-') i = 1;
  bool digit = false, point = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      break;
    }
  }
  if (!digit) return s == ".inf" || s == "-.inf" || s == ".nan";
  if (i == s.size()) return true;
  if (s[i] != 'e' && s[i] != 'E') return false;
  ++i;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

// Builds YamlNodes from parser events. Throws YAML::ParserException (caught by ParseYaml) when
// a limit is exceeded, which stops yaml-cpp before it recurses any deeper.
class TreeBuilder : public YAML::EventHandler {
 public:
  // Every node takes at least one character of text (an empty key and its value: two nodes
  // for "?"), so more than 2 nodes per byte means the parser is looping on malformed input.
  TreeBuilder(YamlFile* out, size_t text_size)
      : out_(out), max_nodes_(std::min(kMaxYamlNodes, 2 * text_size + 16)) {}

  void OnDocumentStart(const YAML::Mark&) override {
    anchors_.clear();
    stack_.clear();
    pending_key_.clear();
    root_ = nullptr;
  }
  void OnDocumentEnd() override {
    if (root_ == nullptr) root_ = New(YamlNode::Type::kNull, YAML::Mark());
    out_->documents.push_back(root_);
  }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    YamlNode* n = New(YamlNode::Type::kNull, mark);
    Anchor(anchor, n);
    Add(n, mark);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (++aliases_ > kMaxYamlAliases) {
      throw YAML::ParserException(
          mark, "too many aliases (more than " + std::to_string(kMaxYamlAliases) + ")");
    }
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      throw YAML::ParserException(mark, "alias refers to an anchor that is not complete");
    }
    Add(it->second, mark);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    YamlNode* n = New(YamlNode::Type::kScalar, mark);
    n->value = value;
    n->plain = tag == "?";
    Anchor(anchor, n);
    Add(n, mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(New(YamlNode::Type::kSequence, mark), anchor, mark);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(New(YamlNode::Type::kMapping, mark), anchor, mark);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    YamlNode* node;
    YAML::anchor_t anchor;
    YAML::Mark mark;
  };

  YamlNode* New(YamlNode::Type type, const YAML::Mark& mark) {
    if (out_->arena.size() >= max_nodes_) {
      throw YAML::ParserException(
          mark, max_nodes_ == kMaxYamlNodes
                    ? "too many nodes (more than " + std::to_string(kMaxYamlNodes) + ")"
                    : "malformed structure (the parser produced more nodes than the text holds; "
                      "a stray ',' or flow indicator?)");
    }
    auto node = std::make_unique<YamlNode>();
    node->type = type;
    node->line = mark.line >= 0 ? mark.line + 1 : 1;
    node->column = mark.column >= 0 ? mark.column + 1 : 1;
    out_->arena.push_back(std::move(node));
    return out_->arena.back().get();
  }

  void Anchor(YAML::anchor_t anchor, YamlNode* n) {
    if (anchor != YAML::NullAnchor) anchors_[anchor] = n;
  }

  // Attaches a finished node to the open container (or makes it the document root).
  void Add(const YamlNode* n, const YAML::Mark& mark) {
    // Aliases share nodes, so a small text can describe a huge tree ("billion laughs"); the
    // decoders walk it expanded, so the expanded size is what is limited.
    size_t& total = stack_.empty() ? expanded_ : stack_.back().node->expanded;
    total += n->expanded;  // both terms are <= kMaxYamlNodes: no overflow
    if (total > kMaxYamlNodes) {
      throw YAML::ParserException(
          mark, "aliases expand to more than " + std::to_string(kMaxYamlNodes) + " nodes");
    }
    if (stack_.empty()) {
      root_ = n;
      return;
    }
    YamlNode* parent = stack_.back().node;
    if (parent->type == YamlNode::Type::kSequence) {
      parent->items.push_back(n);
    } else if (pending_key_.back() == nullptr) {
      pending_key_.back() = n;
    } else {
      parent->entries.emplace_back(pending_key_.back(), n);
      pending_key_.back() = nullptr;
    }
  }

  void Open(YamlNode* n, YAML::anchor_t anchor, const YAML::Mark& mark) {
    if (static_cast<int>(stack_.size()) >= kMaxYamlDepth) {
      throw YAML::ParserException(
          mark, "nesting deeper than " + std::to_string(kMaxYamlDepth) + " levels");
    }
    stack_.push_back({n, anchor, mark});
    pending_key_.resize(stack_.size(), nullptr);
    pending_key_.back() = nullptr;
  }

  void Close() {
    if (stack_.empty()) return;
    Frame f = stack_.back();
    stack_.pop_back();
    pending_key_.resize(stack_.size());
    // Registered only once complete, so an alias can never point at its own ancestor.
    Anchor(f.anchor, f.node);
    Add(f.node, f.mark);
  }

  YamlFile* out_;
  std::map<YAML::anchor_t, const YamlNode*> anchors_;
  std::vector<Frame> stack_;
  std::vector<const YamlNode*> pending_key_;  // per open container: a key waiting for a value
  const YamlNode* root_ = nullptr;
  size_t max_nodes_;
  size_t aliases_ = 0;
  size_t expanded_ = 0;  // expanded size of the documents finished so far
};

}  // namespace

std::string_view YamlNode::TypeName() const {
  switch (type) {
    case Type::kNull:
      return "null";
    case Type::kSequence:
      return "sequence";
    case Type::kMapping:
      return "mapping";
    case Type::kScalar:
      break;
  }
  if (plain) {
    if (value == "true" || value == "false" || value == "True" || value == "False" ||
        value == "TRUE" || value == "FALSE") {
      return "boolean";
    }
    if (IsPlainNumber(value)) return "number";
  }
  return "string";
}

bool ParseYaml(std::string_view text, YamlFile* out, YamlError* error) {
  out->documents.clear();
  out->arena.clear();
  auto fail = [&](int line, int column, std::string message) {
    error->line = line >= 0 ? line + 1 : 1;
    error->column = column >= 0 ? column + 1 : 1;
    error->message = std::move(message);
    out->documents.clear();
    out->arena.clear();
    return false;
  };
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    TreeBuilder builder(out, text.size());
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const YAML::Exception& e) {
    return fail(e.mark.line, e.mark.column, e.msg);
  } catch (const std::bad_alloc&) {
    return fail(0, 0, "out of memory while parsing");
  } catch (const std::exception& e) {
    return fail(0, 0, e.what());
  }
  return true;
}

}  // namespace bursar::config
