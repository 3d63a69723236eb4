//! The lines of a container's output, as Docker's logs API gives them with timestamps.

/// A line a container wrote, as Docker recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When Docker recorded it, in nanoseconds since the epoch.
    pub at_ns: i64,
    /// The line, without its line break.
    pub text: String,
}

/// A line of Docker's log output with timestamps: `2026-12-07T17:00:00.123456789Z text\n`.
pub(super) fn parse(bytes: &[u8]) -> Option<LogLine> {
    let text = String::from_utf8_lossy(bytes);
    let (stamp, rest) = text.split_once(' ').unwrap_or((text.as_ref(), ""));
    let at = aws_smithy_types::DateTime::from_str(stamp, aws_smithy_types::date_time::Format::DateTime).ok()?;
    let at_ns = at.secs().saturating_mul(1_000_000_000).saturating_add(i64::from(at.subsec_nanos()));
    let line = rest.strip_suffix('\n').unwrap_or(rest);
    Some(LogLine { at_ns, text: line.strip_suffix('\r').unwrap_or(line).to_owned() })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn docker_timestamps_keep_their_nanoseconds() {
        let line = parse(b"2026-12-07T17:00:00.123456789Z hello world\n");
        assert_eq!(
            line.as_ref().map(|l| (l.at_ns % 1_000_000_000, l.text.as_str())),
            Some((123_456_789, "hello world"))
        );
        assert_eq!(parse(b"2026-12-07T17:00:01Z \n").map(|l| l.text), Some(String::new()));
        assert_eq!(parse(b"no timestamp"), None);
    }
}
