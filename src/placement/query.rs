//! The cluster query language: the expressions of `memberOf` placement constraints and of
//! ListContainerInstances' `filter`, such as
//! `attribute:ecs.instance-type =~ t3.* and not(task:group == database)`.
//!
//! An expression is `subject operator [argument]`, combined with `and`/`&&`, `or`/`||`,
//! `not`/`!` and parentheses. Subjects: `agentConnected`, `agentVersion`, `attribute:NAME`,
//! `ec2InstanceId`, `registeredAt`, `runningTasksCount`, `task:group`. Operators, each with its
//! word form: `==` equals, `!=` not_equals, `>` greater_than, `>=` greater_than_equal, `<`
//! less_than, `<=` less_than_equal, `=~` matches and `!~` not_matches (a Java-style regular
//! expression that must match the whole value), `in` and `!in`/`not_in` with a list `[a, b]`,
//! and `exists` and `!exists`/`not_exists` (no argument). Values are bare words or 'quoted'.
//!
//! Parsing is separate from evaluation: [`parse`] answers an [`Expr`] or a message naming the
//! problem (the API returns it as an InvalidParameterException), and [`Expr::matches`] asks an
//! [`Instance`] for the values of each subject.

use std::fmt;

/// What an expression asks of a container instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// `agentConnected`: `true` or `false`.
    AgentConnected,
    /// `agentVersion`.
    AgentVersion,
    /// `attribute:NAME`.
    Attribute(String),
    /// `ec2InstanceId`.
    Ec2InstanceId,
    /// `registeredAt`: a date (`2024-01-31`) or date and time.
    RegisteredAt,
    /// `runningTasksCount`.
    RunningTasksCount,
    /// `task:group`: the groups of the tasks on the instance.
    TaskGroup,
}

impl Subject {
    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "agentConnected" => Subject::AgentConnected,
            "agentVersion" => Subject::AgentVersion,
            "ec2InstanceId" => Subject::Ec2InstanceId,
            "registeredAt" => Subject::RegisteredAt,
            "runningTasksCount" => Subject::RunningTasksCount,
            "task:group" => Subject::TaskGroup,
            _ => {
                let name = word.strip_prefix("attribute:")?;
                if name.is_empty() {
                    return None;
                }
                Subject::Attribute(name.to_owned())
            }
        })
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`, `equals`.
    Eq,
    /// `!=`, `not_equals`.
    Ne,
    /// `>`, `greater_than`.
    Gt,
    /// `>=`, `greater_than_equal`.
    Ge,
    /// `<`, `less_than`.
    Lt,
    /// `<=`, `less_than_equal`.
    Le,
    /// `=~`, `matches`: a regular expression matching the whole value.
    Matches,
    /// `!~`, `not_matches`.
    NotMatches,
    /// `in [a, b]`.
    In,
    /// `!in`, `not_in [a, b]`.
    NotIn,
    /// `exists`.
    Exists,
    /// `!exists`, `not_exists`.
    NotExists,
}

impl Op {
    fn parse(token: &str) -> Option<Self> {
        Some(match token {
            "==" | "equals" => Op::Eq,
            "!=" | "not_equals" => Op::Ne,
            ">" | "greater_than" => Op::Gt,
            ">=" | "greater_than_equal" => Op::Ge,
            "<" | "less_than" => Op::Lt,
            "<=" | "less_than_equal" => Op::Le,
            "=~" | "matches" => Op::Matches,
            "!~" | "not_matches" => Op::NotMatches,
            "in" => Op::In,
            "!in" | "not_in" => Op::NotIn,
            "exists" => Op::Exists,
            "!exists" | "not_exists" => Op::NotExists,
            _ => return None,
        })
    }
}

/// A parsed expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// `subject op argument`.
    Compare(Subject, Op, Vec<String>),
    /// `subject =~ pattern` (or `!~` when the flag is set), compiled.
    Matches(Subject, regex::Regex, bool),
    /// `a and b`.
    And(Box<Expr>, Box<Expr>),
    /// `a or b`.
    Or(Box<Expr>, Box<Expr>),
    /// `not a`.
    Not(Box<Expr>),
}

/// The values a container instance has for each subject.
pub trait Instance {
    /// The subject's values: none when the instance lacks it (an attribute it does not have),
    /// several for `task:group`, one otherwise. An attribute without a value has one empty value.
    fn values(&self, subject: &Subject) -> Vec<String>;
}

/// Why an expression does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

/// The longest expression AWS accepts.
pub const MAX_LEN: usize = 2000;

/// Parses an expression.
///
/// # Errors
/// A message naming what is wrong and where.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    if text.len() > MAX_LEN {
        return Err(ParseError(format!("The expression is longer than {MAX_LEN} characters.")));
    }
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err(ParseError("The expression is empty.".to_owned()));
    }
    let mut parser = Parser { tokens, at: 0 };
    let expr = parser.or()?;
    if let Some(extra) = parser.peek() {
        return Err(ParseError(format!("Unexpected '{}' at position {}.", extra.text, extra.position)));
    }
    Ok(expr)
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    text: String,
    /// A 'quoted' value: never an operator or keyword.
    quoted: bool,
    /// 1-based character position, for messages.
    position: usize,
}

const SYMBOLS: [&str; 14] = ["==", "!=", ">=", "<=", "=~", "!~", "&&", "||", ">", "<", "!", "(", ")", "["];

fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        if let Some(symbol) = SYMBOLS.iter().chain(&["]", ","]).find(|s| rest.starts_with(**s)) {
            tokens.push(Token { text: (*symbol).to_owned(), quoted: false, position: i + 1 });
            i += symbol.chars().count();
            continue;
        }
        if c == '\'' || c == '"' {
            let end = chars[i + 1..]
                .iter()
                .position(|x| *x == c)
                .ok_or_else(|| ParseError(format!("Unterminated quote at position {}.", i + 1)))?;
            tokens.push(Token { text: chars[i + 1..i + 1 + end].iter().collect(), quoted: true, position: i + 1 });
            i += end + 2;
            continue;
        }
        let start = i;
        while i < chars.len() {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let ends = chars[i].is_whitespace()
                || matches!(chars[i], '(' | ')' | '[' | ']' | ',' | '\'' | '"')
                || ["==", "!=", ">=", "<=", "=~", "!~", "&&", "||", ">", "<"].iter().any(|s| rest.starts_with(s));
            if ends {
                break;
            }
            i += 1;
        }
        tokens.push(Token { text: chars[start..i].iter().collect(), quoted: false, position: start + 1 });
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    /// True (and consumed) if the next token is an unquoted one of `words`.
    fn eat(&mut self, words: &[&str]) -> bool {
        let hit = self.peek().is_some_and(|t| !t.quoted && words.contains(&t.text.as_str()));
        if hit {
            self.at += 1;
        }
        hit
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while self.eat(&["||", "or"]) {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        while self.eat(&["&&", "and"]) {
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat(&["!", "not"]) {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat(&["("]) {
            let inner = self.or()?;
            if !self.eat(&[")"]) {
                return Err(self.expected("')'"));
            }
            return Ok(inner);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let Some(token) = self.next() else { return Err(ParseError("The expression ends too soon.".to_owned())) };
        let subject = Subject::parse(&token.text).filter(|_| !token.quoted).ok_or_else(|| {
            ParseError(format!(
                "'{}' at position {} is not a subject (agentConnected, agentVersion, attribute:NAME, ec2InstanceId, registeredAt, runningTasksCount, task:group).",
                token.text, token.position
            ))
        })?;
        let Some(op_token) = self.next() else {
            return Err(ParseError(format!("'{}' needs an operator after it.", token.text)));
        };
        // `!exists` and `!in` arrive as `!` and a word.
        let mut op_text = op_token.text.clone();
        if op_text == "!" && !op_token.quoted && self.eat(&["exists"]) {
            op_text = "!exists".to_owned();
        } else if op_text == "!" && !op_token.quoted && self.eat(&["in"]) {
            op_text = "!in".to_owned();
        }
        let op = Op::parse(&op_text).filter(|_| !op_token.quoted).ok_or_else(|| {
            ParseError(format!("'{}' at position {} is not an operator.", op_token.text, op_token.position))
        })?;
        let args = match op {
            Op::Exists | Op::NotExists => Vec::new(),
            Op::In | Op::NotIn => self.list()?,
            Op::Matches | Op::NotMatches => {
                let pattern = self.value()?;
                let regex = regex::Regex::new(&format!("^(?:{pattern})$"))
                    .map_err(|e| ParseError(format!("'{pattern}' is not a valid regular expression: {e}")))?;
                return Ok(Expr::Matches(subject, regex, op == Op::NotMatches));
            }
            _ => vec![self.value()?],
        };
        Ok(Expr::Compare(subject, op, args))
    }

    fn value(&mut self) -> Result<String, ParseError> {
        match self.next() {
            Some(t) if t.quoted || !matches!(t.text.as_str(), "(" | ")" | "[" | "]" | "," | "&&" | "||" | "!") => {
                Ok(t.text)
            }
            Some(t) => Err(ParseError(format!("Expected a value at position {}, found '{}'.", t.position, t.text))),
            None => Err(ParseError("The expression ends where a value was expected.".to_owned())),
        }
    }

    fn list(&mut self) -> Result<Vec<String>, ParseError> {
        if !self.eat(&["["]) {
            return Err(self.expected("'[' to open a list"));
        }
        let mut values = vec![self.value()?];
        while self.eat(&[","]) {
            values.push(self.value()?);
        }
        if !self.eat(&["]"]) {
            return Err(self.expected("']' or ','"));
        }
        Ok(values)
    }

    fn expected(&self, what: &str) -> ParseError {
        match self.peek() {
            Some(t) => ParseError(format!("Expected {what} at position {}, found '{}'.", t.position, t.text)),
            None => ParseError(format!("Expected {what} at the end of the expression.")),
        }
    }
}

impl Expr {
    /// True if the instance satisfies the expression.
    pub fn matches(&self, instance: &dyn Instance) -> bool {
        match self {
            Expr::And(a, b) => a.matches(instance) && b.matches(instance),
            Expr::Or(a, b) => a.matches(instance) || b.matches(instance),
            Expr::Not(a) => !a.matches(instance),
            Expr::Matches(subject, regex, negated) => {
                instance.values(subject).iter().any(|v| regex.is_match(v)) != *negated
            }
            Expr::Compare(subject, op, args) => {
                let values = instance.values(subject);
                let date = *subject == Subject::RegisteredAt;
                let any = |test: &dyn Fn(&str, &str) -> bool| values.iter().any(|v| args.iter().any(|a| test(v, a)));
                match op {
                    Op::Exists => !values.is_empty(),
                    Op::NotExists => values.is_empty(),
                    Op::Eq | Op::In => any(&|v, a| v == a),
                    Op::Ne | Op::NotIn => !any(&|v, a| v == a),
                    // Compiled into `Expr::Matches` by the parser.
                    Op::Matches | Op::NotMatches => false,
                    Op::Gt => any(&|v, a| compare(v, a, date).is_some_and(std::cmp::Ordering::is_gt)),
                    Op::Ge => any(&|v, a| compare(v, a, date).is_some_and(std::cmp::Ordering::is_ge)),
                    Op::Lt => any(&|v, a| compare(v, a, date).is_some_and(std::cmp::Ordering::is_lt)),
                    Op::Le => any(&|v, a| compare(v, a, date).is_some_and(std::cmp::Ordering::is_le)),
                }
            }
        }
    }
}

/// Orders two values: as numbers when both are, as dates for `registeredAt` (ISO 8601 text
/// orders as its instant when both have the same form, so a date is compared with the date
/// part), else as text.
fn compare(value: &str, argument: &str, date: bool) -> Option<std::cmp::Ordering> {
    if date {
        let n = argument.len().min(value.len());
        return Some(match (value.get(..n), argument.get(..n)) {
            (Some(v), Some(a)) => v.cmp(a),
            _ => value.cmp(argument),
        });
    }
    match (value.parse::<f64>(), argument.parse::<f64>()) {
        (Ok(v), Ok(a)) => v.partial_cmp(&a),
        _ => Some(value.cmp(argument)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    struct Fake {
        attributes: BTreeMap<&'static str, &'static str>,
        groups: Vec<&'static str>,
        running: i64,
        registered_at: &'static str,
    }

    impl Instance for Fake {
        fn values(&self, subject: &Subject) -> Vec<String> {
            match subject {
                Subject::Attribute(name) => {
                    self.attributes.get(name.as_str()).map(|v| (*v).to_owned()).into_iter().collect()
                }
                Subject::TaskGroup => self.groups.iter().map(|g| (*g).to_owned()).collect(),
                Subject::RunningTasksCount => vec![self.running.to_string()],
                Subject::RegisteredAt => vec![self.registered_at.to_owned()],
                Subject::Ec2InstanceId => vec!["i-0123456789abcdef0".to_owned()],
                Subject::AgentConnected => vec!["true".to_owned()],
                Subject::AgentVersion => vec!["1.89.0".to_owned()],
            }
        }
    }

    fn instance() -> Fake {
        Fake {
            attributes: BTreeMap::from([
                ("ecs.instance-type", "t3.medium"),
                ("ecs.availability-zone", "us-east-1b"),
                ("stack", "prod"),
                ("flag", ""),
            ]),
            groups: vec!["service:web", "family:batch"],
            running: 2,
            registered_at: "2024-03-05T10:00:00Z",
        }
    }

    fn eval(text: &str) -> bool {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}")).matches(&instance())
    }

    #[test]
    fn the_documented_examples() {
        assert!(eval("attribute:ecs.instance-type == t3.medium"));
        assert!(!eval("attribute:ecs.instance-type == t2.small"));
        assert!(eval("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]"));
        assert!(!eval("attribute:ecs.availability-zone not_in [us-east-1a, us-east-1b]"));
        assert!(eval("task:group == service:web"));
        assert!(eval("not(task:group == database)"));
        assert!(!eval("not(task:group == service:web)"));
        assert!(eval("runningTasksCount == 2"));
        assert!(eval("ec2InstanceId in ['i-0123456789abcdef0', 'i-wxyx7890']"));
        assert!(eval("attribute:ecs.instance-type =~ t3.* and attribute:ecs.availability-zone != us-east-1d"));
        assert!(eval("attribute:stack exists"));
        assert!(eval("attribute:flag exists"));
        assert!(!eval("attribute:missing exists"));
        assert!(eval("registeredAt > 2024-01-01"));
        assert!(!eval("registeredAt < 2024-01-01"));
        assert!(eval("agentConnected == true && agentVersion >= 1.20.0"));
    }

    #[test]
    fn word_operators_symbols_and_precedence() {
        assert!(eval("runningTasksCount greater_than 1 and runningTasksCount less_than_equal 2"));
        assert!(eval("runningTasksCount > 10 || attribute:stack equals prod"));
        // `and` binds tighter than `or`.
        assert!(eval("attribute:stack == dev and runningTasksCount == 9 or runningTasksCount == 2"));
        assert!(!eval("attribute:stack == dev and (runningTasksCount == 9 or runningTasksCount == 2)"));
        assert!(eval("!attribute:stack == dev"));
        assert!(eval("attribute:stack matches pr.d"));
        assert!(!eval("attribute:stack =~ pr"), "a pattern matches the whole value");
        assert!(eval("attribute:stack !~ dev|test"));
        assert!(eval("attribute:stack not_matches 'd.*'"));
        assert!(eval("attribute:missing !exists"));
        assert!(eval("attribute:missing not_exists"));
        assert!(!eval("attribute:stack !exists"));
        assert!(eval("ec2InstanceId !in [i-1, i-2]"));
        assert!(eval("runningTasksCount >= 2"));
        assert!(eval("runningTasksCount != 3"));
        // Numbers compare as numbers, not as text.
        assert!(eval("runningTasksCount < 10"));
        // A missing attribute is not equal to anything.
        assert!(eval("attribute:missing != x"));
        assert!(!eval("attribute:missing == x"));
    }

    #[test]
    fn errors_name_the_problem() {
        for (text, fragment) in [
            ("", "empty"),
            ("attribute:stack", "needs an operator"),
            ("attribute:stack ~~ prod", "is not an operator"),
            ("colour == red", "is not a subject"),
            ("attribute: == x", "is not a subject"),
            ("attribute:stack in prod", "'[' to open a list"),
            ("attribute:stack in [a, b", "']' or ','"),
            ("(attribute:stack == prod", "')'"),
            ("attribute:stack == prod extra", "Unexpected 'extra'"),
            ("attribute:stack == 'prod", "Unterminated quote"),
            ("attribute:stack ==", "ends where a value"),
            ("attribute:stack == prod and", "ends too soon"),
            ("attribute:stack =~ 'pr(od'", "not a valid regular expression"),
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.0.contains(fragment), "{text}: {err}");
        }
        assert!(parse(&"x".repeat(MAX_LEN + 1)).is_err());
        // Any text is an answer, never a panic.
        for text in ["registeredAt > é", "((((", "]]", "attribute:é == ü", "! ! !", ",", "'"] {
            if let Ok(expr) = parse(text) {
                expr.matches(&instance());
            }
        }
    }
}
