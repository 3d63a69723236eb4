//! What the lifecycle knows of a task it drives: its containers that run ([`Running`]) and why
//! it ends before it ran ([`Failure`]). Shared by [`super::lifecycle`], [`super::dependencies`]
//! and [`super::volumes`]; it calls nothing.

/// One running container of the task.
#[derive(Debug, Clone)]
pub(super) struct Running {
    /// Its index in the task definition.
    pub(super) index: usize,
    /// Its Docker id.
    pub(super) id: String,
    /// Whether the task ends with it.
    pub(super) essential: bool,
    /// Seconds between SIGTERM and SIGKILL.
    pub(super) stop_timeout: i64,
    /// Whether it has a health check.
    pub(super) health_check: bool,
}

/// Why a task ends before it ran: the stop code and reason recorded on the task.
pub(super) struct Failure {
    pub(super) code: &'static str,
    pub(super) reason: String,
}

pub(super) fn failed(reason: impl Into<String>) -> Failure {
    Failure { code: "TaskFailedToStart", reason: reason.into() }
}
