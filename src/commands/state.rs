use super::Ctx;
use crate::cli::StateArgs;
use crate::report::Report;

pub fn run(_args: &StateArgs, _ctx: &Ctx) -> anyhow::Result<Report> {
    Err(crate::error::Error::NotImplemented {
        command: "state",
        issue: 5,
    }
    .into())
}
