//! An AWS service's API model (`api-models/<service>.json`, produced from botocore by
//! `scripts/gen-model.py`), embedded in the binary by the service that owns it and used to
//! route, decode and check requests and to encode responses and errors.
//!
//! Every request, whatever its wire format, becomes a JSON value that is checked against its
//! operation's input shape before a handler sees it: types, unknown members, required members,
//! enum values, lengths, ranges and patterns. Type and shape mismatches are
//! `SerializationException`; a missing member and a violated constraint get the service's own
//! codes ([`Validation`]: ECS's `InvalidParameterException`, STS's `ValidationError`, ...).
//! Debug builds check every response against the output shape too, so a misspelt or mistyped
//! field in a handler fails the tests instead of confusing an SDK.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{ApiError, Code};

/// The parsed model: metadata, shapes and operations.
#[derive(Debug)]
pub struct Model {
    metadata: Metadata,
    shapes: HashMap<String, Shape>,
    operations: BTreeMap<String, Operation>,
    /// Compiled `pattern` constraints by shape name (anchored: the whole value must match).
    patterns: HashMap<String, Regex>,
    validation: Validation,
}

/// The codes a service answers for a request its model refuses.
#[derive(Debug, Clone, Copy)]
pub struct Validation {
    /// A required member is missing.
    pub missing: Code,
    /// A value breaks a constraint (enum, length, range, pattern).
    pub invalid: Code,
}

impl Validation {
    /// One code for both faults, as ECS and CloudWatch Logs answer `InvalidParameterException`
    /// and the query services `ValidationError`.
    #[must_use]
    pub const fn one(code: Code) -> Self {
        Self { missing: code, invalid: code }
    }
}

/// The model's `metadata`: how the service is reached on the wire.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// The service's name in the SDKs, e.g. `ECS`, `CloudWatch Logs`.
    pub service_id: String,
    /// The API version, e.g. `2011-06-15` (the query protocol's `Version=`).
    pub api_version: String,
    /// The wire protocols the service speaks, in the SDKs' order of preference.
    #[serde(default)]
    pub protocols: Vec<String>,
    /// The protocol of older SDKs that know one only.
    pub protocol: String,
    /// The `X-Amz-Target` prefix (JSON) and the service name of the RPCv2 CBOR path.
    pub target_prefix: Option<String>,
    /// `1.0` or `1.1`, for the JSON protocol.
    pub json_version: Option<String>,
    /// The SigV4 signing name, when it differs from the endpoint prefix.
    pub signing_name: Option<String>,
    /// The endpoint prefix, and the SigV4 signing name unless `signing_name` is given.
    pub endpoint_prefix: String,
    /// The XML namespace of query-protocol answers.
    pub xml_namespace: Option<String>,
    /// Present when the service moved off the query protocol and its JSON and CBOR errors
    /// carry the query error code in `x-amzn-query-error`.
    pub aws_query_compatible: Option<Value>,
}

impl Metadata {
    /// The service name of a SigV4 credential scope that signs for this service.
    #[must_use]
    pub fn signing_name(&self) -> &str {
        self.signing_name.as_deref().unwrap_or(&self.endpoint_prefix)
    }

    /// Whether the service speaks `protocol` (`json`, `query`, `smithy-rpc-v2-cbor`).
    #[must_use]
    pub fn speaks(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|p| p == protocol) || self.protocol == protocol
    }
}

/// One operation of the model.
#[derive(Debug, Deserialize)]
pub struct Operation {
    /// The operation name, e.g. `CreateCluster`.
    pub name: String,
    /// The input structure, if any.
    pub input: Option<ShapeRef>,
    /// The output structure, if any.
    pub output: Option<ShapeRef>,
}

/// A reference to a shape by name, with how the query protocol names it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShapeRef {
    /// The shape's name.
    pub shape: String,
    /// The member's name on the query wire and in XML, when it differs from the member's.
    pub location_name: Option<String>,
    /// The query protocol's element that wraps an operation's output.
    pub result_wrapper: Option<String>,
    /// A flattened list or map member: its items are not wrapped in `member` elements.
    #[serde(default)]
    pub flattened: bool,
}

/// What an exception shape says of its error on the wire.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ErrorTrait {
    /// The query protocol's code, when it differs from the shape's name.
    pub code: Option<String>,
    /// The HTTP status.
    pub http_status_code: Option<u16>,
    /// Whether the caller is at fault (`Sender`) rather than the service (`Receiver`).
    #[serde(default)]
    pub sender_fault: bool,
}

/// How one error renders: the status, the query code, and whose fault it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    /// The HTTP status.
    pub status: u16,
    /// The code in the query protocol and in `x-amzn-query-error`.
    pub query_code: String,
    /// `Sender` (the client's fault) or `Receiver` (the service's).
    pub fault: &'static str,
}

/// The type of a shape.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Kind {
    Structure,
    String,
    List,
    Map,
    Boolean,
    Integer,
    Long,
    Double,
    Float,
    Timestamp,
    Blob,
}

/// One shape of the model.
#[derive(Debug, Deserialize)]
pub struct Shape {
    /// Its type.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// A structure's members by name.
    #[serde(default)]
    pub members: BTreeMap<String, ShapeRef>,
    #[serde(default)]
    required: Vec<String>,
    /// A list's element.
    pub member: Option<ShapeRef>,
    /// A map's key.
    pub key: Option<ShapeRef>,
    /// A map's value.
    pub value: Option<ShapeRef>,
    #[serde(rename = "enum")]
    enum_values: Option<Vec<String>>,
    min: Option<f64>,
    max: Option<f64>,
    pattern: Option<String>,
    #[serde(default)]
    document: bool,
    /// Values of the shape (and of everything inside it) never appear in messages.
    #[serde(default)]
    sensitive: bool,
    #[serde(default)]
    exception: bool,
    #[serde(default)]
    fault: bool,
    /// A list or map shape that the query protocol flattens.
    #[serde(default)]
    pub flattened: bool,
    /// A timestamp's wire format, when the model fixes one.
    #[serde(rename = "timestampFormat")]
    pub timestamp_format: Option<String>,
    error: Option<ErrorTrait>,
}

#[derive(Debug, Deserialize)]
struct RawModel {
    metadata: Metadata,
    shapes: HashMap<String, Shape>,
    operations: BTreeMap<String, Operation>,
}

/// Where in the request a value sits, for messages such as
/// `containerDefinitions[0].portMappings[1].containerPort`.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
    Key(&'a Path<'a>, &'a str),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Field(Path::Root, name) => write!(f, "{name}"),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
            Path::Key(parent, k) => write!(f, "{parent}[\"{k}\"]"),
        }
    }
}

fn serialization(message: String) -> ApiError {
    ApiError::new(Code::SerializationException, message)
}

/// A constraint violation in AWS's words: `Value 'x' at 'path' failed to satisfy constraint:
/// ...`, with `Value null` for a missing member and no value at all for a sensitive one.
fn invalid(code: Code, path: &Path<'_>, value: Shown<'_>, constraint: impl fmt::Display) -> ApiError {
    let value = match value {
        Shown::Null => " null".to_owned(),
        Shown::Hidden => String::new(),
        Shown::Value(v) => format!(" '{}'", ValueText(v)),
    };
    ApiError::new(
        code,
        format!("1 validation error detected: Value{value} at '{path}' failed to satisfy constraint: {constraint}"),
    )
}

/// How a violation's message shows the value.
#[derive(Clone, Copy)]
enum Shown<'a> {
    /// The member is missing.
    Null,
    /// The value is sensitive.
    Hidden,
    Value(&'a Value),
}

impl<'a> Shown<'a> {
    fn of(value: &'a Value, secret: bool) -> Self {
        if secret { Shown::Hidden } else { Shown::Value(value) }
    }
}

/// A value as AWS's messages print it: strings bare, lists as `[a, b]`.
struct ValueText<'a>(&'a Value);

impl fmt::Display for ValueText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::String(s) => f.write_str(s),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", ValueText(item))?;
                }
                f.write_str("]")
            }
            other => write!(f, "{other}"),
        }
    }
}

/// `embedded_model!("ecs", Validation::one(Code::InvalidParameterException))`: the
/// `&'static Model` of `api-models/ecs.json`, parsed on first use.
#[macro_export]
macro_rules! embedded_model {
    ($name:literal, $validation:expr) => {{
        static MODEL: std::sync::LazyLock<$crate::protocol::model::Model> = std::sync::LazyLock::new(|| {
            let json = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/api-models/", $name, ".json"));
            #[allow(clippy::expect_used)]
            $crate::protocol::model::Model::parse(json, $validation).expect(concat!(
                "api-models/",
                $name,
                ".json is a valid model"
            ))
        });
        &*MODEL
    }};
}

impl Model {
    /// Parses a model file as `scripts/gen-model.py` writes it.
    ///
    /// # Errors
    /// If the file is not such a model.
    pub fn parse(json: &str, validation: Validation) -> Result<Model, serde_json::Error> {
        let raw: RawModel = serde_json::from_str(json)?;
        let patterns = raw
            .shapes
            .iter()
            .filter_map(|(name, shape)| {
                let pattern = shape.pattern.as_ref()?;
                // Java's regexes, which AWS's models are written in, take a `-` after a class
                // such as `\w` as a literal; Rust's need it escaped.
                let pattern = pattern.replace(r"\w-", r"\w\-").replace(r"\d-", r"\d\-");
                match Regex::new(&format!("^(?:{pattern})$")) {
                    Ok(re) => Some((name.clone(), re)),
                    Err(e) => {
                        tracing::warn!(shape = %name, error = %e, "model pattern not checked");
                        None
                    }
                }
            })
            .collect();
        Ok(Model { metadata: raw.metadata, shapes: raw.shapes, operations: raw.operations, patterns, validation })
    }

    /// The codes the service answers for a request the model refuses.
    #[must_use]
    pub fn validation(&self) -> Validation {
        self.validation
    }

    /// The service's metadata.
    #[must_use]
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The shape called `name`.
    #[must_use]
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// How `code` renders for this service: the exception shape's status and query code when
    /// the model has one, else 500 for a fault of the service and 400 for the client's.
    #[must_use]
    pub fn error_info(&self, code: Code) -> ErrorInfo {
        let name = code.as_str();
        let shape = self.shapes.get(name).filter(|s| s.exception);
        let error = shape.and_then(|s| s.error.as_ref());
        let server = shape.map_or(code.status() >= 500, |s| s.fault);
        let status = error.and_then(|e| e.http_status_code).unwrap_or(if server { 500 } else { 400 });
        ErrorInfo {
            status,
            query_code: error.and_then(|e| e.code.clone()).unwrap_or_else(|| name.to_owned()),
            fault: if status >= 500 { "Receiver" } else { "Sender" },
        }
    }

    /// The operation called `name`, if the model has it.
    #[must_use]
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }

    /// Every operation name, sorted.
    pub fn operation_names(&self) -> impl Iterator<Item = &str> {
        self.operations.keys().map(String::as_str)
    }

    /// The names of every exception shape.
    pub fn exception_names(&self) -> impl Iterator<Item = &str> {
        self.shapes.iter().filter(|(_, s)| s.exception).map(|(n, _)| n.as_str())
    }

    /// The members of a structure shape, in name order (empty for other shapes).
    pub fn members(&self, shape: &str) -> impl Iterator<Item = &str> {
        self.shapes.get(shape).into_iter().flat_map(|s| s.members.keys().map(String::as_str))
    }

    /// The member shape name of a structure's member.
    #[must_use]
    pub fn member_shape(&self, shape: &str, member: &str) -> Option<&str> {
        Some(self.shapes.get(shape)?.members.get(member)?.shape.as_str())
    }

    /// The element shape name of a list shape.
    #[must_use]
    pub fn list_member(&self, shape: &str) -> Option<&str> {
        Some(self.shapes.get(shape)?.member.as_ref()?.shape.as_str())
    }

    /// Checks a request body against the input shape of `operation`.
    ///
    /// # Errors
    /// `SerializationException` for a value of the wrong JSON type or an unknown member,
    /// `InvalidParameterException` for a missing required member or a violated constraint.
    pub fn check_input(&self, operation: &Operation, body: &Value) -> Result<(), ApiError> {
        match &operation.input {
            Some(input) => self.check(&input.shape, body, &Path::Root, true, false),
            None => Ok(()),
        }
    }

    /// Checks a response body against the output shape of `operation` (types and member
    /// names only: outputs carry no constraints a client enforces).
    ///
    /// # Errors
    /// The first mismatch, as a `SerializationException` describing it.
    pub fn check_output(&self, operation: &Operation, body: &Value) -> Result<(), ApiError> {
        match &operation.output {
            Some(output) => self.check(&output.shape, body, &Path::Root, false, false),
            None => Ok(()),
        }
    }

    fn check(
        &self,
        shape_name: &str,
        value: &Value,
        path: &Path<'_>,
        constraints: bool,
        secret: bool,
    ) -> Result<(), ApiError> {
        let Some(shape) = self.shapes.get(shape_name) else {
            return Err(ApiError::new(Code::ServerException, format!("model has no shape {shape_name}")));
        };
        let secret = secret || shape.sensitive;
        if value.is_null() {
            // The JSON protocol treats null as absent.
            return Ok(());
        }
        let wrong_type = |expected: &str| {
            let what = match value {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                Value::String(_) => "a string",
                Value::Array(_) => "a list",
                Value::Object(_) => "an object",
            };
            let at = if matches!(path, Path::Root) { "the request body".to_owned() } else { format!("'{path}'") };
            Err(serialization(format!("Expected {expected} at {at} ({shape_name}), found {what}")))
        };
        match shape.kind {
            Kind::Structure => {
                let Value::Object(map) = value else { return wrong_type("an object") };
                if shape.document {
                    return Ok(());
                }
                // A missing required member is reported before what is wrong inside the others.
                if constraints {
                    for name in &shape.required {
                        if map.get(name).is_none_or(Value::is_null) {
                            return Err(invalid(
                                self.validation.missing,
                                &Path::Field(path, name),
                                Shown::Null,
                                "Member must not be null",
                            ));
                        }
                    }
                }
                for (name, member_value) in map {
                    let Some(member) = shape.members.get(name) else {
                        let at = if matches!(path, Path::Root) { String::new() } else { format!(" at '{path}'") };
                        return Err(serialization(format!("Unknown field '{name}'{at} ({shape_name})")));
                    };
                    self.check(&member.shape, member_value, &Path::Field(path, name), constraints, secret)?;
                }
            }
            Kind::List => {
                let Value::Array(items) = value else { return wrong_type("a list") };
                if constraints {
                    self.check_range(
                        shape,
                        items.len() as f64,
                        path,
                        Shown::of(value, secret),
                        "Member must have length",
                    )?;
                }
                if let Some(member) = &shape.member {
                    for (i, item) in items.iter().enumerate() {
                        self.check(&member.shape, item, &Path::Index(path, i), constraints, secret)?;
                    }
                }
            }
            Kind::Map => {
                let Value::Object(map) = value else { return wrong_type("an object") };
                for (k, v) in map {
                    if let Some(key) = &shape.key {
                        self.check(&key.shape, &Value::String(k.clone()), &Path::Key(path, k), constraints, secret)?;
                    }
                    if let Some(val) = &shape.value {
                        self.check(&val.shape, v, &Path::Key(path, k), constraints, secret)?;
                    }
                }
            }
            Kind::String | Kind::Blob => {
                let Value::String(s) = value else { return wrong_type("a string") };
                if constraints {
                    self.check_string(shape_name, shape, value, s, path, secret)?;
                }
            }
            Kind::Boolean => {
                if !value.is_boolean() {
                    return wrong_type("a boolean");
                }
            }
            Kind::Integer | Kind::Long => {
                let Some(n) = value.as_i64() else { return wrong_type("an integer") };
                if shape.kind == Kind::Integer && i32::try_from(n).is_err() {
                    return Err(serialization(format!("Value {n} at '{path}' does not fit a 32-bit integer")));
                }
                if constraints {
                    #[allow(clippy::cast_precision_loss)]
                    self.check_range(shape, n as f64, path, Shown::of(value, secret), "Member must have value")?;
                }
            }
            Kind::Double | Kind::Float => {
                let Some(n) = value.as_f64() else { return wrong_type("a number") };
                if constraints {
                    self.check_range(shape, n, path, Shown::of(value, secret), "Member must have value")?;
                }
            }
            Kind::Timestamp => {
                if !value.is_number() {
                    return wrong_type("a timestamp in epoch seconds");
                }
            }
        }
        Ok(())
    }

    fn check_string(
        &self,
        shape_name: &str,
        shape: &Shape,
        value: &Value,
        s: &str,
        path: &Path<'_>,
        secret: bool,
    ) -> Result<(), ApiError> {
        let shown = Shown::of(value, secret);
        if let Some(values) = &shape.enum_values
            && !values.iter().any(|v| v == s)
        {
            return Err(invalid(
                self.validation.invalid,
                path,
                shown,
                format_args!("Member must satisfy enum value set: [{}]", values.join(", ")),
            ));
        }
        #[allow(clippy::cast_precision_loss)]
        self.check_range(shape, s.chars().count() as f64, path, shown, "Member must have length")?;
        if let Some(re) = self.patterns.get(shape_name)
            && !re.is_match(s)
        {
            let pattern = shape.pattern.as_deref().unwrap_or_default();
            return Err(invalid(
                self.validation.invalid,
                path,
                shown,
                format_args!("Member must satisfy regular expression pattern: {pattern}"),
            ));
        }
        Ok(())
    }

    fn check_range(
        &self,
        shape: &Shape,
        n: f64,
        path: &Path<'_>,
        shown: Shown<'_>,
        what: &str,
    ) -> Result<(), ApiError> {
        if let Some(min) = shape.min
            && n < min
        {
            let constraint = format_args!("{what} greater than or equal to {min}");
            return Err(invalid(self.validation.invalid, path, shown, constraint));
        }
        if let Some(max) = shape.max
            && n > max
        {
            let constraint = format_args!("{what} less than or equal to {max}");
            return Err(invalid(self.validation.invalid, path, shown, constraint));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(op: &str, body: Value) -> Result<(), ApiError> {
        let model = crate::services::ecs::model();
        model.check_input(model.operation(op).unwrap(), &body)
    }

    #[test]
    fn model_has_every_ecs_operation() {
        assert_eq!(crate::services::ecs::model().operation_names().count(), 77);
    }

    #[test]
    fn accepts_a_well_formed_request() {
        check(
            "RegisterTaskDefinition",
            json!({"family": "web", "containerDefinitions": [{"name": "a", "image": "busybox",
                   "portMappings": [{"containerPort": 80}], "environment": [{"name": "X", "value": "1"}]}]}),
        )
        .unwrap();
    }

    #[test]
    fn wrong_types_and_unknown_fields_are_serialization_errors() {
        for body in [
            json!({"clusterName": 5}),
            json!({"clusterName": "a", "bogus": 1}),
            json!({"tags": {"key": "k"}}),
            json!([1, 2]),
        ] {
            let e = check("CreateCluster", body.clone()).unwrap_err();
            assert_eq!(e.code, Code::SerializationException, "{body}: {e}");
        }
        let e = check("RegisterTaskDefinition", json!({"family": "f", "containerDefinitions": [{"cpu": "x"}]}))
            .unwrap_err();
        assert!(e.message.contains("containerDefinitions[0].cpu"), "{e}");
    }

    #[test]
    fn constraints_are_invalid_parameter_errors() {
        let e = check("RegisterTaskDefinition", json!({"family": "f"})).unwrap_err();
        assert_eq!(e.code, Code::InvalidParameterException);
        assert!(e.message.contains("'containerDefinitions'"), "{e}");
        let e = check("ListClusters", json!({"maxResults": 1})).map(|()| "ok");
        assert!(e.is_ok());
        let e = check("RunTask", json!({"taskDefinition": "x", "launchType": "MOON"})).unwrap_err();
        assert_eq!(e.code, Code::InvalidParameterException);
        assert!(e.message.contains("EC2, FARGATE, EXTERNAL"), "{e}");
        let long_key = "k".repeat(129);
        let e =
            check("TagResource", json!({"resourceArn": "a", "tags": [{"key": long_key, "value": "v"}]})).unwrap_err();
        assert!(e.message.contains("tags[0].key"), "{e}");
    }

    /// AWS's wording: the value, `null` for a missing member, nothing for a sensitive one.
    #[test]
    fn violations_name_the_value_as_aws_does() {
        let message = |op: &str, body: Value| check(op, body).unwrap_err().message;
        assert_eq!(
            message("RunTask", json!({"taskDefinition": "x", "launchType": "MOON"})),
            "1 validation error detected: Value 'MOON' at 'launchType' failed to satisfy constraint: Member must satisfy enum value set: [EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES]"
        );
        assert_eq!(
            message("DescribeClusters", json!({"include": ["NOPE"]})),
            "1 validation error detected: Value 'NOPE' at 'include[0]' failed to satisfy constraint: Member must satisfy enum value set: [ATTACHMENTS, CONFIGURATIONS, SETTINGS, STATISTICS, TAGS]"
        );
        assert_eq!(
            message("CreateService", json!({})),
            "1 validation error detected: Value null at 'serviceName' failed to satisfy constraint: Member must not be null"
        );
        // A missing required member comes before a bad value in another.
        let e = message("CreateService", json!({"launchType": "MOON"}));
        assert!(e.contains("Value null at 'serviceName'"), "{e}");
    }

    #[test]
    fn sensitive_values_stay_out_of_messages() {
        let model = crate::services::ecs::model();
        let sensitive: Vec<&str> =
            model.shapes.iter().filter(|(_, shape)| shape.sensitive).map(|(name, _)| name.as_str()).collect();
        assert!(sensitive.contains(&"SensitiveString"), "{sensitive:?}");
        // A value inside a sensitive shape is never printed, whatever constraint it breaks.
        let hidden = invalid(Code::InvalidParameterException, &Path::Root, Shown::of(&json!("s3cr3t"), true), "x");
        assert!(!hidden.message.contains("s3cr3t"), "{hidden}");
        assert!(hidden.message.starts_with("1 validation error detected: Value at"), "{hidden}");
    }
}
