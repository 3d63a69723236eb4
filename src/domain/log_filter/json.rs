//! JSON filter patterns: `{ SELECTOR OP VALUE }`, combined with `&&`, `||` and parentheses
//! (`()` binds tightest, then `&&`, then `||`).
//!
//! - A selector starts at the root `$`: `$.eventType`, `$.user.id`, `$.users[0].email`,
//!   `$.coordinates[0][1]`, `$.['cluster.name']` for a key with a period, and one wildcard,
//!   `$.arrayKey[*]` or `$.*`, which matches when any element or field does. AWS allows one
//!   wildcard per selector and three in a whole pattern.
//! - `=` and `!=` compare strings, quoted or bare, where `*` matches any text; an unquoted number
//!   compares numerically when the value is a number; `%regex%` finds a regular expression.
//!   `<`, `<=`, `>`, `>=` need a number (integer, decimal, signed, or with an exponent).
//! - `IS TRUE`, `IS FALSE`, `IS NULL` and `NOT EXISTS`. AWS does not support `IS NOT` or `EXISTS`.
//!
//! A comparison holds only when the selector reaches a string, number or boolean: an object, an
//! array, `null` or a missing field fails both `=` and `!=`. A message that is not a JSON object
//! or array never matches.

use serde_json::Value as Json;

use super::{Cond, PatternError, Scalar, Tok, intersect, invalid, lex};

/// How deeply parentheses may nest.
const MAX_DEPTH: usize = 64;
/// AWS's limit of wildcard selectors in one pattern.
const MAX_WILDCARDS: usize = 3;

/// A parsed JSON pattern.
#[derive(Debug, Clone)]
pub(super) struct JsonPattern {
    expr: Expr,
    /// Literals every matching message holds, when it has no backslash.
    literals: Vec<String>,
}

#[derive(Debug, Clone)]
enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Test(Vec<Step>, Test),
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
    Any,
}

#[derive(Debug, Clone)]
enum Test {
    Cmp(Cond),
    IsTrue,
    IsFalse,
    IsNull,
    NotExists,
}

impl JsonPattern {
    /// Parses the text between the braces.
    pub(super) fn parse(inner: &str) -> Result<JsonPattern, PatternError> {
        let toks = lex(inner)?;
        let mut p = Parser { toks, pos: 0, wildcards: 0 };
        let expr = p.or(0)?;
        if p.pos != p.toks.len() {
            return Err(invalid("unexpected text after a JSON condition"));
        }
        if p.wildcards > MAX_WILDCARDS {
            return Err(invalid("a JSON pattern may hold at most three wildcard selectors"));
        }
        let literals = super::dedup(expr.literals());
        Ok(JsonPattern { expr, literals })
    }

    pub(super) fn literals(&self) -> &[String] {
        &self.literals
    }

    pub(super) fn regex_count(&self) -> usize {
        self.expr.regex_count()
    }

    pub(super) fn matches(&self, message: &str) -> bool {
        if !message.trim_start().starts_with(['{', '[']) {
            return false;
        }
        if !message.contains('\\') && !self.literals.iter().all(|l| message.contains(l.as_str())) {
            return false;
        }
        match serde_json::from_str::<Json>(message) {
            Ok(v @ (Json::Object(_) | Json::Array(_))) => self.expr.eval(&v),
            _ => false,
        }
    }
}

impl Expr {
    fn eval(&self, root: &Json) -> bool {
        match self {
            Expr::And(es) => es.iter().all(|e| e.eval(root)),
            Expr::Or(es) => es.iter().any(|e| e.eval(root)),
            Expr::Test(steps, Test::NotExists) => !reach(root, steps, &mut |_| true),
            Expr::Test(steps, test) => reach(root, steps, &mut |v| test.holds(v)),
        }
    }

    fn literals(&self) -> Vec<String> {
        match self {
            Expr::And(es) => es.iter().flat_map(Expr::literals).collect(),
            Expr::Or(es) => intersect(es.iter().map(Expr::literals).collect()),
            Expr::Test(_, Test::NotExists) => Vec::new(),
            Expr::Test(steps, test) => {
                // A key is written `"key"` in the message unless escaped (which needs a backslash).
                let mut out: Vec<String> = steps
                    .iter()
                    .filter_map(|s| match s {
                        Step::Key(k) => Some(format!("\"{k}\"")),
                        _ => None,
                    })
                    .collect();
                match test {
                    Test::Cmp(c) => out.extend(c.literals(true)),
                    Test::IsTrue => out.push("true".into()),
                    Test::IsFalse => out.push("false".into()),
                    Test::IsNull => out.push("null".into()),
                    Test::NotExists => {}
                }
                out
            }
        }
    }

    fn regex_count(&self) -> usize {
        match self {
            Expr::And(es) | Expr::Or(es) => es.iter().map(Expr::regex_count).sum(),
            Expr::Test(_, Test::Cmp(c)) => usize::from(c.is_regex()),
            Expr::Test(..) => 0,
        }
    }
}

impl Test {
    fn holds(&self, v: &Json) -> bool {
        match (self, v) {
            (Test::IsTrue, Json::Bool(b)) => *b,
            (Test::IsFalse, Json::Bool(b)) => !*b,
            (Test::IsNull, Json::Null) => true,
            (Test::Cmp(c), Json::String(s)) => c.eval(&Scalar::Str(s)),
            (Test::Cmp(c), Json::Number(n)) => c.eval(&Scalar::Num(n)),
            (Test::Cmp(c), Json::Bool(b)) => c.eval(&Scalar::Bool(*b)),
            _ => false,
        }
    }
}

/// Whether `f` holds for some value the selector reaches (a wildcard tries every child).
fn reach(v: &Json, steps: &[Step], f: &mut dyn FnMut(&Json) -> bool) -> bool {
    let Some((step, rest)) = steps.split_first() else { return f(v) };
    match (step, v) {
        (Step::Key(k), Json::Object(m)) => m.get(k).is_some_and(|c| reach(c, rest, f)),
        (Step::Index(i), Json::Array(a)) => a.get(*i).is_some_and(|c| reach(c, rest, f)),
        (Step::Any, Json::Object(m)) => m.values().any(|c| reach(c, rest, f)),
        (Step::Any, Json::Array(a)) => a.iter().any(|c| reach(c, rest, f)),
        _ => false,
    }
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    wildcards: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek_is(&self, f: fn(&Tok) -> bool) -> bool {
        self.toks.get(self.pos).is_some_and(f)
    }

    fn or(&mut self, depth: usize) -> Result<Expr, PatternError> {
        let mut es = vec![self.and(depth)?];
        while self.peek_is(|t| matches!(t, Tok::Or)) {
            self.pos += 1;
            es.push(self.and(depth)?);
        }
        Ok(if es.len() == 1 { es.remove(0) } else { Expr::Or(es) })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, PatternError> {
        let mut es = vec![self.primary(depth)?];
        while self.peek_is(|t| matches!(t, Tok::And)) {
            self.pos += 1;
            es.push(self.primary(depth)?);
        }
        Ok(if es.len() == 1 { es.remove(0) } else { Expr::And(es) })
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, PatternError> {
        match self.next() {
            Some(Tok::LParen) => {
                if depth >= MAX_DEPTH {
                    return Err(invalid("parentheses nest too deeply"));
                }
                let e = self.or(depth + 1)?;
                match self.next() {
                    Some(Tok::RParen) => Ok(e),
                    _ => Err(invalid("unbalanced parentheses")),
                }
            }
            Some(Tok::Selector(s)) => {
                let steps = parse_selector(&s)?;
                self.wildcards += steps.iter().filter(|s| matches!(s, Step::Any)).count();
                let test = self.test()?;
                Ok(Expr::Test(steps, test))
            }
            _ => Err(invalid("expected a selector such as $.field")),
        }
    }

    fn test(&mut self) -> Result<Test, PatternError> {
        let word = |t: Option<Tok>| match t {
            Some(Tok::Word(w)) => w.to_ascii_uppercase(),
            _ => String::new(),
        };
        match self.next() {
            Some(Tok::Op(op)) => match self.next() {
                Some(tok) => Ok(Test::Cmp(Cond::new(op, tok)?)),
                None => Err(invalid("expected a value after the operator")),
            },
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("IS") => match word(self.next()).as_str() {
                "TRUE" => Ok(Test::IsTrue),
                "FALSE" => Ok(Test::IsFalse),
                "NULL" => Ok(Test::IsNull),
                _ => Err(invalid("IS must be followed by TRUE, FALSE or NULL")),
            },
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NOT") && word(self.next()) == "EXISTS" => Ok(Test::NotExists),
            _ => Err(invalid("expected an operator, IS or NOT EXISTS after a selector")),
        }
    }
}

/// Reads `$.a.b[0]['c.d'][*]` into steps.
fn parse_selector(s: &str) -> Result<Vec<Step>, PatternError> {
    let bad = || invalid(&format!("invalid selector '{s}'"));
    let mut rest = s.strip_prefix('$').ok_or_else(bad)?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            rest = r;
            if rest.is_empty() {
                return Err(bad());
            }
            if let Some(r) = rest.strip_prefix('*') {
                steps.push(Step::Any);
                rest = r;
                continue;
            }
            if rest.starts_with('[') {
                continue;
            }
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')).unwrap_or(rest.len());
            if end == 0 {
                return Err(bad());
            }
            steps.push(Step::Key(rest[..end].to_string()));
            rest = &rest[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let (step, after) = match r.chars().next() {
                Some(q @ ('\'' | '"')) => {
                    let body = &r[1..];
                    let close = body.find(q).ok_or_else(bad)?;
                    (Step::Key(body[..close].to_string()), body[close + 1..].strip_prefix(']').ok_or_else(bad)?)
                }
                _ => {
                    let close = r.find(']').ok_or_else(bad)?;
                    let inner = &r[..close];
                    let step = if inner == "*" {
                        Step::Any
                    } else if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
                        Step::Index(inner.parse().map_err(|_| bad())?)
                    } else {
                        return Err(bad());
                    };
                    (step, &r[close + 1..])
                }
            };
            steps.push(step);
            rest = after;
        } else {
            return Err(bad());
        }
    }
    if steps.is_empty() {
        return Err(bad());
    }
    if steps.iter().filter(|s| matches!(s, Step::Any)).count() > 1 {
        return Err(invalid("a selector may hold only one wildcard"));
    }
    Ok(steps)
}
