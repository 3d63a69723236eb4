//! The calls only the ECS container agent makes. DiscoverPollEndpoint answers the endpoints an
//! agent of the region would poll, in AWS's shape; berth serves no agent communication service
//! there (its own virtual instances need no agent), so an external agent that connects to them
//! finds AWS, not berth.

use serde_json::{Value, json};

use super::Ctx;
use crate::error::Result;

/// Any cluster and container instance, or none, get the region's endpoints, as on AWS.
pub(super) async fn discover_poll_endpoint(ctx: &Ctx<'_>, _input: Value) -> Result<Value> {
    let region = ctx.region();
    let endpoint = |kind: &str| format!("https://ecs-{kind}-1.{region}.amazonaws.com/");
    Ok(json!({
        "endpoint": endpoint("a"),
        "telemetryEndpoint": endpoint("t"),
        "serviceConnectEndpoint": endpoint("sc"),
    }))
}
