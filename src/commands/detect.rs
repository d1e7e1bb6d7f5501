use super::Ctx;
use crate::cli::DetectArgs;
use crate::report::Report;

pub fn run(_args: &DetectArgs, _ctx: &Ctx) -> anyhow::Result<Report> {
    Err(crate::error::Error::NotImplemented {
        command: "detect",
        issue: 4,
    }
    .into())
}
