//! What berth reads of a request's SigV4 signature: the credential scope's region (where the
//! request's resources live) and service name (which query-protocol service it is for). The
//! signature itself is not verified: berth accepts any credentials, as a local endpoint should.

/// The credential scope of an `Authorization` header:
/// `AWS4-HMAC-SHA256 Credential=AKID/20250101/eu-west-1/ecs/aws4_request, ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a> {
    /// The region, e.g. `eu-west-1`.
    pub region: &'a str,
    /// The signing name of the service, e.g. `ecs`, `sts`, `monitoring`.
    pub service: &'a str,
}

/// The credential scope of an `Authorization` header, if it has a well-formed one.
#[must_use]
pub fn scope(authorization: &str) -> Option<Scope<'_>> {
    let credential = authorization.split([' ', ',']).find_map(|part| part.trim().strip_prefix("Credential="))?;
    let mut parts = credential.split('/');
    let _key = parts.next()?;
    let _date = parts.next()?;
    let region = parts.next()?;
    let service = parts.next().unwrap_or_default();
    let name = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    name(region).then_some(Scope { region, service: if name(service) { service } else { "" } })
}

/// The region of an `Authorization` header's credential scope.
#[must_use]
pub fn region(authorization: &str) -> Option<&str> {
    scope(authorization).map(|s| s.region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_and_service_come_from_the_credential_scope() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/eu-west-1/ecs/aws4_request, \
                    SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(scope(auth), Some(Scope { region: "eu-west-1", service: "ecs" }));
        assert_eq!(region("Bearer x"), None);
        assert_eq!(region("AWS4-HMAC-SHA256 Credential=A/2025/"), None);
        assert_eq!(region("AWS4-HMAC-SHA256 Credential=A/2025/EU WEST/ecs"), None);
        let sts = "AWS4-HMAC-SHA256 Credential=A/20250101/us-east-1/sts/aws4_request";
        assert_eq!(scope(sts).map(|s| s.service), Some("sts"));
        assert_eq!(scope("AWS4-HMAC-SHA256 Credential=A/20250101/us-east-1").map(|s| s.service), Some(""));
    }
}
