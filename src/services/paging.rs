//! maxResults / nextToken paging, the same for every List operation of every service.
//!
//! A token is the position after the last item returned (its sort key), base64url-encoded JSON,
//! tagged with the operation so a token from one list is refused by another. Each page is one
//! indexed range query that starts at that key, so its cost does not depend on how many pages
//! came before.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::error::Result;

/// The page size: `maxResults` if given (1 to `cap`), else `default`.
///
/// # Errors
/// `InvalidParameterException` outside 1..=cap.
pub fn page_size(max_results: Option<i64>, default: u32, cap: u32) -> Result<u32> {
    match max_results {
        None => Ok(default),
        Some(n) if n >= 1 && n <= i64::from(cap) => Ok(u32::try_from(n).unwrap_or(cap)),
        Some(n) => Err(aws_error!(InvalidParameterException, "maxResults must be between 1 and {cap}, got {n}.")),
    }
}

/// The token that resumes `list` after the item with sort key `key`.
#[must_use]
pub fn encode(list: &str, key: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(json!([list, key]).to_string())
}

/// The sort key a token of `list` resumes after; None when there is no token.
///
/// # Errors
/// `InvalidParameterException` for a token that berth did not issue for this list.
pub fn decode(list: &str, token: Option<&str>) -> Result<Option<Vec<String>>> {
    let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(None) };
    let invalid = || aws_error!(InvalidParameterException, "Invalid nextToken: it was not issued by {list}.");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    match value.as_array().map(Vec::as_slice) {
        Some([Value::String(tag), Value::Array(key)]) if tag == list => {
            key.iter().map(|k| k.as_str().map(str::to_owned).ok_or_else(invalid)).collect::<Result<_>>().map(Some)
        }
        _ => Err(invalid()),
    }
}

/// The next token for a page: fetch `size + 1` rows; if more than `size` came back, drop the
/// extra one and return the token after the last kept row.
pub fn next_token<T>(list: &str, rows: &mut Vec<T>, size: u32, key: impl Fn(&T) -> Vec<String>) -> Option<String> {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if rows.len() <= size {
        return None;
    }
    rows.truncate(size);
    let last = key(rows.last()?);
    let parts: Vec<&str> = last.iter().map(String::as_str).collect();
    Some(encode(list, &parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_list() {
        let t = encode("ListClusters", &["b"]);
        assert_eq!(decode("ListClusters", Some(&t)).unwrap(), Some(vec!["b".to_owned()]));
        assert!(decode("ListTaskDefinitions", Some(&t)).is_err());
        assert!(decode("ListClusters", Some("garbage!")).is_err());
        assert_eq!(decode("ListClusters", None).unwrap(), None);
    }

    #[test]
    fn next_token_only_when_more_rows_exist() {
        let mut rows = vec![1, 2, 3];
        assert!(next_token("L", &mut rows, 3, |r| vec![r.to_string()]).is_none());
        let mut rows = vec![1, 2, 3];
        let t = next_token("L", &mut rows, 2, |r| vec![r.to_string()]).unwrap();
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(decode("L", Some(&t)).unwrap(), Some(vec!["2".to_owned()]));
    }

    #[test]
    fn page_size_bounds() {
        assert_eq!(page_size(None, 100, 100).unwrap(), 100);
        assert_eq!(page_size(Some(5), 100, 100).unwrap(), 5);
        assert!(page_size(Some(0), 100, 100).is_err());
        assert!(page_size(Some(101), 100, 100).is_err());
    }
}
