use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    shopbus::logging::init();
    let cli = shopbus::cli::Cli::parse();
    shopbus::cli::run(cli)
}
