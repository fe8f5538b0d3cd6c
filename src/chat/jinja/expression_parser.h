// Parses jinja2 expressions with its precedence (or, and, not, comparisons, + -, ~, * / // %, **,
// unary, postfix, filters and tests), over a cursor of tag tokens. The statement parser builds on it.
#pragma once
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "chat/jinja/ast.h"
#include "chat/jinja/builtins.h"
#include "chat/jinja/lexer.h"

namespace turbine::jinja {

class ExpressionParser {
 public:
  ExpressionParser(const std::vector<Token>& tokens, const SourceMap& map) : toks_(tokens), map_(map) {}

  // Deep nesting ends in an error, never a stack overflow.
  static constexpr int kMaxNesting = 200;

  static ExprPtr make(ExprKind kind, size_t offset) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->offset = offset;
    return e;
  }

  static ExprPtr make2(ExprKind kind, size_t offset, ExprPtr a, ExprPtr b, std::string name = {}) {
    auto e = make(kind, offset);
    e->children.push_back(std::move(a));
    e->children.push_back(std::move(b));
    e->name = std::move(name);
    return e;
  }

  struct DepthGuard {
    ExpressionParser& p;
    explicit DepthGuard(ExpressionParser& parser, size_t offset) : p(parser) {
      if (++p.depth_ > kMaxNesting) p.error(offset, "template nesting too deep");
    }
    ~DepthGuard() { --p.depth_; }
  };

  const Token& cur() const { return toks_[pos_]; }
  const Token& peek(size_t n = 1) const { return toks_[std::min(pos_ + n, toks_.size() - 1)]; }
  const Token& advance() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }
  bool is_op(const char* op) const { return cur().type == TokenType::Operator && cur().text == op; }
  bool is_name(const char* name) const { return cur().type == TokenType::Name && cur().text == name; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    ++pos_;
    return true;
  }
  bool skip_name(const char* name) {
    if (!is_name(name)) return false;
    ++pos_;
    return true;
  }

  [[noreturn]] void error(size_t offset, const std::string& message) const { fail_at(map_, offset, message); }

  std::string describe(const Token& t) const {
    switch (t.type) {
      case TokenType::Eof: return "end of template";
      case TokenType::BlockEnd: return "end of statement block";
      case TokenType::VarEnd: return "end of print statement";
      case TokenType::Name: return "'" + t.text + "'";
      case TokenType::Operator: return "'" + t.text + "'";
      case TokenType::String: return "string";
      default: return "token";
    }
  }
  [[noreturn]] void unexpected(const std::string& expected) const {
    error(cur().offset, "unexpected " + describe(cur()) + (expected.empty() ? "" : ", expected " + expected));
  }

  void expect_op(const char* op) {
    if (!skip_op(op)) unexpected(std::string("'") + op + "'");
  }
  size_t expect_op_offset(const char* op) {
    size_t offset = cur().offset;
    expect_op(op);
    return offset;
  }
  std::string expect_name() {
    if (cur().type != TokenType::Name) unexpected("a name");
    return advance().text;
  }
  void expect_block_end() {
    if (cur().type != TokenType::BlockEnd) unexpected("end of statement block");
    ++pos_;
  }

  // ---- expressions ----

  // `a, b` builds a tuple (as in `{{ a, b }}` or `set x = 1, 2`).
  ExprPtr parse_tuple(bool in_print, bool with_condexpr = true) {
    size_t offset = cur().offset;
    ExprPtr first = with_condexpr ? parse_expression() : parse_or();
    if (!is_op(",")) return first;
    auto t = make(ExprKind::Tuple, offset);
    t->children.push_back(std::move(first));
    while (skip_op(",")) {
      if (cur().type == TokenType::BlockEnd || cur().type == TokenType::VarEnd || is_name("if") || is_name("recursive"))
        break;
      t->children.push_back(with_condexpr ? parse_expression() : parse_or());
    }
    return t;
  }

  ExprPtr parse_expression() {
    DepthGuard guard(*this, cur().offset);
    ExprPtr expr = parse_or();
    while (is_name("if")) {
      size_t offset = advance().offset;
      auto c = make(ExprKind::Condition, offset);
      c->children.push_back(parse_or());
      c->children.push_back(std::move(expr));
      c->children.push_back(skip_name("else") ? parse_expression() : nullptr);
      expr = std::move(c);
    }
    return expr;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      size_t offset = advance().offset;
      left = make2(ExprKind::Or, offset, std::move(left), parse_and());
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      size_t offset = advance().offset;
      left = make2(ExprKind::And, offset, std::move(left), parse_not());
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this, cur().offset);
      auto e = make(ExprKind::Not, advance().offset);
      e->children.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  // Chained comparisons (a < b < c) become `a < b and b < c` with b evaluated twice (pure here).
  ExprPtr parse_compare() {
    size_t offset = cur().offset;
    ExprPtr left = parse_math1();
    ExprPtr result;
    while (true) {
      std::string op;
      if (cur().type == TokenType::Operator && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                                cur().text == "<=" || cur().text == ">" || cur().text == ">=")) {
        op = advance().text;
      } else if (is_name("in")) {
        ++pos_;
        op = "in";
      } else if (is_name("not") && peek().type == TokenType::Name && peek().text == "in") {
        pos_ += 2;
        op = "notin";
      } else {
        break;
      }
      ExprPtr right = parse_math1();
      if (result) {
        // Re-parse is not possible; keep a copy of the left operand by sharing a literal-free rebuild.
        ExprPtr cmp = make2(ExprKind::Binary, offset, clone(*left), clone(*right), op);
        result = make2(ExprKind::And, offset, std::move(result), std::move(cmp));
      } else {
        result = make2(ExprKind::Binary, offset, std::move(left), clone(*right), op);
      }
      left = std::move(right);
    }
    return result ? std::move(result) : std::move(left);
  }

  static ExprPtr clone(const Expr& e) {
    auto c = std::make_unique<Expr>();
    c->kind = e.kind;
    c->offset = e.offset;
    c->literal = e.literal;
    c->name = e.name;
    c->kw_names = e.kw_names;
    c->negated = e.negated;
    if (e.star_args) c->star_args = clone(*e.star_args);
    if (e.star_kwargs) c->star_kwargs = clone(*e.star_kwargs);
    for (const auto& ch : e.children) c->children.push_back(ch ? clone(*ch) : nullptr);
    return c;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& t = advance();
      left = make2(ExprKind::Binary, t.offset, std::move(left), parse_concat(), t.text);
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      const Token& t = advance();
      left = make2(ExprKind::Binary, t.offset, std::move(left), parse_math2(), "~");
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& t = advance();
      left = make2(ExprKind::Binary, t.offset, std::move(left), parse_pow(), t.text);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const Token& t = advance();
      left = make2(ExprKind::Binary, t.offset, std::move(left), parse_unary(true), "**");
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this, cur().offset);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      const Token& t = advance();
      node = make(t.text == "-" ? ExprKind::Negate : ExprKind::Plus, t.offset);
      node->children.push_back(parse_unary(false));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    switch (t.type) {
      case TokenType::Name: {
        ++pos_;
        auto e = make(ExprKind::Literal, t.offset);
        if (t.text == "true" || t.text == "True")
          e->literal = Value(true);
        else if (t.text == "false" || t.text == "False")
          e->literal = Value(false);
        else if (t.text == "none" || t.text == "None")
          e->literal = Value::none();
        else {
          e->kind = ExprKind::Name;
          e->name = t.text;
        }
        return e;
      }
      case TokenType::String: {
        std::string s;
        while (cur().type == TokenType::String) s += advance().text;
        auto e = make(ExprKind::Literal, t.offset);
        e->literal = Value(std::move(s));
        return e;
      }
      case TokenType::Integer: {
        ++pos_;
        auto e = make(ExprKind::Literal, t.offset);
        e->literal = Value(t.int_value);
        return e;
      }
      case TokenType::Float: {
        ++pos_;
        auto e = make(ExprKind::Literal, t.offset);
        e->literal = Value(t.float_value);
        return e;
      }
      case TokenType::Operator:
        if (t.text == "(") {
          ++pos_;
          if (skip_op(")")) return make(ExprKind::Tuple, t.offset);
          ExprPtr first = parse_expression();
          if (skip_op(")")) return first;
          auto tup = make(ExprKind::Tuple, t.offset);
          tup->children.push_back(std::move(first));
          while (skip_op(",")) {
            if (is_op(")")) break;
            tup->children.push_back(parse_expression());
          }
          expect_op(")");
          return tup;
        }
        if (t.text == "[") {
          ++pos_;
          auto list = make(ExprKind::List, t.offset);
          while (!skip_op("]")) {
            if (!list->children.empty()) expect_op(",");
            if (skip_op("]")) break;
            list->children.push_back(parse_expression());
          }
          return list;
        }
        if (t.text == "{") {
          ++pos_;
          auto dict = make(ExprKind::Dict, t.offset);
          while (!skip_op("}")) {
            if (!dict->children.empty()) expect_op(",");
            if (skip_op("}")) break;
            dict->children.push_back(parse_expression());
            expect_op(":");
            dict->children.push_back(parse_expression());
          }
          return dict;
        }
        break;
      default: break;
    }
    unexpected("an expression");
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".")) {
        size_t offset = advance().offset;
        auto e = make(ExprKind::GetAttr, offset);
        if (cur().type == TokenType::Name) {
          e->name = advance().text;
        } else if (cur().type == TokenType::Integer) {
          // `x.0` is item access in jinja2
          e->kind = ExprKind::GetItem;
          auto idx = make(ExprKind::Literal, cur().offset);
          idx->literal = Value(advance().int_value);
          e->children.push_back(std::move(node));
          e->children.push_back(std::move(idx));
          node = std::move(e);
          continue;
        } else {
          unexpected("an attribute name");
        }
        e->children.push_back(std::move(node));
        node = std::move(e);
      } else if (is_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node), ExprKind::Call);
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    size_t offset = advance().offset;
    ExprPtr parts[3];
    int part = 0;
    bool is_slice = false;
    while (true) {
      if (is_op(":")) {
        ++pos_;
        is_slice = true;
        if (++part > 2) unexpected("']'");
        continue;
      }
      if (is_op("]")) break;
      if (parts[part]) unexpected("']'");
      parts[part] = parse_expression();
    }
    ++pos_;
    if (!is_slice) {
      if (!parts[0]) error(offset, "expected an index");
      return make2(ExprKind::GetItem, offset, std::move(node), std::move(parts[0]));
    }
    auto e = make(ExprKind::Slice, offset);
    e->children.push_back(std::move(node));
    for (auto& p : parts) e->children.push_back(std::move(p));
    return e;
  }

  // Arguments `(a, b, name=c, *list, **dict)` appended to `call`'s children, in the orders jinja2 allows:
  // positionals, then `*x`, keywords, `**y` (keywords may also come before `*x`).
  void parse_args(Expr& call) {
    size_t open = expect_op_offset("(");
    auto ensure = [&](bool ok) {
      if (!ok) error(open, "invalid syntax for function call expression");
    };
    bool first = true;
    while (!skip_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (skip_op(")")) break;
      if (skip_op("*")) {
        ensure(!call.star_args && !call.star_kwargs);
        call.star_args = parse_expression();
      } else if (skip_op("**")) {
        ensure(!call.star_kwargs);
        call.star_kwargs = parse_expression();
      } else if (cur().type == TokenType::Name && peek().type == TokenType::Operator && peek().text == "=") {
        ensure(!call.star_kwargs);
        call.kw_names.push_back(advance().text);
        ++pos_;
        call.children.push_back(parse_expression());
      } else {
        ensure(!call.star_args && !call.star_kwargs && call.kw_names.empty());
        call.children.push_back(parse_expression());
      }
    }
  }

  ExprPtr parse_call(ExprPtr callee, ExprKind kind) {
    auto e = make(kind, cur().offset);
    e->children.push_back(std::move(callee));
    parse_args(*e);
    return e;
  }

  ExprPtr parse_filter_chain(ExprPtr node, bool leading_pipe = true) {
    bool first = true;
    while ((first && !leading_pipe) || is_op("|")) {
      if (!(first && !leading_pipe)) ++pos_;
      first = false;
      size_t offset = cur().offset;
      std::string name = expect_name();
      while (is_op(".")) {
        ++pos_;
        name.append(".").append(expect_name());
      }
      if (!has_filter(name)) error(offset, "No filter named '" + name + "'");
      auto e = make(ExprKind::Filter, offset);
      e->name = name;
      e->children.push_back(std::move(node));
      if (is_op("(")) parse_args(*e);
      node = std::move(e);
    }
    return node;
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        node = parse_filter_chain(std::move(node));
      } else if (is_name("is")) {
        size_t offset = advance().offset;
        auto e = make(ExprKind::Test, offset);
        e->negated = skip_name("not");
        size_t name_offset = cur().offset;
        e->name = expect_name();
        if (!has_test(e->name)) error(name_offset, "No test named '" + e->name + "'");
        e->children.push_back(std::move(node));
        if (is_op("(")) {
          parse_args(*e);
        } else if ((cur().type == TokenType::Name || cur().type == TokenType::String ||
                    cur().type == TokenType::Integer || cur().type == TokenType::Float || is_op("[") || is_op("{") ||
                    is_op("(")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          if (is_name("is")) unexpected("a test argument");
          e->children.push_back(parse_postfix(parse_primary()));
        }
        node = std::move(e);
      } else if (is_op("(")) {
        node = parse_call(std::move(node), ExprKind::Call);
      } else {
        return node;
      }
    }
  }

 protected:
  const std::vector<Token>& toks_;
  const SourceMap& map_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace turbine::jinja
