//! The AWS JSON 1.1 front end: HTTP in, an operation name and a JSON body out to
//! [`crate::api`], and the answer (or error) back in AWS's wire format.
//!
//! It knows HTTP and the protocol's rules (POST `/`, `X-Amz-Target`, content type, body limit,
//! request ids, SigV4 credential scope for the region, `{"__type", "message"}` errors), and
//! nothing of ECS's rules. Two berth endpoints sit beside it: `GET /_berth/health` and
//! `POST /_berth/reset`; and STS's GetCallerIdentity ([`sts`]) answers a form-encoded POST `/`.

pub mod model;
pub mod sts;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use tracing::Instrument;

use crate::api::{Api, Output, strip_nulls};
use crate::error::{Code, EcsError};

/// The `X-Amz-Target` prefix of every ECS operation.
pub const TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113.";

/// The largest request body berth reads. ECS's own limits are far below this (a task
/// definition's container definitions may be 64 KiB), so anything bigger is a client mistake.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

const JSON_11: &str = "application/x-amz-json-1.1";

/// The response type of every endpoint.
pub type HttpResponse = Response<Full<Bytes>>;

/// Serves one HTTP request. Never fails: every error becomes an AWS-shaped response.
pub async fn serve(api: Arc<Api>, req: Request<Incoming>) -> Result<HttpResponse, Infallible> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let target = header(&req, "x-amz-target").unwrap_or_default().to_owned();
    let span = tracing::info_span!("request", id = %request_id, method = %req.method(), path = %req.uri().path(), target = %target);
    let query = target.is_empty()
        && req.method() == Method::POST
        && header(&req, CONTENT_TYPE.as_str()).is_some_and(|ct| ct.starts_with(sts::FORM));
    let mut response = if query {
        // STS's query protocol, for GetCallerIdentity.
        match read_body(req).instrument(span.clone()).await {
            Ok(body) => sts::call(&body, api.account(), &request_id),
            Err(e) => error_response(&e),
        }
    } else {
        route(&api, req, &target).instrument(span).await
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
    Ok(response)
}

async fn route(api: &Arc<Api>, req: Request<Incoming>, target: &str) -> HttpResponse {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/_berth/health") => {
            let body = json!({
                "status": "ready",
                "version": env!("CARGO_PKG_VERSION"),
                "dockerNetwork": api.tasks().network(),
            });
            respond(StatusCode::OK, "application/json", &body)
        }
        // Spawned like an ECS operation: a client hanging up must not cut it off half-way.
        (&Method::POST, "/_berth/reset") => match tokio::spawn({
            let api = api.clone();
            async move { api.reset().await }
        })
        .await
        .map_err(EcsError::internal)
        .and_then(|reset| reset)
        {
            Ok(()) => respond(StatusCode::OK, "application/json", &json!({"reset": true})),
            Err(e) => error_response(&e),
        },
        (&Method::POST, "/") => {
            let started = std::time::Instant::now();
            let response = match ecs_call(api, req, target).await {
                Ok(body) => respond_text(StatusCode::OK, JSON_11, body),
                Err(e) => error_response(&e),
            };
            tracing::debug!(status = response.status().as_u16(), elapsed_us = started.elapsed().as_micros(), "done");
            response
        }
        (_, "/") => error_response(&EcsError::new(
            Code::UnknownOperationException,
            "The AWS JSON 1.1 protocol takes POST / only",
        )),
        _ => {
            let body = json!({"__type": "NotFound", "message": "berth serves ECS at POST / and its own endpoints under /_berth/"});
            respond(StatusCode::NOT_FOUND, "application/json", &body)
        }
    }
}

/// Runs an ECS operation and answers its output as JSON text.
async fn ecs_call(api: &Arc<Api>, req: Request<Incoming>, target: &str) -> Result<String, EcsError> {
    let Some(op_name) = target.strip_prefix(TARGET_PREFIX) else {
        let why = if target.is_empty() { "missing".to_owned() } else { format!("'{target}' is not an ECS target") };
        return Err(ecs_error!(UnknownOperationException, "X-Amz-Target {why}: expected {TARGET_PREFIX}<Operation>"));
    };
    let model = model::Model::get();
    let Some(operation) = model.operation(op_name) else {
        return Err(ecs_error!(UnknownOperationException, "ECS has no operation '{op_name}'"));
    };
    if let Some(ct) = header(&req, CONTENT_TYPE.as_str())
        && !(ct.starts_with(JSON_11)
            || ct.starts_with("application/x-amz-json-1.0")
            || ct.starts_with("application/json"))
    {
        return Err(ecs_error!(SerializationException, "Content-Type '{ct}' is not supported: use {JSON_11}"));
    }
    let region = header(&req, "authorization").and_then(credential_scope_region).map(str::to_owned);
    let body = read_body(req).await?;
    let mut input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ecs_error!(SerializationException, "The request body is not valid JSON: {e}"))?
    };
    model.check_input(operation, &input)?;
    // The protocol treats a null member as an absent one: handlers never see them, and
    // responses never carry them (`"nextToken": null` is not something AWS sends).
    strip_nulls(&mut input);
    // The operation runs as a task of its own, so a client that hangs up cannot cancel it
    // half-way: what berth begins it finishes, and its connections to the store are never left
    // in the middle of a transaction.
    let call = tokio::spawn({
        let (api, op_name) = (api.clone(), op_name.to_owned());
        async move { api.call(&op_name, region, input).await }.in_current_span()
    });
    let output = call.await.map_err(EcsError::internal)??;
    if cfg!(debug_assertions) {
        check_answer(model, operation, &output)?;
    }
    Ok(match output {
        Output::Value(mut value) => {
            strip_nulls(&mut value);
            value.to_string()
        }
        Output::Text(text) => text,
    })
}

/// Debug builds (the tests) check every answer against the model: a handler that answers what
/// the model does not allow, or a text answer with a null member, is a bug of berth.
fn check_answer(model: &model::Model, operation: &model::Operation, output: &Output) -> Result<(), EcsError> {
    let value = match output {
        Output::Value(value) => {
            let mut value = value.clone();
            strip_nulls(&mut value);
            value
        }
        Output::Text(text) => {
            let value: Value = serde_json::from_str(text).map_err(EcsError::internal)?;
            let mut stripped = value.clone();
            strip_nulls(&mut stripped);
            if stripped != value {
                return Err(EcsError::new(Code::ServerException, "a text answer has a null member"));
            }
            value
        }
    };
    model.check_output(operation, &value).map_err(EcsError::internal)
}

async fn read_body(req: Request<Incoming>) -> Result<Bytes, EcsError> {
    if let Some(len) = header(&req, "content-length").and_then(|v| v.parse::<usize>().ok())
        && len > MAX_BODY_BYTES
    {
        return Err(too_large());
    }
    match Limited::new(req.into_body(), MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(ecs_error!(SerializationException, "Could not read the request body: {e}")),
    }
}

fn too_large() -> EcsError {
    ecs_error!(ClientException, "The request body is larger than berth's limit of {MAX_BODY_BYTES} bytes")
}

fn header<'a, B>(req: &'a Request<B>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The region of a SigV4 `Authorization` header's credential scope:
/// `AWS4-HMAC-SHA256 Credential=AKID/20250101/eu-west-1/ecs/aws4_request, ...` gives `eu-west-1`.
/// The signature itself is not verified.
#[must_use]
pub fn credential_scope_region(authorization: &str) -> Option<&str> {
    let credential = authorization.split([' ', ',']).find_map(|part| part.trim().strip_prefix("Credential="))?;
    let mut scope = credential.split('/');
    let _key = scope.next()?;
    let _date = scope.next()?;
    let region = scope.next()?;
    let valid = !region.is_empty() && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then_some(region)
}

fn respond(status: StatusCode, content_type: &'static str, body: &Value) -> HttpResponse {
    respond_text(status, content_type, body.to_string())
}

fn respond_text(status: StatusCode, content_type: &'static str, body: String) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn error_response(e: &EcsError) -> HttpResponse {
    if e.code == Code::ServerException {
        tracing::error!(error = %e, "server error");
    } else {
        tracing::debug!(code = %e.code, message = %e.message, "client error");
    }
    let status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = json!({"__type": e.code.as_str(), "message": e.message});
    if let Value::Object(fields) = &mut body {
        fields.extend(e.members.clone());
    }
    let mut response = respond(status, JSON_11, &body);
    response.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static(e.code.as_str()));
    response
}

#[cfg(test)]
mod tests {
    use super::credential_scope_region;

    #[test]
    fn nulls_are_absent_members() {
        let mut v = serde_json::json!({"a": null, "b": [{"c": null, "d": 1}], "e": {"f": null}});
        super::strip_nulls(&mut v);
        assert_eq!(v, serde_json::json!({"b": [{"d": 1}], "e": {}}));
    }

    #[test]
    fn region_comes_from_the_credential_scope() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/eu-west-1/ecs/aws4_request, \
                    SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(credential_scope_region(auth), Some("eu-west-1"));
        assert_eq!(credential_scope_region("Bearer x"), None);
        assert_eq!(credential_scope_region("AWS4-HMAC-SHA256 Credential=A/2025/"), None);
        assert_eq!(credential_scope_region("AWS4-HMAC-SHA256 Credential=A/2025/EU WEST/ecs"), None);
    }
}
