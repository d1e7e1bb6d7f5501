use super::Ctx;
use crate::cli::AuditArgs;
use crate::report::Report;

pub fn run(_args: &AuditArgs, _ctx: &Ctx) -> anyhow::Result<Report> {
    Err(crate::error::Error::NotImplemented {
        command: "audit",
        issue: 6,
    }
    .into())
}
