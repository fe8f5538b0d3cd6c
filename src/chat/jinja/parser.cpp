// Statements ({% if %}, {% for %}, {% set %}, {% macro %}, ...) and the template body.
#include "chat/jinja/parser.h"

#include <initializer_list>

#include "chat/jinja/expression_parser.h"

namespace turbine::jinja {
namespace {

class Parser : public ExpressionParser {
 public:
  using ExpressionParser::ExpressionParser;

  Body parse_all() {
    std::string stopped_at;
    return parse_body({}, stopped_at);
  }

 private:
  // ---- statements ----

  // Parses until `{% <one of end_tags> ...`; leaves pos_ at that tag's name and reports it.
  Body parse_body(std::initializer_list<const char*> end_tags, std::string& stopped_at) {
    DepthGuard guard(*this, cur().offset);
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.type == TokenType::Eof) {
        if (end_tags.size() == 0) return body;
        std::string names;
        for (const char* n : end_tags) names += (names.empty() ? "'" : " or '") + std::string(n) + "'";
        error(t.offset, "unexpected end of template, expected " + names);
      }
      if (t.type == TokenType::Data) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Text;
        s->offset = t.offset;
        s->text = t.text;
        body.push_back(std::move(s));
        ++pos_;
      } else if (t.type == TokenType::VarBegin) {
        ++pos_;
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Output;
        s->offset = cur().offset;
        s->expr = parse_tuple(true);
        if (cur().type != TokenType::VarEnd) unexpected("end of print statement");
        ++pos_;
        body.push_back(std::move(s));
      } else if (t.type == TokenType::BlockBegin) {
        const Token& tag = peek();
        if (tag.type != TokenType::Name) {
          ++pos_;
          unexpected("a statement name");
        }
        for (const char* e : end_tags)
          if (tag.text == e) {
            ++pos_;
            stopped_at = tag.text;
            return body;
          }
        ++pos_;
        body.push_back(parse_statement());
      } else {
        unexpected("");
      }
    }
  }

  StmtPtr parse_statement() {
    const Token& tag = advance();
    const std::string& name = tag.text;
    auto s = std::make_unique<Stmt>();
    s->offset = tag.offset;
    std::string end;
    if (name == "if") {
      s->kind = StmtKind::If;
      s->conditions.push_back(parse_tuple(false, false));
      expect_block_end();
      while (true) {
        s->bodies.push_back(parse_body({"elif", "else", "endif"}, end));
        ++pos_;
        if (end == "elif") {
          s->conditions.push_back(parse_tuple(false, false));
          expect_block_end();
        } else if (end == "else") {
          expect_block_end();
          s->bodies.push_back(parse_body({"endif"}, end));
          ++pos_;
          expect_block_end();
          break;
        } else {
          expect_block_end();
          break;
        }
      }
    } else if (name == "for") {
      s->kind = StmtKind::For;
      s->names = parse_assign_names();
      if (!skip_name("in")) unexpected("'in'");
      s->expr = parse_tuple(false, /*with_condexpr=*/false);
      if (skip_name("if")) s->condition = parse_expression();
      if (skip_name("recursive")) error(tag.offset, "recursive for loops are not supported");
      expect_block_end();
      ++loop_depth_;
      s->bodies.push_back(parse_body({"endfor", "else"}, end));
      --loop_depth_;
      s->uses_loop = body_reads_name(s->bodies[0], "loop");
      ++pos_;
      expect_block_end();
      if (end == "else") {
        s->bodies.push_back(parse_body({"endfor"}, end));
        ++pos_;
        expect_block_end();
      }
    } else if (name == "set") {
      if (cur().type == TokenType::Name && peek().type == TokenType::Operator && peek().text == ".") {
        s->names.push_back(advance().text);
        ++pos_;
        s->names.push_back(expect_name());
        s->attribute_target = true;
      } else {
        s->names = parse_assign_names();
      }
      if (skip_op("=")) {
        s->kind = StmtKind::Set;
        s->expr = parse_tuple(false);
        expect_block_end();
      } else {
        if (s->attribute_target || s->names.size() != 1) unexpected("'='");
        s->kind = StmtKind::SetBlock;
        if (is_op("|")) s->expr = parse_filter_chain(make(ExprKind::Literal, cur().offset));
        expect_block_end();
        s->bodies.push_back(parse_body({"endset"}, end));
        ++pos_;
        expect_block_end();
      }
    } else if (name == "macro") {
      s->kind = StmtKind::Macro;
      s->names.push_back(expect_name());
      parse_macro_params(*s);
      expect_block_end();
      parse_macro_body(*s, "endmacro");
    } else if (name == "call") {
      // `{% call(params) callee(args) %}body{% endcall %}`: the body becomes `caller`.
      s->kind = StmtKind::CallBlock;
      if (is_op("(")) parse_macro_params(*s);
      size_t call_offset = cur().offset;
      s->expr = parse_expression();
      if (s->expr->kind != ExprKind::Call) error(call_offset, "expected call");
      expect_block_end();
      parse_macro_body(*s, "endcall");
    } else if (name == "break" || name == "continue") {
      if (loop_depth_ == 0) error(tag.offset, "'" + name + "' outside of a loop");
      s->kind = name == "break" ? StmtKind::Break : StmtKind::Continue;
      expect_block_end();
    } else if (name == "filter") {
      s->kind = StmtKind::FilterBlock;
      s->expr = parse_filter_chain(make(ExprKind::Literal, cur().offset), /*leading_pipe=*/false);
      expect_block_end();
      s->bodies.push_back(parse_body({"endfilter"}, end));
      ++pos_;
      expect_block_end();
    } else if (name == "generation") {
      // transformers' {% generation %} marks assistant text; rendering is unchanged.
      s->kind = StmtKind::Scope;
      expect_block_end();
      s->bodies.push_back(parse_body({"endgeneration"}, end));
      ++pos_;
      expect_block_end();
    } else {
      error(tag.offset, "unsupported or unknown tag '" + name + "'");
    }
    return s;
  }

  // `(a, b=default, ...)` of a macro or a call block.
  void parse_macro_params(Stmt& s) {
    expect_op("(");
    while (!skip_op(")")) {
      if (!s.params.empty()) expect_op(",");
      if (skip_op(")")) break;
      MacroParam p;
      p.name = expect_name();
      if (skip_op("="))
        p.default_value = parse_expression();
      else if (!s.params.empty() && s.params.back().default_value)
        error(cur().offset, "non-default argument follows default argument");
      s.params.push_back(std::move(p));
    }
  }

  // The body up to `{% end_tag %}` (a loop outside does not reach into it), then what it refers to.
  void parse_macro_body(Stmt& s, const char* end_tag) {
    std::string end;
    int saved_loop_depth = loop_depth_;
    loop_depth_ = 0;
    s.bodies.push_back(parse_body({end_tag}, end));
    loop_depth_ = saved_loop_depth;
    ++pos_;
    if (s.kind == StmtKind::Macro && cur().type == TokenType::Name) ++pos_;  // `{% endmacro name %}`
    expect_block_end();
    s.signature = analyze_macro_signature(s);
    if (s.signature.takes_caller && s.signature.explicit_caller) {
      for (const auto& p : s.params)
        if (p.name == "caller" && !p.default_value)
          error(s.offset,
                "When defining macros or call blocks the special \"caller\" argument must be omitted or be given a "
                "default.");
    }
  }

  std::vector<std::string> parse_assign_names() {
    std::vector<std::string> names;
    bool paren = skip_op("(");
    names.push_back(expect_name());
    while (skip_op(",")) {
      if (cur().type != TokenType::Name) break;
      names.push_back(expect_name());
    }
    if (paren) expect_op(")");
    return names;
  }

  int loop_depth_ = 0;
};

}  // namespace

Body parse_template(const std::vector<Token>& tokens, const SourceMap& map) { return Parser(tokens, map).parse_all(); }

}  // namespace turbine::jinja
