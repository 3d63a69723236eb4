//! Space-delimited filter patterns: `[ip, user, username, timestamp, request, status_code, bytes]`.
//!
//! The message is split into fields on whitespace; text between double quotes or between square
//! brackets counts as one field (without its quotes or brackets). Each comma-separated entry of
//! the pattern names one field, in order, and the number of fields must be the same unless the
//! pattern holds `...`, which stands for any number of fields (none included). An empty entry, as
//! in `[a, , c]` or a trailing comma, is an unnamed field.
//!
//! An entry may carry a condition on its field: `status_code = 404`, `status_code = 4*`,
//! `request = *html*`, `bytes > 1000`, `ip = %127\.0\.0\.[1-9]%`, and several tests of the same
//! field joined by `&&` and `||` (`&&` binds tighter), as in `w1 = ERROR || w1 = WARN`. A number
//! compares numerically when the field reads as a number, and `<`, `<=`, `>`, `>=` need one.

use super::{Cond, PatternError, Tok, bad_term, intersect, invalid, is_word_char, lex};

/// A parsed space-delimited pattern.
#[derive(Debug, Clone)]
pub(super) struct DelimitedPattern {
    fields: Vec<Field>,
    ellipsis: bool,
    /// Literals every matching message holds, checked before splitting the message.
    literals: Vec<String>,
}

#[derive(Debug, Clone)]
enum Field {
    /// `...`: any number of fields.
    Ellipsis,
    /// A field with no condition.
    Any,
    /// Alternatives (`||`), each a list of tests that must all hold (`&&`).
    Check(Vec<Vec<Cond>>),
}

impl Field {
    fn accepts(&self, value: &str) -> bool {
        match self {
            Field::Ellipsis | Field::Any => true,
            Field::Check(any) => any.iter().any(|all| all.iter().all(|c| c.eval(&super::Scalar::Str(value)))),
        }
    }
}

impl DelimitedPattern {
    /// Parses the text between the brackets.
    pub(super) fn parse(inner: &str) -> Result<DelimitedPattern, PatternError> {
        let entries = split_entries(inner)?;
        if entries.iter().all(|e| e.trim().is_empty()) {
            return Err(invalid("a space-delimited pattern needs at least one field"));
        }
        let fields = entries.iter().map(|e| parse_field(e.trim())).collect::<Result<Vec<_>, _>>()?;
        let ellipsis = fields.iter().any(|f| matches!(f, Field::Ellipsis));
        let literals = super::dedup(literals(&fields));
        Ok(DelimitedPattern { fields, ellipsis, literals })
    }

    pub(super) fn regex_count(&self) -> usize {
        let conds = self.fields.iter().flat_map(|f| match f {
            Field::Check(any) => any.iter().flatten().collect(),
            _ => Vec::new(),
        });
        conds.filter(|c| c.is_regex()).count()
    }

    /// Literals every matching message holds.
    pub(super) fn literals(&self) -> &[String] {
        &self.literals
    }

    pub(super) fn matches(&self, message: &str) -> bool {
        if !self.literals.iter().all(|l| message.contains(l.as_str())) {
            return false;
        }
        if !self.ellipsis {
            let mut values = Words { rest: message };
            return self.fields.iter().all(|f| values.next().is_some_and(|v| f.accepts(v))) && values.next().is_none();
        }
        // Wildcard matching with backtracking to the last ellipsis: O(fields × words).
        let words: Vec<&str> = Words { rest: message }.collect();
        let (mut p, mut w) = (0, 0);
        let mut back: Option<(usize, usize)> = None;
        while w < words.len() {
            match self.fields.get(p) {
                Some(Field::Ellipsis) => {
                    back = Some((p, w));
                    p += 1;
                }
                Some(f) if f.accepts(words[w]) => {
                    p += 1;
                    w += 1;
                }
                _ => match back {
                    Some((bp, bw)) => {
                        back = Some((bp, bw + 1));
                        p = bp + 1;
                        w = bw + 1;
                    }
                    None => return false,
                },
            }
        }
        self.fields[p.min(self.fields.len())..].iter().all(|f| matches!(f, Field::Ellipsis))
    }
}

/// Literals every matching message holds: a field is a verbatim slice of the message.
fn literals(fields: &[Field]) -> Vec<String> {
    let per_field = fields.iter().map(|f| match f {
        Field::Check(any) => {
            intersect(any.iter().map(|all| all.iter().flat_map(|c| c.literals(false)).collect()).collect())
        }
        _ => Vec::new(),
    });
    per_field.flatten().collect()
}

/// The fields of a message: runs of non-whitespace, or text within `"..."` or `[...]`.
struct Words<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest.trim_start();
        let close = match s.chars().next()? {
            '"' => Some('"'),
            '[' => Some(']'),
            _ => None,
        };
        let (word, rest) = match close {
            Some(c) => match s[1..].find(c) {
                Some(i) => (&s[1..1 + i], &s[2 + i..]),
                None => (&s[1..], ""),
            },
            None => {
                let end = s.find(char::is_whitespace).unwrap_or(s.len());
                (&s[..end], &s[end..])
            }
        };
        self.rest = rest;
        Some(word)
    }
}

/// Splits the pattern on commas that are outside quotes and `%regex%`.
fn split_entries(inner: &str) -> Result<Vec<&str>, PatternError> {
    let (mut entries, mut start) = (Vec::new(), 0);
    let (mut quoted, mut regex, mut escaped) = (false, false, false);
    for (i, c) in inner.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' if !regex => quoted = !quoted,
            '%' if !quoted => regex = !regex,
            ',' if !quoted && !regex => {
                entries.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return Err(invalid("unbalanced quotes"));
    }
    if regex {
        return Err(invalid("unbalanced % around a regular expression"));
    }
    entries.push(&inner[start..]);
    Ok(entries)
}

/// Reads one entry: `...`, a name, or `name OP value` tests joined by `&&` and `||`.
fn parse_field(entry: &str) -> Result<Field, PatternError> {
    if entry.is_empty() {
        return Ok(Field::Any);
    }
    if entry == "..." {
        return Ok(Field::Ellipsis);
    }
    let mut toks = lex(entry)?.into_iter().peekable();
    let name = match toks.next() {
        Some(Tok::Word(w)) if w.chars().all(is_word_char) => w,
        Some(Tok::Word(w)) => return Err(bad_term(&w)),
        _ => return Err(invalid(&format!("invalid field '{entry}'"))),
    };
    if toks.peek().is_none() {
        return Ok(Field::Any);
    }
    let mut any = vec![Vec::new()];
    let mut first = true;
    loop {
        if !first {
            match toks.next() {
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case(&name) => {}
                _ => return Err(invalid(&format!("a condition in field '{name}' may only test '{name}'"))),
            }
        }
        first = false;
        let op = match toks.next() {
            Some(Tok::Op(op)) => op,
            _ => return Err(invalid(&format!("expected an operator in field '{entry}'"))),
        };
        let value = toks.next().ok_or_else(|| invalid(&format!("expected a value in field '{entry}'")))?;
        if let Some(all) = any.last_mut() {
            all.push(Cond::new(op, value)?);
        }
        match toks.next() {
            None => break,
            Some(Tok::And) => {}
            Some(Tok::Or) => any.push(Vec::new()),
            Some(_) => return Err(invalid(&format!("unexpected text in field '{entry}'"))),
        }
    }
    Ok(Field::Check(any))
}
