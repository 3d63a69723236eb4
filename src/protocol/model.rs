//! The ECS API model (`api-models/ecs.json`, produced from botocore by `scripts/gen-model.py`),
//! embedded in the binary and used to check requests and responses.
//!
//! Every request body is checked against its operation's input shape before a handler sees it:
//! JSON types, unknown members, required members, enum values, lengths, ranges and patterns.
//! Type and shape mismatches are `SerializationException`; constraint violations are
//! `InvalidParameterException`. Debug builds check every response against the output shape too,
//! so a misspelt or mistyped field in a handler fails the tests instead of confusing an SDK.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Code, EcsError};

/// The model file, as generated.
const MODEL_JSON: &str = include_str!("../../api-models/ecs.json");

/// The parsed model: shapes and operations.
#[derive(Debug)]
pub struct Model {
    shapes: HashMap<String, Shape>,
    operations: BTreeMap<String, Operation>,
    /// Compiled `pattern` constraints by shape name (anchored: the whole value must match).
    patterns: HashMap<String, Regex>,
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

/// A reference to a shape by name.
#[derive(Debug, Deserialize)]
pub struct ShapeRef {
    /// The shape's name.
    pub shape: String,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Kind {
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

#[derive(Debug, Deserialize)]
struct Shape {
    #[serde(rename = "type")]
    kind: Kind,
    #[serde(default)]
    members: BTreeMap<String, ShapeRef>,
    #[serde(default)]
    required: Vec<String>,
    member: Option<ShapeRef>,
    key: Option<ShapeRef>,
    value: Option<ShapeRef>,
    #[serde(rename = "enum")]
    enum_values: Option<Vec<String>>,
    min: Option<f64>,
    max: Option<f64>,
    pattern: Option<String>,
    #[serde(default)]
    document: bool,
    #[serde(default)]
    exception: bool,
}

#[derive(Debug, Deserialize)]
struct RawModel {
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

fn serialization(message: String) -> EcsError {
    EcsError::new(Code::SerializationException, message)
}

fn invalid(path: &Path<'_>, constraint: impl fmt::Display) -> EcsError {
    EcsError::new(
        Code::InvalidParameterException,
        format!("1 validation error detected: Value at '{path}' failed to satisfy constraint: {constraint}"),
    )
}

impl Model {
    /// The embedded model, parsed once.
    ///
    /// # Panics
    /// Only if the embedded file is not a valid model, which a unit test rules out.
    #[must_use]
    pub fn get() -> &'static Model {
        static MODEL: LazyLock<Model> = LazyLock::new(|| {
            #[allow(clippy::expect_used)]
            let raw: RawModel = serde_json::from_str(MODEL_JSON).expect("api-models/ecs.json is a valid model");
            let patterns = raw
                .shapes
                .iter()
                .filter_map(|(name, shape)| {
                    let pattern = shape.pattern.as_ref()?;
                    match Regex::new(&format!("^(?:{pattern})$")) {
                        Ok(re) => Some((name.clone(), re)),
                        Err(e) => {
                            tracing::warn!(shape = %name, error = %e, "model pattern not checked");
                            None
                        }
                    }
                })
                .collect();
            Model { shapes: raw.shapes, operations: raw.operations, patterns }
        });
        &MODEL
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
    pub fn check_input(&self, operation: &Operation, body: &Value) -> Result<(), EcsError> {
        match &operation.input {
            Some(input) => self.check(&input.shape, body, &Path::Root, true),
            None => Ok(()),
        }
    }

    /// Checks a response body against the output shape of `operation` (types and member
    /// names only: outputs carry no constraints a client enforces).
    ///
    /// # Errors
    /// The first mismatch, as a `SerializationException` describing it.
    pub fn check_output(&self, operation: &Operation, body: &Value) -> Result<(), EcsError> {
        match &operation.output {
            Some(output) => self.check(&output.shape, body, &Path::Root, false),
            None => Ok(()),
        }
    }

    fn check(&self, shape_name: &str, value: &Value, path: &Path<'_>, constraints: bool) -> Result<(), EcsError> {
        let Some(shape) = self.shapes.get(shape_name) else {
            return Err(EcsError::new(Code::ServerException, format!("model has no shape {shape_name}")));
        };
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
                for (name, member_value) in map {
                    let Some(member) = shape.members.get(name) else {
                        let at = if matches!(path, Path::Root) { String::new() } else { format!(" at '{path}'") };
                        return Err(serialization(format!("Unknown field '{name}'{at} ({shape_name})")));
                    };
                    self.check(&member.shape, member_value, &Path::Field(path, name), constraints)?;
                }
                if constraints {
                    for name in &shape.required {
                        if map.get(name).is_none_or(Value::is_null) {
                            return Err(invalid(&Path::Field(path, name), "Member must not be null"));
                        }
                    }
                }
            }
            Kind::List => {
                let Value::Array(items) = value else { return wrong_type("a list") };
                if constraints {
                    self.check_range(shape, items.len() as f64, path, "Member must have length")?;
                }
                if let Some(member) = &shape.member {
                    for (i, item) in items.iter().enumerate() {
                        self.check(&member.shape, item, &Path::Index(path, i), constraints)?;
                    }
                }
            }
            Kind::Map => {
                let Value::Object(map) = value else { return wrong_type("an object") };
                for (k, v) in map {
                    if let Some(key) = &shape.key {
                        self.check(&key.shape, &Value::String(k.clone()), &Path::Key(path, k), constraints)?;
                    }
                    if let Some(val) = &shape.value {
                        self.check(&val.shape, v, &Path::Key(path, k), constraints)?;
                    }
                }
            }
            Kind::String | Kind::Blob => {
                let Value::String(s) = value else { return wrong_type("a string") };
                if constraints {
                    self.check_string(shape_name, shape, s, path)?;
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
                    self.check_range(shape, n as f64, path, "Member must have value")?;
                }
            }
            Kind::Double | Kind::Float => {
                let Some(n) = value.as_f64() else { return wrong_type("a number") };
                if constraints {
                    self.check_range(shape, n, path, "Member must have value")?;
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

    fn check_string(&self, shape_name: &str, shape: &Shape, s: &str, path: &Path<'_>) -> Result<(), EcsError> {
        if let Some(values) = &shape.enum_values
            && !values.iter().any(|v| v == s)
        {
            return Err(invalid(path, format_args!("Member must satisfy enum value set: [{}]", values.join(", "))));
        }
        #[allow(clippy::cast_precision_loss)]
        self.check_range(shape, s.chars().count() as f64, path, "Member must have length")?;
        if let Some(re) = self.patterns.get(shape_name)
            && !re.is_match(s)
        {
            let pattern = shape.pattern.as_deref().unwrap_or_default();
            return Err(invalid(path, format_args!("Member must satisfy regular expression pattern: {pattern}")));
        }
        Ok(())
    }

    #[allow(clippy::unused_self)]
    fn check_range(&self, shape: &Shape, n: f64, path: &Path<'_>, what: &str) -> Result<(), EcsError> {
        if let Some(min) = shape.min
            && n < min
        {
            return Err(invalid(path, format_args!("{what} greater than or equal to {min}")));
        }
        if let Some(max) = shape.max
            && n > max
        {
            return Err(invalid(path, format_args!("{what} less than or equal to {max}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(op: &str, body: Value) -> Result<(), EcsError> {
        let model = Model::get();
        model.check_input(model.operation(op).unwrap(), &body)
    }

    #[test]
    fn model_has_every_ecs_operation() {
        assert_eq!(Model::get().operation_names().count(), 77);
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
}
