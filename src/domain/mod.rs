//! Pure types and rules of ECS: ARNs, names, time, task definitions, the rules of a deployment
//! (rolling-update step, DAEMON placement, circuit breaker). No IO, no async; unit and property
//! tests.

pub mod arn;
pub mod capacity;
pub mod deployment;
pub mod instance;
pub mod log_filter;
pub mod log_multiline;
pub mod secrets;
pub mod task_definition;

use std::time::SystemTime;

use aws_smithy_types::DateTime;

/// Now, as the epoch seconds (millisecond precision) that the JSON protocol sends for timestamps.
#[must_use]
pub fn now() -> f64 {
    let t = DateTime::from(SystemTime::now());
    (t.as_secs_f64() * 1000.0).round() / 1000.0
}

/// Now, in milliseconds since the epoch (CloudWatch Logs' timestamps).
#[must_use]
pub fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// An instant (seconds since the epoch) as RFC 3339 text, e.g. `2026-01-31T10:00:00Z`.
#[must_use]
pub fn rfc3339(epoch: f64) -> String {
    DateTime::from_secs_f64(epoch).fmt(aws_smithy_types::date_time::Format::DateTime).unwrap_or_default()
}

/// The array at `key` of a JSON object, empty when absent or not an array.
#[must_use]
pub fn list_of<'a>(m: &'a serde_json::Map<String, serde_json::Value>, key: &str) -> &'a [serde_json::Value] {
    m.get(key).and_then(serde_json::Value::as_array).map_or(&[], Vec::as_slice)
}

/// The string at `key` of a JSON object (a document or a value), if it is one.
#[must_use]
pub fn str_of<'a>(m: &'a impl Fields, key: &str) -> Option<&'a str> {
    m.field(key).and_then(serde_json::Value::as_str)
}

/// A JSON object's fields, whether held as a document ([`serde_json::Map`]) or as a value
/// (anything but an object has none).
pub trait Fields {
    /// The value at `key`.
    fn field(&self, key: &str) -> Option<&serde_json::Value>;
}

impl Fields for serde_json::Map<String, serde_json::Value> {
    fn field(&self, key: &str) -> Option<&serde_json::Value> {
        self.get(key)
    }
}

impl<T: Fields + ?Sized> Fields for &T {
    fn field(&self, key: &str) -> Option<&serde_json::Value> {
        (**self).field(key)
    }
}

impl Fields for serde_json::Value {
    fn field(&self, key: &str) -> Option<&serde_json::Value> {
        self.get(key)
    }
}

/// True for a valid ECS resource name: 1 to 255 letters, numbers, hyphens and underscores
/// (clusters, task definition families, container names, capacity providers).
#[must_use]
pub fn is_valid_name(name: &str) -> bool {
    (1..=255).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_valid_name("my-cluster_1"));
        assert!(is_valid_name(&"a".repeat(255)));
        assert!(!is_valid_name(&"a".repeat(256)));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("has space"));
        assert!(!is_valid_name("dot.ted"));
    }

    #[test]
    fn now_is_recent_epoch_seconds() {
        let t = now();
        assert!(t > 1.7e9 && t < 4.0e9, "{t}");
    }
}
