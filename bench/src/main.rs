//! `shardmq-bench`: the load harness. Its subcommands arrive with the bench issue;
//! until then it only reports that.

fn main() {
    eprintln!("shardmq-bench: no scenarios yet");
    std::process::exit(2);
}
