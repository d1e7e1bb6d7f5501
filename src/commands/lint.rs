use super::Ctx;
use crate::cli::LintArgs;
use crate::report::Report;

pub fn run(_args: &LintArgs, _ctx: &Ctx) -> anyhow::Result<Report> {
    Err(crate::error::Error::NotImplemented {
        command: "lint",
        issue: 3,
    }
    .into())
}
