//! RegisterTaskDefinition's rules: validation, the defaults AWS fills in, and the derived
//! `compatibilities` and `requiresAttributes`. Pure: a request in, the stored document out.

use super::str_of;
use serde_json::{Map, Value, json};

use super::{is_valid_name, list_of};

/// Why a task definition was refused, with the ECS error code it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// `ClientException`.
    Client(String),
    /// `InvalidParameterException`.
    InvalidParameter(String),
}

type Result<T> = std::result::Result<T, Rejection>;

fn client(message: impl Into<String>) -> Rejection {
    Rejection::Client(message.into())
}

fn invalid(message: impl Into<String>) -> Rejection {
    Rejection::InvalidParameter(message.into())
}

/// The task-level CPU units AWS accepts (0.125 to 192 vCPU).
pub const TASK_CPU_RANGE: std::ops::RangeInclusive<u32> = 128..=196_608;

/// AWS's limit of containers per task definition.
pub const MAX_CONTAINERS: usize = 10;

/// RegisterDaemonTaskDefinition's rules: a daemon task definition is checked as a task
/// definition of the same family, containers, size and volumes is (names, images, memory,
/// dependencies), and stored with the defaults AWS fills in. The caller keeps only the members
/// of the daemon shapes.
///
/// # Errors
/// The task definition rule the request breaks.
pub fn normalize_daemon(request: &Map<String, Value>) -> Result<Map<String, Value>> {
    const CARRIED: [&str; 7] =
        ["family", "containerDefinitions", "cpu", "memory", "volumes", "taskRoleArn", "executionRoleArn"];
    let as_task: Map<String, Value> =
        request.iter().filter(|(k, _)| CARRIED.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    normalize(&as_task)
}

/// The first thing in a task definition that Fargate does not support, in AWS's words ("Fargate
/// compatible task definitions do not support <parameter>"), or None.
fn fargate_problem(doc: &Map<String, Value>) -> Option<String> {
    let unsupported = |parameter: &str| Some(format!("Fargate compatible task definitions do not support {parameter}"));
    let set = |v: Option<&Value>| v.is_some_and(|v| !v.is_null() && v != &json!(false) && v != &json!([]));
    for c in list_of(doc, "containerDefinitions") {
        for key in ["privileged", "dnsServers", "dnsSearchDomains", "dockerSecurityOptions", "disableNetworking"] {
            if set(c.get(key)) {
                return unsupported(key);
            }
        }
        let Some(linux) = c.get("linuxParameters") else { continue };
        for key in ["devices", "sharedMemorySize", "maxSwap", "swappiness"] {
            if set(linux.get(key)) {
                return unsupported(key);
            }
        }
        let added = linux.get("capabilities").and_then(|c| c.get("add")).and_then(Value::as_array);
        if added.into_iter().flatten().any(|cap| cap.as_str() != Some("SYS_PTRACE")) {
            return Some(
                "Tasks launched on Fargate only support adding the 'SYS_PTRACE' kernel capability.".to_owned(),
            );
        }
    }
    for v in list_of(doc, "volumes") {
        if set(v.get("host").and_then(|h| h.get("sourcePath"))) {
            return unsupported("sourcePath");
        }
        if set(v.get("dockerVolumeConfiguration")) {
            return unsupported("dockerVolumeConfiguration");
        }
    }
    if !list_of(doc, "placementConstraints").is_empty() {
        return unsupported("placementConstraints");
    }
    // AWS's wording for these two (older than the "Fargate compatible" one above).
    if let Some(mode) = str_of(doc, "pidMode").filter(|m| *m != "task") {
        return Some(format!(
            "Tasks using the Fargate launch type do not support pidMode '{mode}'. The supported value for pidMode is 'task'."
        ));
    }
    if doc.get("ipcMode").is_some_and(|m| !m.is_null()) {
        return Some("Tasks using the Fargate launch type do not support ipcMode.".to_owned());
    }
    None
}

/// Fargate's ephemeral storage bounds (GiB): AWS refuses a size outside them at registration.
const EPHEMERAL_STORAGE_GIB: std::ops::RangeInclusive<i64> = 21..=200;

/// The request's `ephemeralStorage`, if it is outside [`EPHEMERAL_STORAGE_GIB`]: AWS's message.
fn ephemeral_storage_problem(request: &Map<String, Value>) -> Option<String> {
    let size = request.get("ephemeralStorage")?.get("sizeInGiB")?.as_i64()?;
    if size < *EPHEMERAL_STORAGE_GIB.start() {
        Some(format!("EphemeralStorage size should be at least {}", EPHEMERAL_STORAGE_GIB.start()))
    } else if size > *EPHEMERAL_STORAGE_GIB.end() {
        Some(format!("EphemeralStorage size should be at most {}", EPHEMERAL_STORAGE_GIB.end()))
    } else {
        None
    }
}

/// Fargate's valid task sizes: CPU units and the memory (MiB) each allows.
#[must_use]
pub fn fargate_memory_options(cpu: u32) -> Vec<u32> {
    let range = |from: u32, to: u32, step: u32| (from..=to).step_by(step as usize).collect::<Vec<_>>();
    match cpu {
        256 => vec![512, 1024, 2048],
        512 => range(1024, 4096, 1024),
        1024 => range(2048, 8192, 1024),
        2048 => range(4096, 16384, 1024),
        4096 => range(8192, 30720, 1024),
        8192 => range(16384, 61440, 4096),
        16384 => range(32768, 122_880, 8192),
        _ => Vec::new(),
    }
}

/// Parses a task-level `cpu`: CPU units (`"1024"`) or vCPUs (`"1 vCPU"`, `".5 vcpu"`).
#[must_use]
pub fn parse_cpu(s: &str) -> Option<u32> {
    parse_units(s, &["vcpu"], 1024.0)
}

/// Parses a task-level `memory`: MiB (`"2048"`) or GB (`"2 GB"`, `"0.5gb"`).
#[must_use]
pub fn parse_memory(s: &str) -> Option<u32> {
    parse_units(s, &["gb"], 1024.0)
}

fn parse_units(s: &str, suffixes: &[&str], scale: f64) -> Option<u32> {
    let lower = s.trim().to_ascii_lowercase();
    let (number, factor) = match suffixes.iter().find_map(|suffix| lower.strip_suffix(suffix)) {
        Some(n) => (n.trim(), scale),
        None => (lower.as_str(), 1.0),
    };
    // Plain decimals only ("1e3" is not a size AWS accepts).
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let units = value * factor;
    if !(1.0..=f64::from(u32::MAX)).contains(&units) || units.fract() != 0.0 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some(units as u32)
}

/// Validates a RegisterTaskDefinition request (already checked against the model) and returns
/// the task definition document without the fields the store assigns (ARN, revision, status,
/// registeredAt, registeredBy).
///
/// # Errors
/// The first rule the request breaks, with AWS's error code.
pub fn normalize(request: &Map<String, Value>) -> Result<Map<String, Value>> {
    let family = str_of(request, "family").unwrap_or_default();
    if !is_valid_name(family) {
        return Err(client(if family.is_empty() {
            "Family can not be blank.".to_owned()
        } else {
            format!(
                "Family contains invalid characters: '{family}'. Up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed."
            )
        }));
    }
    let mut doc = request.clone();
    doc.remove("tags");

    let requires: Vec<&str> = list_of(request, "requiresCompatibilities").iter().filter_map(Value::as_str).collect();
    let fargate = requires.contains(&"FARGATE");
    let network_mode = str_of(request, "networkMode");
    let awsvpc_like = matches!(network_mode, Some("awsvpc" | "host"));

    // Task size.
    let task_cpu = match str_of(request, "cpu") {
        Some(s) => Some(parse_cpu(s).filter(|units| TASK_CPU_RANGE.contains(units)).ok_or_else(|| {
            invalid(format!(
                "Invalid 'cpu' setting for task: '{s}'. Give 128 to 196608 CPU units or 0.125 to 192 vCPU."
            ))
        })?),
        None => None,
    };
    let task_memory = match str_of(request, "memory") {
        Some(s) => Some(parse_memory(s).ok_or_else(|| invalid(format!("Invalid 'memory' setting for task: '{s}'.")))?),
        None => None,
    };
    if let Some(cpu) = task_cpu {
        doc.insert("cpu".into(), json!(cpu.to_string()));
    }
    if let Some(memory) = task_memory {
        doc.insert("memory".into(), json!(memory.to_string()));
    }
    if fargate {
        if network_mode != Some("awsvpc") {
            return Err(client("Fargate only supports network mode ‘awsvpc’."));
        }
        let Some(cpu) = task_cpu else {
            return Err(client("Fargate requires that 'cpu' be defined at the task level."));
        };
        let Some(memory) = task_memory else {
            return Err(client("Fargate requires that 'memory' be defined at the task level."));
        };
        if !fargate_memory_options(cpu).contains(&memory) {
            return Err(client(format!(
                "No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. See the Amazon ECS documentation for the valid values."
            )));
        }
    }

    // Containers.
    let containers = list_of(request, "containerDefinitions");
    if containers.is_empty() {
        return Err(client("Container list cannot be empty."));
    }
    if containers.len() > MAX_CONTAINERS {
        return Err(client(format!("A task definition can contain at most {MAX_CONTAINERS} containers.")));
    }
    let volume_names: Vec<&str> =
        list_of(request, "volumes").iter().filter_map(|v| v.get("name").and_then(Value::as_str)).collect();
    if let Some((i, name)) = volume_names.iter().enumerate().find(|(i, n)| volume_names[..*i].contains(n)) {
        return Err(client(format!("Volume names must be unique: '{name}' is given more than once (volumes[{i}]).")));
    }
    let mut names: Vec<&str> = Vec::new();
    for c in containers {
        let c = c.as_object().ok_or_else(|| client("Container definitions must be objects."))?;
        let name = str_of(c, "name").unwrap_or_default();
        if name.is_empty() {
            return Err(client("Container.name should not be null or empty."));
        }
        if !is_valid_name(name) {
            return Err(client(format!(
                "Container.name contains invalid characters: '{name}'. Up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed."
            )));
        }
        if names.contains(&name) {
            return Err(client(format!("Container names must be unique: '{name}' appears more than once.")));
        }
        names.push(name);
        if str_of(c, "image").is_none_or(str::is_empty) {
            return Err(client("Container.image should not be null or empty."));
        }
    }
    let mut normalized = Vec::with_capacity(containers.len());
    let mut any_essential = false;
    for c in containers.iter().filter_map(Value::as_object) {
        let name = str_of(c, "name").unwrap_or_default();
        let mut c = c.clone();
        check_container_memory(name, &c, task_memory, fargate)?;
        let essential = c.get("essential").and_then(Value::as_bool).unwrap_or(true);
        any_essential |= essential;
        c.entry("cpu").or_insert(json!(0));
        c.insert("portMappings".into(), Value::Array(port_mappings(name, &c, network_mode)?));
        c.insert("essential".into(), json!(essential));
        for key in ["environment", "mountPoints", "volumesFrom", "systemControls"] {
            c.entry(key).or_insert(json!([]));
        }
        if let Some(Value::Object(health)) = c.get("healthCheck") {
            for (field, range) in
                [("interval", 5..=300), ("timeout", 2..=60), ("retries", 1..=10), ("startPeriod", 0..=300)]
            {
                if let Some(v) = health.get(field).and_then(Value::as_i64)
                    && !range.contains(&v)
                {
                    return Err(client(format!(
                        "Invalid 'healthCheck' setting for container '{name}': '{field}' must be between {} and {}, got {v}.",
                        range.start(),
                        range.end()
                    )));
                }
            }
        }
        if let Some(Value::Object(health)) = c.get_mut("healthCheck") {
            health.entry("interval").or_insert(json!(30));
            health.entry("timeout").or_insert(json!(5));
            health.entry("retries").or_insert(json!(3));
        }
        if let Some(Value::Object(log)) = c.get_mut("logConfiguration") {
            log.entry("secretOptions").or_insert(json!([]));
        }
        if awsvpc_like && !list_of(&c, "links").is_empty() {
            return Err(client(format!(
                "Links are not supported when networkMode={}.",
                network_mode.unwrap_or_default()
            )));
        }
        for dep in list_of(&c, "dependsOn") {
            let target = dep.get("containerName").and_then(Value::as_str).unwrap_or_default();
            if !names.contains(&target) {
                // AWS's message, literal " + " included.
                return Err(client(format!("Cannot depend on container + '{target}' because it does not exist")));
            }
            let condition = dep.get("condition").and_then(Value::as_str).unwrap_or_default();
            if matches!(condition, "SUCCESS" | "COMPLETE") && essential_by_name(containers, target) {
                return Err(client(
                    "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container",
                ));
            }
            if target == name {
                return Err(client(format!("Container '{name}' cannot depend on itself.")));
            }
        }
        for from in list_of(&c, "volumesFrom") {
            let source = from.get("sourceContainer").and_then(Value::as_str).unwrap_or_default();
            if !names.contains(&source) || source == name {
                return Err(client(format!(
                    "Container '{name}' has volumesFrom '{source}', which is not another container of the task definition."
                )));
            }
        }
        for mount in list_of(&c, "mountPoints") {
            let source = mount.get("sourceVolume").and_then(Value::as_str).unwrap_or("null");
            if !volume_names.contains(&source) {
                // AWS's message.
                return Err(client(format!("Unknown volume '{source}'.")));
            }
        }
        if network_mode == Some("awsvpc") {
            if c.get("hostname").is_some_and(|h| !h.is_null()) {
                return Err(client("hostname is not supported on container when networkMode=awsvpc."));
            }
            if !list_of(&c, "extraHosts").is_empty() {
                return Err(client("Extra hosts are not supported on container when networkMode=awsvpc"));
            }
        }

        normalized.push(Value::Object(c));
    }
    if fargate && let Some(problem) = fargate_problem(request) {
        return Err(client(problem));
    }
    if let Some(problem) = ephemeral_storage_problem(request) {
        return Err(client(problem));
    }
    if let Some(problem) = firelens_problem(&normalized) {
        return Err(client(problem));
    }
    // The execution role is what fetches secrets on AWS.
    if normalized.iter().any(|c| c.as_object().is_some_and(|c| !list_of(c, "secrets").is_empty()))
        && request.get("executionRoleArn").and_then(Value::as_str).is_none_or(str::is_empty)
    {
        return Err(client(
            "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
        ));
    }
    if !any_essential {
        return Err(client("Task definition doesn't have any essential container."));
    }
    if let Some(task) = task_memory {
        let reserved: i64 = containers.iter().filter_map(|c| c.get("memoryReservation").and_then(Value::as_i64)).sum();
        if reserved > i64::from(task) {
            return Err(client(
                "The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'.",
            ));
        }
    }
    doc.insert("containerDefinitions".into(), Value::Array(normalized));
    for key in ["volumes", "placementConstraints"] {
        doc.entry(key).or_insert(json!([]));
    }
    let compatibilities = compatibilities(&doc, task_cpu, task_memory);
    for required in &requires {
        if !compatibilities.contains(required) {
            return Err(client(format!("Task definition does not support launch_type {required}.")));
        }
    }
    doc.insert("compatibilities".into(), json!(compatibilities));
    // A definition that needs no capability has no requiresAttributes at all, as on AWS.
    let attributes = requires_attributes(&doc);
    if attributes.as_array().is_some_and(|a| !a.is_empty()) {
        doc.insert("requiresAttributes".into(), attributes);
    }
    Ok(doc)
}

fn essential_by_name(containers: &[Value], name: &str) -> bool {
    containers
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
        .is_some_and(|c| c.get("essential").and_then(Value::as_bool).unwrap_or(true))
}

fn check_container_memory(name: &str, c: &Map<String, Value>, task_memory: Option<u32>, fargate: bool) -> Result<()> {
    let memory = c.get("memory").and_then(Value::as_i64);
    let reservation = c.get("memoryReservation").and_then(Value::as_i64);
    if memory.is_none() && reservation.is_none() && task_memory.is_none() && !fargate {
        return Err(client(format!(
            "Invalid setting for container '{name}'. At least one of 'memory' or 'memoryReservation' must be specified."
        )));
    }
    for (field, value) in [("memory", memory), ("memoryReservation", reservation)] {
        if let Some(v) = value
            && v < 6
        {
            return Err(client(format!(
                "Invalid '{field}' setting for container '{name}': the minimum is 6 MiB, got {v}."
            )));
        }
    }
    if let (Some(m), Some(r)) = (memory, reservation)
        && r > m
    {
        return Err(client(format!(
            "Invalid setting for container '{name}'. 'memory' must be greater than or equal to 'memoryReservation'."
        )));
    }
    if let (Some(task), Some(m)) = (task_memory, memory.or(reservation))
        && m > i64::from(task)
    {
        return Err(client(format!(
            "Invalid setting for container '{name}'. The container memory ({m} MiB) is greater than the task memory ({task} MiB)."
        )));
    }
    Ok(())
}

fn port_mappings(name: &str, c: &Map<String, Value>, network_mode: Option<&str>) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for mapping in list_of(c, "portMappings") {
        let Some(mapping) = mapping.as_object() else { continue };
        let mut m = mapping.clone();
        let container_port = m.get("containerPort").and_then(Value::as_i64);
        if container_port.is_none() && m.get("containerPortRange").is_none() {
            return Err(client(format!("Invalid 'containerPort' setting for container '{name}'.")));
        }
        m.entry("protocol").or_insert(json!("tcp"));
        if let Some(port) = container_port {
            if !(1..=65535).contains(&port) {
                return Err(client(format!("Invalid 'containerPort' setting for container '{name}'.")));
            }
            match (network_mode, m.get("hostPort").and_then(Value::as_i64)) {
                (Some(mode @ ("awsvpc" | "host")), Some(host)) if host != port => {
                    return Err(client(format!(
                        "When networkMode={mode}, the host ports and container ports in port mappings must match."
                    )));
                }
                (Some("awsvpc" | "host"), None) => {
                    m.insert("hostPort".into(), json!(port));
                }
                _ => {}
            }
        }
        out.push(Value::Object(m));
    }
    Ok(out)
}

/// Which launch types the definition can run on, as AWS computes them.
fn compatibilities(doc: &Map<String, Value>, cpu: Option<u32>, memory: Option<u32>) -> Vec<&'static str> {
    let requires: Vec<&str> = list_of(doc, "requiresCompatibilities").iter().filter_map(Value::as_str).collect();
    let awsvpc = str_of(doc, "networkMode") == Some("awsvpc");
    let mut out = Vec::new();
    if !awsvpc {
        out.push("EXTERNAL");
    }
    out.push("EC2");
    let containers = list_of(doc, "containerDefinitions");
    let fargate_size = matches!((cpu, memory), (Some(c), Some(m)) if fargate_memory_options(c).contains(&m));
    let fargate_features =
        containers.iter().all(|c| c.get("links").is_none_or(Value::is_null)) && fargate_problem(doc).is_none();
    if awsvpc && fargate_size && fargate_features {
        out.push("FARGATE");
    }
    if awsvpc || requires.contains(&"MANAGED_INSTANCES") {
        out.push("MANAGED_INSTANCES");
    }
    out
}

/// The agent capabilities a container instance needs to run the definition.
fn requires_attributes(doc: &Map<String, Value>) -> Value {
    let mut names: Vec<String> = Vec::new();
    let mut add = |n: &str| {
        if !names.iter().any(|x| x == n) {
            names.push(n.to_owned());
        }
    };
    let execution_role = doc.get("executionRoleArn").is_some_and(|v| !v.is_null());
    if str_of(doc, "networkMode") == Some("awsvpc") {
        add("com.amazonaws.ecs.capability.docker-remote-api.1.18");
        add("ecs.capability.task-eni");
    }
    if doc.get("taskRoleArn").is_some_and(|v| !v.is_null()) {
        add("com.amazonaws.ecs.capability.task-iam-role");
    }
    for c in list_of(doc, "containerDefinitions").iter().filter_map(Value::as_object) {
        let image = str_of(c, "image").unwrap_or_default();
        let ecr = image.contains(".dkr.ecr.");
        if ecr {
            add("com.amazonaws.ecs.capability.ecr-auth");
            if execution_role {
                add("ecs.capability.execution-role-ecr-pull");
            }
        }
        if c.get("healthCheck").is_some() {
            add("ecs.capability.container-health-check");
        }
        if !list_of(c, "dependsOn").is_empty() {
            add("ecs.capability.container-ordering");
        }
        if c.get("dockerLabels").is_some() {
            add("com.amazonaws.ecs.capability.docker-remote-api.1.18");
        }
        if c.get("memoryReservation").is_some() {
            add("com.amazonaws.ecs.capability.docker-remote-api.1.21");
        }
        if let Some(driver) = log_driver(c) {
            add("com.amazonaws.ecs.capability.docker-remote-api.1.19");
            add(&format!("com.amazonaws.ecs.capability.logging-driver.{driver}"));
            if driver == "awslogs" && execution_role {
                add("ecs.capability.execution-role-awslogs");
            }
        }
        for secret in list_of(c, "secrets") {
            let from = secret.get("valueFrom").and_then(Value::as_str).unwrap_or_default();
            if from.contains(":secretsmanager:") {
                add("ecs.capability.secrets.asm.environment-variables");
            } else {
                add("ecs.capability.secrets.ssm.environment-variables");
            }
        }
    }
    if list_of(doc, "volumes").iter().any(|v| v.get("efsVolumeConfiguration").is_some()) {
        add("ecs.capability.efs");
    }
    Value::Array(names.into_iter().map(|name| json!({"name": name})).collect())
}

/// The log driver of container definition `c` (`logConfiguration.logDriver`), if it names one.
#[must_use]
pub fn log_driver(c: &Map<String, Value>) -> Option<&str> {
    c.get("logConfiguration")?.get("logDriver")?.as_str()
}

/// FireLens comes in pairs: a container logging with `awsfirelens` needs a log router (a
/// container with `firelensConfiguration`), and a log router needs a container logging to it.
fn firelens_problem(containers: &[Value]) -> Option<&'static str> {
    let routes = containers.iter().any(|c| c.get("firelensConfiguration").is_some_and(|f| !f.is_null()));
    let logs_to_it = containers.iter().any(|c| c.as_object().and_then(log_driver) == Some("awsfirelens"));
    match (logs_to_it, routes) {
        (true, false) => Some(
            "When awsfirelens log driver is specified in log configuration, a firelens configuration object must be configured in one of the containers.",
        ),
        (false, true) => Some(
            "When a firelensConfiguration object is specified, at least one container has to be configured with the awsfirelens log driver.",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn fills_aws_defaults() {
        let doc = normalize(&request(json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "busybox", "memory": 128, "portMappings": [{"containerPort": 80}]}
        ]})))
        .unwrap();
        let c = &doc["containerDefinitions"][0];
        assert_eq!(c["cpu"], 0);
        assert_eq!(c["essential"], true);
        assert_eq!(c["environment"], json!([]));
        assert_eq!(c["portMappings"], json!([{"containerPort": 80, "protocol": "tcp"}]));
        assert_eq!(doc["compatibilities"], json!(["EXTERNAL", "EC2"]));
        assert_eq!(doc["volumes"], json!([]));
        assert!(doc.get("requiresAttributes").is_none());
        assert!(doc.get("networkMode").is_none());
    }

    #[test]
    fn firelens_comes_in_pairs() {
        let app = json!({"name": "app", "image": "i", "memory": 64,
            "logConfiguration": {"logDriver": "awsfirelens", "options": {"Name": "cloudwatch"}}});
        let router = json!({"name": "log_router", "image": "fluent-bit", "memory": 64,
            "firelensConfiguration": {"type": "fluentbit"}});
        let register =
            |containers: Value| normalize(&request(json!({"family": "f", "containerDefinitions": containers})));
        assert!(matches!(register(json!([app.clone()])),
            Err(Rejection::Client(m)) if m.contains("a firelens configuration object must be configured")));
        assert!(matches!(register(json!([router.clone()])),
            Err(Rejection::Client(m)) if m.contains("at least one container has to be configured with the awsfirelens")));
        assert!(register(json!([app, router])).is_ok());
    }

    #[test]
    fn fargate_rules() {
        let base = |extra: Value| {
            let mut r = request(json!({"family": "f", "requiresCompatibilities": ["FARGATE"],
                "containerDefinitions": [{"name": "a", "image": "i", "portMappings": [{"containerPort": 8080}]}]}));
            r.extend(request(extra));
            normalize(&r)
        };
        assert!(
            matches!(base(json!({"cpu": "256", "memory": "512"})), Err(Rejection::Client(m)) if m.contains("awsvpc"))
        );
        assert!(
            matches!(base(json!({"networkMode": "awsvpc", "memory": "512"})), Err(Rejection::Client(m)) if m.contains("'cpu'"))
        );
        assert!(matches!(base(json!({"networkMode": "awsvpc", "cpu": "256", "memory": "4096"})),
            Err(Rejection::Client(m)) if m.contains("No Fargate configuration")));
        let sized = json!({"networkMode": "awsvpc", "cpu": "256", "memory": "512"});
        let with = |extra: Value| {
            let mut all = sized.clone();
            all.as_object_mut().unwrap().extend(request(extra));
            base(all)
        };
        assert!(matches!(with(json!({"pidMode": "host"})), Err(Rejection::Client(m)) if m.contains("pidMode 'host'")));
        assert!(with(json!({"pidMode": "task"})).is_ok());
        assert!(matches!(with(json!({"ipcMode": "task"})), Err(Rejection::Client(m)) if m.contains("ipcMode")));
        for (size, ok) in [(20, false), (21, true), (200, true), (201, false)] {
            let result = with(json!({"ephemeralStorage": {"sizeInGiB": size}}));
            assert_eq!(result.is_ok(), ok, "{size} GiB: {result:?}");
        }
        let doc = base(json!({"networkMode": "awsvpc", "cpu": ".25 vCPU", "memory": "0.5 GB"})).unwrap();
        assert_eq!(doc["cpu"], "256");
        assert_eq!(doc["memory"], "512");
        assert_eq!(doc["compatibilities"], json!(["EC2", "FARGATE", "MANAGED_INSTANCES"]));
        assert_eq!(doc["containerDefinitions"][0]["portMappings"][0]["hostPort"], 8080);
        assert_eq!(
            doc["requiresAttributes"],
            json!([{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}, {"name": "ecs.capability.task-eni"}])
        );
    }

    #[test]
    fn every_fargate_size_in_the_table_is_valid() {
        for (cpu, count) in [(256, 3), (512, 4), (1024, 7), (2048, 13), (4096, 23), (8192, 12), (16384, 12)] {
            assert_eq!(fargate_memory_options(cpu).len(), count, "cpu {cpu}");
        }
        assert!(fargate_memory_options(100).is_empty());
    }

    #[test]
    fn container_rules() {
        let one = |c: Value| normalize(&request(json!({"family": "f", "containerDefinitions": [c]})));
        assert!(
            matches!(one(json!({"name": "a", "image": "i"})), Err(Rejection::Client(m)) if m.contains("At least one of 'memory'"))
        );
        assert!(matches!(one(json!({"name": "a", "image": "i", "memory": 64, "memoryReservation": 128})),
            Err(Rejection::Client(m)) if m.contains("memoryReservation")));
        assert!(matches!(one(json!({"name": "a", "image": "i", "memory": 64, "essential": false})),
            Err(Rejection::Client(m)) if m.contains("essential")));
        assert!(
            matches!(one(json!({"name": "a", "image": "i", "memory": 64, "dependsOn": [{"containerName": "b", "condition": "START"}]})),
            Err(Rejection::Client(m)) if m == "Cannot depend on container + 'b' because it does not exist")
        );
        assert!(
            matches!(one(json!({"image": "i", "memory": 64})), Err(Rejection::Client(m)) if m.contains("Container.name"))
        );
        let two = normalize(&request(json!({"family": "f", "containerDefinitions": [
            {"name": "a", "image": "i", "memory": 64}, {"name": "a", "image": "i", "memory": 64}]})));
        assert!(matches!(two, Err(Rejection::Client(m)) if m.contains("unique")));
    }

    #[test]
    fn health_check_ranges() {
        let with = |h: Value| {
            normalize(&request(json!({"family": "f", "containerDefinitions": [
                {"name": "a", "image": "i", "memory": 64, "healthCheck": h}]})))
        };
        assert!(with(json!({"command": ["CMD-SHELL", "true"], "interval": 5, "retries": 10})).is_ok());
        for bad in [json!({"interval": 4}), json!({"timeout": 61}), json!({"retries": 0}), json!({"startPeriod": 301})]
        {
            let mut h = json!({"command": ["CMD-SHELL", "true"]});
            h.as_object_mut().unwrap().extend(bad.as_object().unwrap().clone());
            assert!(matches!(with(h), Err(Rejection::Client(m)) if m.contains("'healthCheck'")));
        }
    }

    #[test]
    fn awsvpc_ports_must_match() {
        let r = normalize(&request(json!({"family": "f", "networkMode": "awsvpc", "containerDefinitions": [
            {"name": "a", "image": "i", "memory": 64, "portMappings": [{"containerPort": 80, "hostPort": 8080}]}]})));
        assert!(matches!(r, Err(Rejection::Client(m)) if m.contains("must match")));
    }

    #[test]
    fn units() {
        assert_eq!(parse_cpu("1 vCPU"), Some(1024));
        assert_eq!(parse_cpu("512"), Some(512));
        assert_eq!(parse_cpu("abc"), None);
        assert_eq!(parse_cpu("1e3"), None);
        assert_eq!(parse_cpu(".5 vcpu"), Some(512));
        assert_eq!(parse_memory("2GB"), Some(2048));
        assert_eq!(parse_memory("0"), None);
    }
}
