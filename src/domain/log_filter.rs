//! CloudWatch Logs filter patterns: the `filterPattern` of FilterLogEvents, metric filters and
//! subscription filters, parsed once and then matched against many log event messages.
//!
//! AWS documents the syntax in the CloudWatch Logs User Guide, "Filter pattern syntax for metric
//! filters, subscription filters, filter log events, and Live Tail"
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>).
//! A pattern takes one of four forms, chosen by its first character once surrounding whitespace is
//! trimmed:
//!
//! - **Terms** (anything else): `ERROR`, `ERROR ARGUMENTS` (all must appear), `"INTERNAL SERVER
//!   ERROR"` (an exact phrase), `ERROR -ARGUMENTS` (exclude), `?ERROR ?WARN` (any one of them).
//!   Matching is case-sensitive and by substring. An unquoted term may hold only letters, digits
//!   and `_`; anything else must be quoted. As AWS documents, `?` terms are ignored when the
//!   pattern also has a term without `?`. An empty pattern, or `" "`, matches every event.
//! - **Regex** `%...%`: a regular expression found anywhere in the message, limited to the
//!   characters AWS allows (no parentheses, no multi-byte characters).
//! - **JSON** `{ SELECTOR OP VALUE }`: see the `json` submodule.
//! - **Space-delimited** `[ip, user, ..., status_code = 4*, bytes > 1000]`: see the `delimited`
//!   submodule.
//!
//! Error texts follow what AWS returns where it is known: `Invalid filter pattern: Invalid
//! character(s) in term '...'`, `If a filter pattern starts with '{' it must end with '}'` (and the
//! same for `[`). Other mistakes read `Invalid filter pattern: ` and a short reason.

mod delimited;
mod json;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;

use regex::bytes::{Regex, RegexBuilder};

/// A parsed filter pattern, ready to be matched against log event messages.
#[derive(Debug, Clone)]
pub struct FilterPattern {
    kind: Kind,
    prefilter: Prefilter,
    regex_count: usize,
}

/// Why a filter pattern was rejected. Its text is the message berth returns in an
/// `InvalidParameterException`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PatternError {}

/// Substrings that a message must contain for the pattern to match it: a cheap test to run before
/// [`FilterPattern::matches`], for example in SQL as `instr(message, ?) > 0` for each literal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefilter {
    /// Every message the pattern matches contains each of these strings.
    pub all_of: Vec<String>,
    /// When true, `all_of` only holds for messages without a backslash (`\`): a JSON message can
    /// spell any text with escapes such as `\u0041`, so the caller must also let through every
    /// message that contains a backslash.
    pub unless_backslash: bool,
}

#[derive(Debug, Clone)]
enum Kind {
    All,
    Terms(Terms),
    Regex(Rx),
    Json(json::JsonPattern),
    Delimited(delimited::DelimitedPattern),
}

/// Unstructured terms. An empty string here (from `" "`) is found in every message.
#[derive(Debug, Clone, Default)]
struct Terms {
    include: Vec<String>,
    exclude: Vec<String>,
    any_of: Vec<String>,
}

impl FilterPattern {
    /// Parses a filter pattern. An empty pattern, or one of only whitespace, matches everything.
    ///
    /// # Errors
    /// A [`PatternError`] carrying AWS's message when the text is not a valid filter pattern.
    pub fn parse(text: &str) -> Result<FilterPattern, PatternError> {
        let t = text.trim();
        let (kind, regex_count) = if t.is_empty() {
            (Kind::All, 0)
        } else if t.starts_with('{') {
            if !t.ends_with('}') || t.len() < 2 {
                return Err(PatternError("If a filter pattern starts with '{' it must end with '}'".into()));
            }
            let p = json::JsonPattern::parse(&t[1..t.len() - 1])?;
            let n = p.regex_count();
            (Kind::Json(p), n)
        } else if t.starts_with('[') {
            if !t.ends_with(']') || t.len() < 2 {
                return Err(PatternError("If a filter pattern starts with '[' it must end with ']'".into()));
            }
            let p = delimited::DelimitedPattern::parse(&t[1..t.len() - 1])?;
            let n = p.regex_count();
            (Kind::Delimited(p), n)
        } else if t.starts_with('%') {
            if t.len() < 3 || !t.ends_with('%') {
                return Err(invalid("a regular expression must be written as %regex%"));
            }
            (Kind::Regex(Rx::compile(&t[1..t.len() - 1])?), 1)
        } else {
            (Kind::Terms(parse_terms(t)?), 0)
        };
        if regex_count > MAX_REGEX {
            return Err(invalid("a JSON or space-delimited pattern may hold at most 2 regular expressions"));
        }
        let prefilter = match &kind {
            Kind::All | Kind::Regex(_) => Prefilter::default(),
            Kind::Terms(terms) => Prefilter {
                all_of: dedup(terms.include.iter().filter(|s| !s.is_empty()).cloned().collect()),
                unless_backslash: false,
            },
            Kind::Json(p) => Prefilter { all_of: p.literals().to_vec(), unless_backslash: true },
            Kind::Delimited(p) => Prefilter { all_of: p.literals().to_vec(), unless_backslash: false },
        };
        Ok(FilterPattern { kind, prefilter, regex_count })
    }

    /// Whether the log event message matches this pattern.
    #[must_use]
    pub fn matches(&self, message: &str) -> bool {
        match &self.kind {
            Kind::All => true,
            Kind::Terms(t) => t.matches(message),
            Kind::Regex(r) => r.is_match(message),
            Kind::Json(p) => p.matches(message),
            Kind::Delimited(p) => p.matches(message),
        }
    }

    /// Substrings that every message this pattern matches must contain, for a cheap prefilter.
    /// It is sound: a message that [`matches`](Self::matches) accepts contains every string in
    /// `all_of`, or else (only when `unless_backslash` is set) contains a backslash. It is empty
    /// when nothing can be required: alternatives, exclusions only, a regex, the empty pattern.
    #[must_use]
    pub fn prefilter(&self) -> Prefilter {
        self.prefilter.clone()
    }

    /// How many regular expressions (`%...%`) the pattern holds. AWS allows at most five
    /// regex-bearing metric or subscription filters per log group; the caller enforces that.
    #[must_use]
    pub fn regex_count(&self) -> usize {
        self.regex_count
    }
}

/// AWS's limit of regular expressions in one JSON or space-delimited pattern.
const MAX_REGEX: usize = 2;

impl Terms {
    fn matches(&self, m: &str) -> bool {
        if self.include.is_empty() && self.exclude.is_empty() {
            return self.any_of.iter().any(|t| m.contains(t.as_str()));
        }
        self.include.iter().all(|t| m.contains(t.as_str())) && !self.exclude.iter().any(|t| m.contains(t.as_str()))
    }
}

/// Splits unstructured terms: `word`, `"phrase"`, each optionally led by `-` or `?`.
fn parse_terms(text: &str) -> Result<Terms, PatternError> {
    let mut terms = Terms::default();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let prefix = if c == '-' || c == '?' {
            chars.next();
            Some(c)
        } else {
            None
        };
        let term = if chars.peek().map(|&(_, c)| c) == Some('"') {
            chars.next();
            let mut out = String::new();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, e @ ('"' | '\\'))) => out.push(e),
                        Some((_, e)) => {
                            out.push('\\');
                            out.push(e);
                        }
                        None => break,
                    },
                    _ => out.push(c),
                }
            }
            let end = chars.peek().map_or(text.len(), |&(i, _)| i);
            if !closed {
                return Err(invalid("unbalanced quotes"));
            }
            if chars.peek().is_some_and(|&(_, c)| !c.is_whitespace()) || out.is_empty() {
                let stop = text[end..].find(char::is_whitespace).map_or(text.len(), |i| end + i);
                return Err(bad_term(&text[start..stop]));
            }
            // AWS documents `" "` as "match everything": a blank phrase is found in any message.
            if out.trim().is_empty() { String::new() } else { out }
        } else {
            let mut stop = text.len();
            while let Some(&(i, c)) = chars.peek() {
                if c.is_whitespace() {
                    stop = i;
                    break;
                }
                chars.next();
            }
            let word = &text[start..stop];
            let bare = &word[prefix.map_or(0, char::len_utf8)..];
            if bare.is_empty() || !bare.chars().all(is_word_char) {
                return Err(bad_term(word));
            }
            bare.to_string()
        };
        match prefix {
            Some('-') => terms.exclude.push(term),
            Some(_) => terms.any_of.push(term),
            None => terms.include.push(term),
        }
    }
    Ok(terms)
}

/// A letter, digit or underscore: what an unquoted term may hold.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `Invalid filter pattern: DETAIL`.
fn invalid(detail: &str) -> PatternError {
    PatternError(format!("Invalid filter pattern: {detail}"))
}

/// AWS's message for a term with characters that need quoting, as FilterLogEvents words it
/// (PutMetricFilter has been seen to answer the same text without the `Invalid filter pattern: `).
fn bad_term(term: &str) -> PatternError {
    invalid(&format!("Invalid character(s) in term '{term}'"))
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = Vec::with_capacity(v.len());
    v.retain(|s| {
        let fresh = !s.is_empty() && !seen.contains(s);
        if fresh {
            seen.push(s.clone());
        }
        fresh
    });
    v
}

/// Literals required by every branch of an OR: those present in all of them.
fn intersect(sets: Vec<Vec<String>>) -> Vec<String> {
    let mut it = sets.into_iter();
    let Some(first) = it.next() else { return Vec::new() };
    it.fold(first, |acc, s| acc.into_iter().filter(|x| s.contains(x)).collect())
}

/// A compiled `%...%` regular expression, checked against AWS's list of allowed characters.
#[derive(Debug, Clone)]
struct Rx(Regex);

impl Rx {
    /// Compiles the text between the `%` signs. AWS allows letters, digits, `:_#=@/;,-`, space
    /// and the operators `^$?[]{}|\*+.`; parentheses and multi-byte characters are refused.
    /// Classes such as `\w` and `\d` are ASCII-only, as AWS defines them.
    fn compile(src: &str) -> Result<Rx, PatternError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || ":_#=@/;,- ^$?[]{}|\\*+.".contains(c);
        if src.is_empty() || !src.chars().all(allowed) {
            return Err(bad_term(&format!("%{src}%")));
        }
        RegexBuilder::new(&normalize_counts(src))
            .unicode(false)
            .size_limit(1 << 20)
            .build()
            .map(Rx)
            .map_err(|_| invalid(&format!("invalid regular expression '%{src}%'")))
    }

    fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text.as_bytes())
    }
}

/// Rewrites AWS's `{m, n}` and `{,n}` counts into the `{m,n}` and `{0,n}` the regex crate reads.
fn normalize_counts(src: &str) -> String {
    let mut out = String::with_capacity(src.len() + 2);
    let mut chars = src.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(e) = chars.next() {
                    out.push(e);
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '{' if !in_class => {
                let rest = chars.as_str();
                match rest.find('}') {
                    Some(end) if rest[..end].chars().all(|c| c.is_ascii_digit() || c == ',' || c == ' ') => {
                        let inner: String = rest[..end].chars().filter(|c| *c != ' ').collect();
                        out.push('{');
                        if inner.starts_with(',') {
                            out.push('0');
                        }
                        out.push_str(&inner);
                        out.push('}');
                        chars = rest[end + 1..].chars();
                    }
                    _ => out.push(c),
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// A string value with `*` wildcards, matched against a whole value: `parts` are the literal
/// pieces between the wildcards (one piece and no wildcard means plain equality).
#[derive(Debug, Clone)]
struct Glob {
    parts: Vec<String>,
}

impl Glob {
    /// A bare (unquoted) value, where every `*` is a wildcard.
    fn bare(text: &str) -> Glob {
        Glob { parts: text.split('*').map(str::to_string).collect() }
    }

    fn matches(&self, s: &str) -> bool {
        let [first, middle @ .., last] = self.parts.as_slice() else {
            return self.parts.first().is_some_and(|p| p == s);
        };
        if s.len() < first.len() + last.len() || !s.starts_with(first.as_str()) || !s.ends_with(last.as_str()) {
            return false;
        }
        let mut rest = &s[first.len()..s.len() - last.len()];
        for part in middle {
            match rest.find(part.as_str()) {
                Some(i) => rest = &rest[i + part.len()..],
                None => return false,
            }
        }
        true
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn holds(self, actual: f64, expected: f64) -> bool {
        match self {
            Op::Eq => actual == expected,
            Op::Ne => actual != expected,
            Op::Lt => actual < expected,
            Op::Le => actual <= expected,
            Op::Gt => actual > expected,
            Op::Ge => actual >= expected,
        }
    }
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone)]
enum Value {
    /// An unquoted number such as `400`, `-1.5` or `10e-3`, with its text.
    Number(f64, String),
    Glob(Glob),
    Regex(Rx),
}

/// A value taken from the message: JSON text, a JSON number or boolean, or a delimited field.
enum Scalar<'a> {
    Str(&'a str),
    Num(&'a serde_json::Number),
    Bool(bool),
}

impl Scalar<'_> {
    fn text(&self) -> Cow<'_, str> {
        match self {
            Scalar::Str(s) => Cow::Borrowed(s),
            Scalar::Num(n) => Cow::Owned(n.to_string()),
            Scalar::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Scalar::Str(s) => parse_number(s),
            Scalar::Num(n) => n.as_f64(),
            Scalar::Bool(_) => None,
        }
    }
}

/// One comparison: `OP VALUE`.
#[derive(Debug, Clone)]
struct Cond {
    op: Op,
    value: Value,
}

impl Cond {
    /// Builds a comparison from its operator and value token; `<`, `>`, `<=`, `>=` need a number.
    fn new(op: Op, tok: Tok) -> Result<Cond, PatternError> {
        let value = match tok {
            Tok::Quoted(g) => Value::Glob(g),
            Tok::Regex(src) => Value::Regex(Rx::compile(&src)?),
            Tok::Word(w) => match parse_number(&w) {
                Some(n) => Value::Number(n, w),
                None if w.chars().all(|c| c.is_alphanumeric() || "_-.*+:/".contains(c)) => Value::Glob(Glob::bare(&w)),
                None => return Err(bad_term(&w)),
            },
            _ => return Err(invalid("expected a value after the operator")),
        };
        if !matches!(op, Op::Eq | Op::Ne) && !matches!(value, Value::Number(..)) {
            return Err(invalid("<, >, <= and >= compare with a number"));
        }
        Ok(Cond { op, value })
    }

    fn eval(&self, s: &Scalar<'_>) -> bool {
        let eq = match &self.value {
            Value::Number(n, text) => match s.number() {
                Some(x) => return self.op.holds(x, *n),
                None => s.text() == text.as_str(),
            },
            Value::Glob(g) => g.matches(&s.text()),
            Value::Regex(r) => r.is_match(&s.text()),
        };
        match self.op {
            Op::Eq => eq,
            Op::Ne => !eq,
            _ => false,
        }
    }

    /// Literals any matching value contains. With `may_be_number`, the value may be a JSON number
    /// whose text is rebuilt by serde and need not appear in the message, so only pieces that no
    /// number's text could hold are kept.
    fn literals(&self, may_be_number: bool) -> Vec<String> {
        match (&self.value, self.op) {
            (Value::Glob(g), Op::Eq) => g
                .parts
                .iter()
                .filter(|p| !p.is_empty())
                .filter(|p| !may_be_number || !could_be_number_text(p))
                .cloned()
                .collect(),
            _ => Vec::new(),
        }
    }

    fn is_regex(&self) -> bool {
        matches!(self.value, Value::Regex(_))
    }
}

/// Whether the text could be part of a number as serde_json prints it.
fn could_be_number_text(p: &str) -> bool {
    p.chars().all(|c| "0123456789.eE+-".contains(c))
}

/// A number as AWS writes one: optional sign, digits with an optional fraction, optional exponent.
fn parse_number(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let mut mantissa = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        mantissa += digits(&mut i);
    }
    if mantissa == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if i == b.len() { s.parse().ok() } else { None }
}

/// A token of a JSON or space-delimited condition.
#[derive(Debug, Clone)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Op(Op),
    Quoted(Glob),
    Regex(String),
    Word(String),
    Selector(String),
}

/// Splits condition text into tokens. Quoted strings keep `*` as a wildcard, with `\*`, `\"` and
/// `\\` for the literal characters.
fn lex(text: &str) -> Result<Vec<Tok>, PatternError> {
    let mut toks = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let next = chars.peek().map(|&(_, c)| c);
        let tok = match c {
            c if c.is_whitespace() => continue,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '&' | '|' if next == Some(c) => {
                chars.next();
                if c == '&' { Tok::And } else { Tok::Or }
            }
            '=' => Tok::Op(Op::Eq),
            '!' | '<' | '>' if next == Some('=') => {
                chars.next();
                Tok::Op(match c {
                    '!' => Op::Ne,
                    '<' => Op::Le,
                    _ => Op::Ge,
                })
            }
            '<' => Tok::Op(Op::Lt),
            '>' => Tok::Op(Op::Gt),
            '"' => {
                let (mut parts, mut cur, mut closed) = (Vec::new(), String::new(), false);
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '*' => parts.push(std::mem::take(&mut cur)),
                        '\\' => match chars.next() {
                            Some((_, e @ ('"' | '\\' | '*'))) => cur.push(e),
                            Some((_, e)) => {
                                cur.push('\\');
                                cur.push(e);
                            }
                            None => break,
                        },
                        _ => cur.push(c),
                    }
                }
                if !closed {
                    return Err(invalid("unbalanced quotes"));
                }
                parts.push(cur);
                Tok::Quoted(Glob { parts })
            }
            '%' => match text[start + 1..].find('%') {
                Some(len) => {
                    while chars.peek().is_some_and(|&(i, _)| i <= start + 1 + len) {
                        chars.next();
                    }
                    Tok::Regex(text[start + 1..start + 1 + len].to_string())
                }
                None => return Err(invalid("unbalanced % around a regular expression")),
            },
            '$' => {
                let mut quote: Option<char> = None;
                let mut in_bracket = false;
                let mut end = text.len();
                while let Some(&(i, c)) = chars.peek() {
                    match (in_bracket, quote, c) {
                        (true, Some(q), c) if c == q => quote = None,
                        (true, Some(_), _) => {}
                        (true, None, '\'' | '"') => quote = Some(c),
                        (true, None, ']') => in_bracket = false,
                        (false, _, '[') => in_bracket = true,
                        (false, _, c) if c.is_whitespace() || "()=!<>&|".contains(c) => {
                            end = i;
                            break;
                        }
                        _ => {}
                    }
                    chars.next();
                }
                if in_bracket {
                    return Err(invalid("unbalanced brackets in a selector"));
                }
                Tok::Selector(text[start..end].to_string())
            }
            _ => {
                let mut end = text.len();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || "()=!<>&|\"%".contains(c) {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                Tok::Word(text[start..end].to_string())
            }
        };
        toks.push(tok);
    }
    Ok(toks)
}
