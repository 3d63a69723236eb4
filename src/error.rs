//! The one error type of every service berth serves: an AWS error code, a message for the
//! client, and (for faults of berth itself) the cause, which is logged and never shown. The
//! protocol layer renders it in the wire format of the request (a JSON `__type`, a CBOR map, a
//! query `<ErrorResponse>`), with the status and query code the service's model gives the code.
//!
//! Codes are spelled exactly as AWS spells its exception shapes. [`Code`] lists every exception of
//! every model in `api-models/` plus the protocol-level codes the front ends answer (malformed
//! bodies, unknown targets and actions); a unit test keeps it in step with the models.

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

    // The query protocol's own codes (STS, IAM, ELBv2, CloudWatch's query form).
    /// A query request's `Action` names no operation of the service.
    InvalidAction,
    /// A query request has no `Action`.
    MissingAction,
    /// A query request's parameter breaks the model (STS's and IAM's code for it).
    ValidationError,

    // STS.
    /// The session token has expired.
    ExpiredTokenException,
    /// The trade-in token has expired.
    ExpiredTradeInTokenException,
    /// The identity provider could not be reached.
    IDPCommunicationErrorException,
    /// The identity provider refused the claim.
    IDPRejectedClaimException,
    /// The authorization message is not valid.
    InvalidAuthorizationMessageException,
    /// The web identity token is not valid.
    InvalidIdentityTokenException,
    /// The JWT payload is too large.
    JWTPayloadSizeExceededException,
    /// The policy document is not valid.
    MalformedPolicyDocumentException,
    /// Outbound web identity federation is disabled.
    OutboundWebIdentityFederationDisabledException,
    /// The packed session policies are too large.
    PackedPolicyTooLargeException,
    /// STS is not enabled in the region.
    RegionDisabledException,
    /// The session duration is beyond what the role allows.
    SessionDurationEscalationException,

    // CloudWatch Logs.
    /// The data was already accepted.
    DataAlreadyAcceptedException,
    /// A fault of the service (HTTP 500).
    InternalServerException,
    /// A streaming fault.
    InternalStreamingException,
    /// The operation is not valid on the resource.
    InvalidOperationException,
    /// The sequence token is not valid.
    InvalidSequenceTokenException,
    /// The query is not valid.
    MalformedQueryException,
    /// Another operation on the resource is in progress.
    OperationAbortedException,
    /// The resource already exists.
    ResourceAlreadyExistsException,
    /// A service quota is exceeded.
    ServiceQuotaExceededException,
    /// The service is unavailable (HTTP 500).
    ServiceUnavailableException,
    /// A streaming session failed.
    SessionStreamingException,
    /// A streaming session timed out.
    SessionTimeoutException,
    /// Too many requests.
    ThrottlingException,
    /// Too many tags.
    TooManyTagsException,
    /// The client is not recognised.
    UnrecognizedClientException,
    /// A parameter is not valid.
    ValidationException,

    // CloudWatch.
    /// Another change of the resource was in progress.
    ConcurrentModificationException,
    /// The dashboard body is not valid.
    DashboardInvalidInputError,
    /// No such dashboard.
    DashboardNotFoundError,
    /// A fault of CloudWatch (HTTP 500).
    InternalServiceFault,
    /// A value's format is not valid.
    InvalidFormatFault,
    /// The next token is not valid.
    InvalidNextToken,
    /// Parameters that may not be given together.
    InvalidParameterCombinationException,
    /// A parameter's value is not valid.
    InvalidParameterValueException,
    /// A quota is exceeded.
    LimitExceededFault,
    /// A required parameter is missing.
    MissingRequiredParameterException,
    /// No such resource (CloudWatch's query code).
    ResourceNotFound,

    // Secrets Manager.
    /// The secret could not be decrypted with its KMS key.
    DecryptionFailure,
    /// The secret could not be encrypted with its KMS key.
    EncryptionFailure,
    /// A fault of Secrets Manager (HTTP 500).
    InternalServiceError,
    /// The paging token is not valid.
    InvalidNextTokenException,
    /// The request is not valid in the resource's state (a secret scheduled for deletion, ...).
    InvalidRequestException,
    /// A precondition of the request does not hold.
    PreconditionNotMetException,
    /// The resource policy would grant public access.
    PublicPolicyException,
    /// The resource already exists (Secrets Manager's spelling).
    ResourceExistsException,
}

impl Code {
    /// The HTTP status that goes with the code where no model says otherwise: 500 for faults of
    /// the service, 400 for the client's.
    #[must_use]
    pub fn status(self) -> u16 {
        match self {
            Code::ServerException
            | Code::InternalServerException
            | Code::ServiceUnavailableException
            | Code::InternalServiceFault
            | Code::InternalServiceError => 500,
            _ => 400,
        }
    }

    /// The code AWS spells `name`, if berth has it.
    #[must_use]
    pub fn named(name: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == name)
    }

    /// Whether the code is a fault of berth rather than of the client.
    #[must_use]
    pub fn is_fault(self) -> bool {
        self.status() >= 500
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
pub struct ApiError {
    /// The ECS error code.
    pub code: Code,
    /// The message the client sees.
    pub message: String,
    /// The exception's other members.
    pub members: serde_json::Map<String, serde_json::Value>,
    /// For server faults: the cause, logged but never sent.
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
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

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<crate::store::Error> for ApiError {
    #[track_caller]
    fn from(e: crate::store::Error) -> Self {
        ApiError::internal(e)
    }
}

/// The result of an API handler.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// `aws_error!(ClusterNotFoundException, "Cluster not found.")`: an [`ApiError`] with a
/// compile-time checked code and a `format!` message.
#[macro_export]
macro_rules! aws_error {
    ($code:ident, $($arg:tt)+) => {
        $crate::error::ApiError::new($crate::error::Code::$code, format!($($arg)+))
    };
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn every_model_exception_has_a_code() {
        for service in crate::services::all_models() {
            for name in service.exception_names() {
                assert!(
                    Code::ALL.iter().any(|c| c.as_str() == name),
                    "{name} is an exception of {} but not in error::Code",
                    service.metadata().endpoint_prefix
                );
            }
        }
    }

    #[test]
    fn every_code_is_found_by_its_name() {
        assert!(Code::ALL.iter().all(|c| Code::named(c.as_str()) == Some(*c)));
        assert_eq!(Code::named("NoSuchCode"), None);
    }

    #[test]
    fn faults_are_500s_in_every_model_that_has_them() {
        for model in crate::services::all_models() {
            for code in Code::ALL {
                let info = model.error_info(*code);
                if model.shape(code.as_str()).is_none() {
                    assert_eq!(info.status, code.status(), "{code}");
                }
                assert_eq!(info.fault == "Receiver", info.status >= 500, "{code}");
            }
        }
        let ecs = crate::services::ecs::model();
        assert_eq!(ecs.error_info(Code::ServerException).status, 500);
        assert_eq!(ecs.error_info(Code::ClusterNotFoundException).status, 400);
        let cloudwatch = crate::services::cloudwatch::model();
        let info = cloudwatch.error_info(Code::InvalidParameterValueException);
        assert_eq!((info.status, info.query_code.as_str()), (400, "InvalidParameterValue"));
        assert_eq!(cloudwatch.error_info(Code::ResourceNotFound).status, 404);
    }
}
