//! Placement constraints and strategies as requests give them, checked as AWS checks them and
//! turned into [`crate::placement`]'s types.

use serde_json::Value;

use crate::error::Result;
use crate::placement::{Constraint, Resource, Strategy, query};
use crate::store::Doc;

/// At most this many constraints, the task definition's and the request's together.
const MAX_CONSTRAINTS: usize = 10;
/// At most this many strategies.
const MAX_STRATEGIES: usize = 5;

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

/// Fargate places tasks itself: a FARGATE task or service that names placement constraints or
/// strategies is refused, constraints first, with AWS's messages.
///
/// # Errors
/// InvalidParameterException when either list is non-empty.
pub fn refuse_on_fargate(constraints: Option<&[Value]>, strategies: Option<&[Value]>) -> Result<()> {
    if constraints.is_some_and(|c| !c.is_empty()) {
        return Err(aws_error!(
            InvalidParameterException,
            "Placement constraints are not supported with FARGATE launch type."
        ));
    }
    if strategies.is_some_and(|s| !s.is_empty()) {
        return Err(aws_error!(
            InvalidParameterException,
            "Placement strategies are not supported with FARGATE launch type."
        ));
    }
    Ok(())
}

/// The task definition's constraints (memberOf) and the request's.
///
/// # Errors
/// InvalidParameterException for a constraint AWS refuses or an expression that does not parse.
pub fn constraints(td: &Doc, requested: Option<&[Value]>) -> Result<Vec<Constraint>> {
    let from_td = td.get("placementConstraints").and_then(Value::as_array).cloned().unwrap_or_default();
    let all: Vec<Value> = from_td.into_iter().chain(requested.unwrap_or_default().iter().cloned()).collect();
    if all.len() > MAX_CONSTRAINTS {
        return Err(aws_error!(
            InvalidParameterException,
            "At most {MAX_CONSTRAINTS} placement constraints are allowed per task, counting the task definition's."
        ));
    }
    all.iter()
        .map(|c| {
            let expression = field(c, "expression");
            match field(c, "type") {
                Some("distinctInstance") if expression.is_some() => {
                    Err(aws_error!(InvalidParameterException, "distinctInstance expression should not be specified."))
                }
                Some("distinctInstance") => Ok(Constraint::DistinctInstance),
                Some("memberOf") => {
                    let Some(expression) = expression else {
                        return Err(aws_error!(
                            InvalidParameterException,
                            "memberOf constraint requires an expression."
                        ));
                    };
                    query::parse(expression).map(Constraint::MemberOf).map_err(|e| {
                        aws_error!(InvalidParameterException, "Invalid memberOf expression '{expression}': {e}")
                    })
                }
                other => Err(aws_error!(
                    InvalidParameterException,
                    "Unknown placement constraint type {}.",
                    other.unwrap_or("(none)")
                )),
            }
        })
        .collect()
}

/// The request's strategies; random when it gives none, as RunTask's default.
///
/// # Errors
/// InvalidParameterException for a strategy AWS refuses.
pub fn strategies(requested: Option<&[Value]>) -> Result<Vec<Strategy>> {
    let requested = requested.unwrap_or_default();
    if requested.len() > MAX_STRATEGIES {
        return Err(aws_error!(
            InvalidParameterException,
            "At most {MAX_STRATEGIES} placement strategies are allowed."
        ));
    }
    if requested.is_empty() {
        return Ok(vec![Strategy::Random]);
    }
    requested
        .iter()
        .map(|s| match (field(s, "type"), field(s, "field")) {
            (Some("random"), _) => Ok(Strategy::Random),
            (Some("binpack"), Some(f)) if f.eq_ignore_ascii_case("cpu") => Ok(Strategy::Binpack(Resource::Cpu)),
            (Some("binpack"), Some(f)) if f.eq_ignore_ascii_case("memory") => Ok(Strategy::Binpack(Resource::Memory)),
            (Some("binpack"), f) => Err(aws_error!(
                InvalidParameterException,
                "binpack field must be cpu or memory, got {}.",
                f.unwrap_or("(none)")
            )),
            (Some("spread"), Some(f)) if matches!(f, "instanceId" | "host") || f.starts_with("attribute:") => {
                Ok(Strategy::Spread(f.to_owned()))
            }
            (Some("spread"), f) => Err(aws_error!(
                InvalidParameterException,
                "spread field must be instanceId, host or attribute:NAME, got {}.",
                f.unwrap_or("(none)")
            )),
            (other, _) => Err(aws_error!(
                InvalidParameterException,
                "Unknown placement strategy type {}.",
                other.unwrap_or("(none)")
            )),
        })
        .collect()
}
