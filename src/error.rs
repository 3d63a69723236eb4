//! The one error type of the API edge: an ECS error code, a message for the client, and (for
//! faults of berth itself) the cause, which is logged and never shown.
//!
//! Codes are spelled exactly as ECS spells them. [`Code`] lists every exception of the ECS model
//! plus the protocol-level codes that the AWS JSON 1.1 front end answers (malformed bodies,
//! unknown targets); a unit test keeps it in step with `api-models/ecs.json`.

use std::fmt;

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// An error code as it appears in `__type` and `x-amzn-ErrorType`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(clippy::enum_variant_names)]
        pub enum Code {
            $($(#[$doc])* $name,)*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The code exactly as AWS spells it.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => stringify!($name),)*
                }
            }
        }
    };
}

codes! {
    /// The caller may not perform the action.
    AccessDeniedException,
    /// Too many attributes on a resource.
    AttributeLimitExceededException,
    /// The account is blocked.
    BlockedException,
    /// A generic client error: the request is wrong in a way no narrower code names.
    ClientException,
    /// The cluster still uses the capacity provider.
    ClusterContainsCapacityProviderException,
    /// The cluster still has registered container instances.
    ClusterContainsContainerInstancesException,
    /// The cluster still has active services.
    ClusterContainsServicesException,
    /// The cluster still has running or pending tasks.
    ClusterContainsTasksException,
    /// No such cluster.
    ClusterNotFoundException,
    /// The request conflicts with the resource's state.
    ConflictException,
    /// The daemon is not active.
    DaemonNotActiveException,
    /// No such daemon.
    DaemonNotFoundException,
    /// A parameter is not valid.
    InvalidParameterException,
    /// A limit was exceeded.
    LimitExceededException,
    /// The container instance has no agent version information.
    MissingVersionException,
    /// No such Cloud Map namespace.
    NamespaceNotFoundException,
    /// No agent update is available.
    NoUpdateAvailableException,
    /// The task definition does not fit the platform.
    PlatformTaskDefinitionIncompatibilityException,
    /// No such platform version.
    PlatformUnknownException,
    /// The resource is in use.
    ResourceInUseException,
    /// No such resource.
    ResourceNotFoundException,
    /// A fault of berth itself (HTTP 500).
    ServerException,
    /// No such service deployment.
    ServiceDeploymentNotFoundException,
    /// The service is not active.
    ServiceNotActiveException,
    /// No such service.
    ServiceNotFoundException,
    /// The target is not connected.
    TargetNotConnectedException,
    /// No such attribute target.
    TargetNotFoundException,
    /// No such task set.
    TaskSetNotFoundException,
    /// The feature is not supported (also: the operation is not implemented by berth yet).
    UnsupportedFeatureException,
    /// An update of the container agent is in progress.
    UpdateInProgressException,
    /// The body is not valid JSON or does not match the operation's input shape.
    SerializationException,
    /// `X-Amz-Target` names no ECS operation.
    UnknownOperationException,
}

impl Code {
    /// The HTTP status that goes with the code: 500 for faults of berth, 400 for the client's.
    #[must_use]
    pub fn status(self) -> u16 {
        match self {
            Code::ServerException => 500,
            _ => 400,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error answered to the client as `{"__type": code, "message": message}`, plus the members
/// some exceptions carry (ConflictException's `resourceIds`, ...).
#[derive(Debug)]
pub struct EcsError {
    /// The ECS error code.
    pub code: Code,
    /// The message the client sees.
    pub message: String,
    /// The exception's other members.
    pub members: serde_json::Map<String, serde_json::Value>,
    /// For server faults: the cause, logged but never sent.
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl EcsError {
    /// An error with a code and a message for the client.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), members: serde_json::Map::new(), source: None }
    }

    /// The error with one more member in its body.
    #[must_use]
    pub fn with(mut self, member: &str, value: serde_json::Value) -> Self {
        self.members.insert(member.to_owned(), value);
        self
    }

    /// A fault of berth: the client sees a generic message, the cause goes to the log.
    #[track_caller]
    pub fn internal(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        let location = std::panic::Location::caller();
        tracing::error!(error = %source, %location, "internal error");
        Self {
            code: Code::ServerException,
            message: "Server error: berth failed to process the request; see its log.".into(),
            members: serde_json::Map::new(),
            source: Some(Box::new(source)),
        }
    }
}

impl fmt::Display for EcsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for EcsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<crate::store::Error> for EcsError {
    #[track_caller]
    fn from(e: crate::store::Error) -> Self {
        EcsError::internal(e)
    }
}

/// The result of an API handler.
pub type Result<T, E = EcsError> = std::result::Result<T, E>;

/// `ecs_error!(ClusterNotFoundException, "Cluster not found.")`: an [`EcsError`] with a
/// compile-time checked code and a `format!` message.
#[macro_export]
macro_rules! ecs_error {
    ($code:ident, $($arg:tt)+) => {
        $crate::error::EcsError::new($crate::error::Code::$code, format!($($arg)+))
    };
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn every_model_exception_has_a_code() {
        let model = crate::protocol::model::Model::get();
        for name in model.exception_names() {
            assert!(
                Code::ALL.iter().any(|c| c.as_str() == name),
                "{name} is an exception in api-models/ecs.json but not in error::Code"
            );
        }
    }

    #[test]
    fn only_server_exception_is_a_500() {
        for code in Code::ALL {
            let expected = if *code == Code::ServerException { 500 } else { 400 };
            assert_eq!(code.status(), expected, "{code}");
        }
    }
}
