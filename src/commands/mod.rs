//! Glue from the CLI to each domain: every command returns a Report; main renders it.

pub mod audit;
pub mod check;
pub mod detect;
pub mod explain;
pub mod lint;
pub mod state;

use crate::cli::{Cli, Command, FailOn, Format};
use crate::finding::Severity;
use crate::report::{self, style::Style, Report};

/// Shared, read-only context a command may use: output choices and verbosity.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub format: Format,
    pub style: Style,
    pub quiet: bool,
    pub verbose: u8,
    /// Progress bars and prompts only make sense for a person at a terminal.
    pub interactive: bool,
}

pub fn run(cli: &Cli, ctx: &Ctx) -> anyhow::Result<Report> {
    if ctx.format == Format::Sarif && !matches!(cli.command, Command::Lint(_)) {
        return Err(crate::error::Error::Usage(
            "--format sarif is only available for `lbdoctor lint`; use --format json".into(),
        )
        .into());
    }
    match &cli.command {
        Command::Detect(a) => detect::run(a, ctx),
        Command::Lint(a) => lint::run(a, ctx),
        Command::State(a) => state::run(a, ctx),
        Command::Audit(a) => audit::run(a, ctx),
        Command::Check(a) => check::run(a, ctx),
        Command::Explain(a) => explain::run(a, ctx),
    }
}

pub fn render(report: &Report, ctx: &Ctx) -> String {
    // `check -q` is keepalived's MISC_CHECK: the exit status is the answer, and nothing is
    // printed (keepalived would only log it). JSON was asked for explicitly, so it still prints.
    if ctx.quiet && report.command == "check" && ctx.format == Format::Human {
        return String::new();
    }
    match ctx.format {
        Format::Human => report::human::render(report, ctx.style, ctx.quiet),
        Format::Json => report::json::render(report),
        Format::Sarif => report::sarif::render(report),
    }
}

/// 0 when nothing reaches --fail-on, else 1. (2 is for errors, decided in main.)
pub fn exit_code(report: &Report, fail_on: FailOn) -> i32 {
    let threshold = match fail_on {
        FailOn::Never => return 0,
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
        FailOn::Info => Severity::Info,
    };
    match report.worst() {
        Some(w) if w >= threshold => 1,
        _ => 0,
    }
}
