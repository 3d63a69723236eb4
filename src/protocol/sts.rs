//! AWS STS's GetCallerIdentity, answered at berth's endpoint in STS's query protocol (a form
//! body, an XML answer), so that tools that ask who they are work with nothing changed but
//! the endpoint: the Terraform AWS provider asks it for the account id unless told not to.
//! Every caller is the account's root. Other STS actions answer STS's `InvalidAction` error.

use bytes::Bytes;
use hyper::StatusCode;

use super::HttpResponse;

/// The `Content-Type` of a query-protocol request.
pub const FORM: &str = "application/x-www-form-urlencoded";

const NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Answers one STS query-protocol request (its form body) as `account`.
#[must_use]
pub fn call(body: &[u8], account: &str, request_id: &str) -> HttpResponse {
    let action = form_urlencoded::parse(body).find(|(k, _)| k == "Action").map(|(_, v)| v.into_owned());
    match action.as_deref() {
        Some("GetCallerIdentity") => xml(
            StatusCode::OK,
            format!(
                "<GetCallerIdentityResponse xmlns=\"{NS}\">\n  <GetCallerIdentityResult>\n    \
                 <Arn>arn:aws:iam::{account}:root</Arn>\n    <UserId>{account}</UserId>\n    \
                 <Account>{account}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    \
                 <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n"
            ),
        ),
        other => {
            let action = escape(other.unwrap_or("(none)"));
            xml(
                StatusCode::BAD_REQUEST,
                format!(
                    "<ErrorResponse xmlns=\"{NS}\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>InvalidAction</Code>\n    \
                     <Message>berth answers the STS action GetCallerIdentity only, not {action}.</Message>\n  </Error>\n  \
                     <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n"
                ),
            )
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn xml(status: StatusCode, body: String) -> HttpResponse {
    let mut response = HttpResponse::new(http_body_util::Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/xml"));
    response
}
