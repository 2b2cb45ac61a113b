//! `shardmq-bench`: see the library docs for what each subcommand measures.

use clap::Parser;
use shardmq_bench::args::{Cli, Command};
use shardmq_bench::{produce, BenchError};

fn main() {
    let cli = Cli::parse();
    if let Err(error) = run(cli) {
        eprintln!("shardmq-bench: {error}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<(), BenchError> {
    match cli.command {
        Command::Produce(args) => {
            let report = produce::run(&args)?;
            print!("{}", report.text());
            if let Some(path) = &args.json {
                report.write_json(path)?;
            }
            Ok(())
        }
    }
}
