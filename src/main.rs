use clap::Parser;
use lbdoctor::cli::Cli;
use lbdoctor::commands::{self, Ctx};
use lbdoctor::report::style::Style;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // clap uses 0 for --help/--version and 2 for usage errors, as we do.
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    let ctx = Ctx {
        format: cli.global.format,
        style: Style::from_choice(cli.global.color),
        quiet: cli.global.quiet,
        verbose: cli.global.verbose,
        interactive: std::io::stdout().is_terminal() && std::io::stderr().is_terminal(),
    };
    match commands::run(&cli, &ctx) {
        Ok(report) => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (lbdoctor ... | head) is not an error worth a message.
            let _ = out.write_all(commands::render(&report, &ctx).as_bytes());
            let _ = out.flush();
            ExitCode::from(commands::exit_code(&report, cli.global.fail_on) as u8)
        }
        Err(e) => {
            // Errors quote hosts' output (ssh's stderr, file names): no raw controls.
            eprintln!(
                "lbdoctor: error: {}",
                lbdoctor::report::sanitize::text(&format!("{e:#}"))
            );
            ExitCode::from(2)
        }
    }
}
