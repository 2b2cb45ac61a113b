//! `shardmq-bench`: see the library docs for what each subcommand measures.

use clap::Parser;
use shardmq_bench::args::{Cli, Command};
use shardmq_bench::{consume, e2e, metadata, produce, topic, topics, BenchError};

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
        Command::Consume(args) => {
            let report = consume::run(&args)?;
            print!("{}", report.text());
            if let Some(path) = &args.json {
                report.write_json(path)?;
            }
            Ok(())
        }
        Command::E2e(args) => {
            let report = e2e::run(&args)?;
            print!(
                "produced: {}consumed: {}",
                report.produce.text(),
                report.consume.text()
            );
            if let Some(path) = &args.produce.json {
                let text = serde_json::to_string_pretty(&report)
                    .map_err(|error| BenchError::Io(std::io::Error::other(error)))?;
                std::fs::write(path, text + "\n")?;
            }
            Ok(())
        }
        Command::Topics(args) => topics::run(&args),
        Command::Metadata(args) => metadata::run(&args),
        Command::Topic(args) => {
            let masters = topic::run(&args)?;
            println!(
                "topic {} with {} queues on {} broker(s)",
                args.target.topic,
                args.target.queues,
                masters.len()
            );
            Ok(())
        }
    }
}
