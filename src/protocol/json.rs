//! awsJson 1.0 and 1.1: `POST /`, `X-Amz-Target: <TargetPrefix>.<Operation>`, a JSON body in and
//! out, errors as `{"__type": code, "message": ...}` with `x-amzn-ErrorType`. The target prefix
//! picks the service (ECS's `AmazonEC2ContainerServiceV20141113`, Logs' `Logs_20140328`, ...);
//! the service's model says which JSON version it answers in.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::{Request, StatusCode};
use serde_json::{Value, json};

use super::model::Model;
use super::{
    Endpoint, HttpResponse, Output, Service, error_headers, error_info, header, invoke, log_error, read_body,
    respond_bytes,
};
use crate::error::ApiError;

const JSON_11: &str = "application/x-amz-json-1.1";
const JSON_10: &str = "application/x-amz-json-1.0";

/// The content type a service's JSON answers carry.
fn content_type(model: Option<&Model>) -> &'static str {
    match model.and_then(|m| m.metadata().json_version.as_deref()) {
        Some("1.0") => JSON_10,
        _ => JSON_11,
    }
}

/// Serves a JSON-protocol request: `POST /` with an `X-Amz-Target`.
pub(super) async fn serve(endpoint: &Arc<Endpoint>, req: Request<Incoming>, target: &str) -> HttpResponse {
    let (prefix, op_name) = target.rsplit_once('.').unwrap_or((target, ""));
    let Some(service) = endpoint.by_target(prefix) else {
        let why =
            if target.is_empty() { "missing".to_owned() } else { format!("'{target}' is not a target berth serves") };
        let e = aws_error!(
            UnknownOperationException,
            "X-Amz-Target {why}: expected <TargetPrefix>.<Operation>, such as AmazonEC2ContainerServiceV20141113.ListClusters"
        );
        return error_response(None, &e);
    };
    let model = service.model();
    match call(service, req, op_name).await {
        Ok(body) => respond_bytes(StatusCode::OK, content_type(Some(model)), body),
        Err(e) => error_response(Some(model), &e),
    }
}

async fn call(service: &Arc<dyn Service>, req: Request<Incoming>, op_name: &str) -> Result<String, ApiError> {
    let model = service.model();
    let Some(operation) = model.operation(op_name) else {
        return Err(aws_error!(
            UnknownOperationException,
            "{} has no operation '{op_name}'",
            model.metadata().service_id
        ));
    };
    if let Some(ct) = header(&req, CONTENT_TYPE.as_str())
        && !(ct.starts_with(JSON_11) || ct.starts_with(JSON_10) || ct.starts_with("application/json"))
    {
        let expected = content_type(Some(model));
        return Err(aws_error!(SerializationException, "Content-Type '{ct}' is not supported: use {expected}"));
    }
    let region = header(&req, "authorization").and_then(super::sigv4::region).map(str::to_owned);
    let body = read_body(req).await?;
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| aws_error!(SerializationException, "The request body is not valid JSON: {e}"))?
    };
    Ok(match invoke(service, operation, region, input).await? {
        Output::Text(text) => text,
        output => output.into_value()?.to_string(),
    })
}

/// The JSON protocol's answer for `e`, as `model`'s service renders it.
pub(super) fn error_response(model: Option<&Model>, e: &ApiError) -> HttpResponse {
    let info = error_info(model, e);
    log_error(e, info.status);
    let mut body = json!({"__type": e.code.as_str(), "message": e.message});
    if let Value::Object(fields) = &mut body {
        fields.extend(e.members.clone());
    }
    let status = StatusCode::from_u16(info.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = respond_bytes(status, content_type(model), body.to_string());
    error_headers(&mut response, model, e, &info);
    response
}
