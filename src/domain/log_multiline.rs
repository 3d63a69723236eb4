//! awslogs' multi-line records, as Docker's awslogs driver joins them: with
//! `awslogs-multiline-pattern` (a regular expression) or `awslogs-datetime-format` (strftime,
//! turned into one), a line the pattern matches starts a new event and every other line is
//! appended to the current one. Each line of a joined event ends with a line break, the event
//! carries the time of its first line, an event never grows past the largest CloudWatch Logs
//! takes, and one that waited the flush interval without a new start goes out as it is.

use regex::Regex;

/// The largest event message, in bytes: CloudWatch Logs' 256 KiB less its 26 bytes per event.
pub const MAX_EVENT_BYTES: usize = 262_144 - 26;

/// How long a joined event waits for the line that starts the next one, unless
/// `awslogs-force-flush-interval-seconds` says otherwise.
pub const DEFAULT_FLUSH_MS: i64 = 5_000;

/// The regular expression strftime's sequence `%x` stands for, as Docker's awslogs driver has
/// it; a sequence it does not know stands for nothing.
fn strftime_regex(sequence: char) -> &'static str {
    match sequence {
        'a' => "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)",
        'A' => "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)",
        'w' => "[0-6]",
        'd' => "(?:0[1-9]|[1,2][0-9]|3[0,1])",
        'b' => "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)",
        'B' => "(?:January|February|March|April|May|June|July|August|September|October|November|December)",
        'm' => "(?:0[1-9]|1[0-2])",
        'Y' => r"\d{4}",
        'y' => r"\d{2}",
        'H' => "(?:[0,1][0-9]|2[0-3])",
        'I' => "(?:0[0-9]|1[0-2])",
        'p' => "[A,P]M",
        'M' | 'S' => "[0-5][0-9]",
        'f' => r"\d{6}",
        'z' => r"[+-]\d{4}",
        'Z' => "[A-Z]{1,4}T",
        'j' => "(?:0[0-9][1-9]|[1,2][0-9][0-9]|3[0-5][0-9]|36[0-6])",
        'L' => r"\.\d{3}",
        _ => "",
    }
}

/// The regular expression of an `awslogs-datetime-format`: each `%x` replaced, the rest kept.
#[must_use]
pub fn datetime_pattern(format: &str) -> String {
    let mut out = String::with_capacity(format.len() * 4);
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(sequence) => out.push_str(strftime_regex(sequence)),
            None => out.push('%'),
        }
    }
    out
}

/// The pattern that starts an event, from a container's awslogs options (`None`: every line is
/// an event of its own), or Docker's words for why the options cannot be used.
///
/// # Errors
/// Both options given, or a pattern that is not a regular expression.
pub fn start_pattern(datetime_format: Option<&str>, multiline_pattern: Option<&str>) -> Result<Option<String>, String> {
    if datetime_format.is_some() && multiline_pattern.is_some() {
        return Err(
            "you cannot configure log opt 'awslogs-datetime-format' and 'awslogs-multiline-pattern' at the same time"
                .to_owned(),
        );
    }
    let pattern = match (datetime_format, multiline_pattern) {
        (Some(format), _) if !format.is_empty() => datetime_pattern(format),
        (_, Some(pattern)) if !pattern.is_empty() => pattern.to_owned(),
        _ => return Ok(None),
    };
    match Regex::new(&pattern) {
        Ok(_) => Ok(Some(pattern)),
        Err(e) => Err(format!("awslogs could not parse multiline pattern key {pattern:?}: {e}")),
    }
}

/// An event ready to go into the stream: the time of its first line (ms) and its message.
pub type Event = (i64, String);

/// The event being joined.
#[derive(Debug)]
struct Pending<C> {
    at_ms: i64,
    message: String,
    /// Where the reader was before the event's first line.
    from: C,
}

/// Joins lines into events; `C` is the reader's position, so that a reader that stops can go on
/// from the first line of the event not yet out.
#[derive(Debug)]
pub struct Joiner<C> {
    start: Regex,
    pending: Option<Pending<C>>,
}

impl<C: Copy> Joiner<C> {
    /// A joiner for the pattern that starts an event.
    ///
    /// # Errors
    /// A pattern that is not a regular expression.
    pub fn new(start: &str) -> Result<Self, regex::Error> {
        Ok(Self { start: Regex::new(start)?, pending: None })
    }

    /// Takes the next line, read at `at_ms` from position `from`; gives the event it completes.
    pub fn push(&mut self, at_ms: i64, line: &str, from: C) -> Option<Event> {
        let pending_len = self.pending.as_ref().map_or(0, |p| p.message.len());
        let done = if self.start.is_match(line) || (pending_len > 0 && pending_len + line.len() + 1 > MAX_EVENT_BYTES) {
            self.take()
        } else {
            None
        };
        let pending = self.pending.get_or_insert_with(|| Pending { at_ms, message: String::new(), from });
        pending.message.push_str(line);
        if line.len() < MAX_EVENT_BYTES {
            pending.message.push('\n');
        }
        done
    }

    /// The event being joined, as it is (the flush interval passed, or the output ended).
    pub fn take(&mut self) -> Option<Event> {
        self.pending.take().map(|p| (p.at_ms, p.message)).filter(|(_, m)| !m.is_empty())
    }

    /// Where a reader goes on from so as to lose nothing: before the event being joined, or
    /// `at` (the reader's position) when there is none.
    pub fn resume_from(&self, at: C) -> C {
        self.pending.as_ref().map_or(at, |p| p.from)
    }

    /// When the event being joined started (ms), if one is.
    #[must_use]
    pub fn pending_since(&self) -> Option<i64> {
        self.pending.as_ref().map(|p| p.at_ms)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn join(pattern: &str, lines: &[&str]) -> Vec<String> {
        let mut joiner = Joiner::new(pattern).unwrap_or_else(|e| panic!("{e}"));
        let mut out: Vec<String> = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            out.extend(joiner.push(i64::try_from(i).unwrap_or(0), line, i).map(|e| e.1));
        }
        out.extend(joiner.take().map(|e| e.1));
        out
    }

    #[test]
    fn a_start_line_begins_an_event_and_the_rest_are_appended() {
        let lines = ["INFO a", "  at x", "  at y", "INFO b", "INFO c", "  at z"];
        assert_eq!(join("^INFO", &lines), ["INFO a\n  at x\n  at y\n", "INFO b\n", "INFO c\n  at z\n"]);
        // Lines before the first start form an event of their own; the match is not anchored.
        assert_eq!(join("INFO", &["junk", "x INFO a", "b"]), ["junk\n", "x INFO a\nb\n"]);
    }

    #[test]
    fn an_event_takes_its_first_lines_time_and_resumes_before_it() {
        let mut joiner = Joiner::new("^S").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(joiner.push(10, "S1", 'a'), None);
        assert_eq!(joiner.push(11, "more", 'b'), None);
        assert_eq!(joiner.resume_from('z'), 'a');
        assert_eq!(joiner.pending_since(), Some(10));
        assert_eq!(joiner.push(12, "S2", 'c'), Some((10, "S1\nmore\n".to_owned())));
        assert_eq!(joiner.resume_from('z'), 'c');
        assert_eq!(joiner.take(), Some((12, "S2\n".to_owned())));
        assert_eq!(joiner.resume_from('z'), 'z');
        assert_eq!(joiner.take(), None);
    }

    #[test]
    fn an_event_never_grows_past_the_largest_cloudwatch_takes() {
        let long = "x".repeat(MAX_EVENT_BYTES / 2);
        let events = join("^START", &["START", &long, &long, &long]);
        assert_eq!(events.len(), 3);
        assert_eq!(events.concat(), format!("START\n{long}\n{long}\n{long}\n"));
        assert!(events.iter().all(|e| e.len() <= MAX_EVENT_BYTES));
    }

    #[test]
    fn datetime_formats_become_docker_s_expressions() {
        assert_eq!(datetime_pattern("%Y-%m-%d"), r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[1,2][0-9]|3[0,1])");
        assert_eq!(datetime_pattern("[%H:%M:%S%L] %q%"), r"[(?:[0,1][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.\d{3}] %");
        let pattern = start_pattern(Some("%Y-%m-%d %H:%M:%S"), None).ok().flatten().unwrap_or_default();
        assert_eq!(
            join(&pattern, &["2026-12-07 10:00:00 boom", "Traceback:", "  line 1", "2026-12-07 10:00:01 ok"]),
            ["2026-12-07 10:00:00 boom\nTraceback:\n  line 1\n", "2026-12-07 10:00:01 ok\n"]
        );
    }

    #[test]
    fn options_docker_refuses_are_refused_with_its_words() {
        let both = start_pattern(Some("%Y"), Some("^x"));
        assert!(both.is_err_and(|e| e.contains("at the same time")));
        let bad = start_pattern(None, Some("(unclosed"));
        assert!(bad.is_err_and(|e| e.starts_with("awslogs could not parse multiline pattern key \"(unclosed\"")));
        assert_eq!(start_pattern(None, None), Ok(None));
        assert_eq!(start_pattern(None, Some("")), Ok(None));
    }

    proptest! {
        /// Joining loses no line and adds none: the events, cut at their line breaks, are the
        /// lines read, in order, and every event but possibly the first begins with a start line.
        #[test]
        fn joining_keeps_every_line_in_order(lines in proptest::collection::vec("(S|x)[a-z]{0,3}", 0..40)) {
            let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
            let events = join("^S", &refs);
            let back: Vec<&str> = events.iter().flat_map(|e| e.strip_suffix('\n').unwrap_or(e).split('\n')).collect();
            prop_assert_eq!(&back, &refs);
            for e in events.iter().skip(1) {
                prop_assert!(e.starts_with('S'));
            }
        }
    }
}
