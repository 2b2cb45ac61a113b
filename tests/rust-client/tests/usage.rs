//! The driver starts and describes the options the interop harness passes, and fails with a
//! report rather than a hang when nothing answers. `scripts/test.sh` runs these before the
//! interop tests, which use the binary this build leaves in the shared target directory.

use std::process::Command;

fn help(subcommand: &str) -> String {
    let words: Vec<&str> = subcommand.split(' ').collect();
    let output = Command::new(env!("CARGO_BIN_EXE_shardmq-interop-rust"))
        .args(words)
        .arg("--help")
        .output()
        .expect("run the driver");
    assert!(output.status.success(), "{subcommand} --help exits 0");
    String::from_utf8(output.stdout).expect("utf-8 help")
}

#[test]
fn produce_takes_the_harness_options() {
    let text = help("produce");
    for option in [
        "--namesrv",
        "--topic",
        "--group",
        "--count",
        "--mode",
        "--tags",
        "--batch-size",
        "--orderly",
        "--outcomes",
        "--serve-checks",
        "--seconds",
    ] {
        assert!(
            text.contains(option),
            "produce --help lists {option}:\n{text}"
        );
    }
    for mode in ["sync", "async", "oneway", "batch", "transaction"] {
        assert!(text.contains(mode), "produce --help lists mode {mode}");
    }
}

#[test]
fn consume_takes_the_harness_options() {
    let text = help("consume");
    for option in [
        "--namesrv",
        "--topic",
        "--group",
        "--expr",
        "--model",
        "--from",
        "--orderly",
        "--count",
        "--seconds",
    ] {
        assert!(
            text.contains(option),
            "consume --help lists {option}:\n{text}"
        );
    }
}

#[test]
fn admin_reset_offset_takes_the_harness_options() {
    let text = help("admin reset-offset");
    for option in ["--namesrv", "--topic", "--group", "--timestamp", "--force"] {
        assert!(
            text.contains(option),
            "admin reset-offset --help lists {option}:\n{text}"
        );
    }
}

#[test]
fn admin_broker_config_takes_the_harness_options() {
    let text = help("admin get-broker-config");
    for option in ["--namesrv", "--broker-addr"] {
        assert!(
            text.contains(option),
            "admin get-broker-config --help lists {option}:\n{text}"
        );
    }
    let text = help("admin update-broker-config");
    for option in ["--namesrv", "--broker-addr", "--set"] {
        assert!(
            text.contains(option),
            "admin update-broker-config --help lists {option}:\n{text}"
        );
    }
}

#[test]
fn every_run_takes_an_account_to_sign_as() {
    for subcommand in [
        "produce",
        "consume",
        "admin reset-offset",
        "admin get-broker-config",
        "admin update-broker-config",
    ] {
        let text = help(subcommand);
        for option in ["--access-key", "--secret-key"] {
            assert!(
                text.contains(option),
                "{subcommand} --help lists {option}:\n{text}"
            );
        }
    }
}

#[test]
fn half_an_account_is_refused() {
    for half in [["--access-key", "RocketMQ"], ["--secret-key", "12345678"]] {
        let output = Command::new(env!("CARGO_BIN_EXE_shardmq-interop-rust"))
            .args(["produce", "--namesrv", "127.0.0.1:1", "--topic", "T"])
            .args(half)
            .output()
            .expect("run the driver");
        assert_eq!(output.status.code(), Some(2), "{} alone refused", half[0]);
        assert!(output.stdout.is_empty(), "nothing started with {}", half[0]);
    }
}

#[test]
fn a_setting_without_a_key_and_value_is_refused() {
    for setting in ["maxMessageSize", "=1024"] {
        let output = Command::new(env!("CARGO_BIN_EXE_shardmq-interop-rust"))
            .args(["admin", "update-broker-config", "--namesrv", "127.0.0.1:1"])
            .args(["--broker-addr", "127.0.0.1:1", "--set", setting])
            .output()
            .expect("run the driver");
        assert_eq!(output.status.code(), Some(2), "--set {setting} refused");
        assert!(
            output.stdout.is_empty(),
            "nothing started for --set {setting}"
        );
    }
}

#[test]
fn broker_config_requests_nobody_answers_fail_with_a_report() {
    let get = Command::new(env!("CARGO_BIN_EXE_shardmq-interop-rust"))
        .args(["admin", "get-broker-config", "--namesrv", "127.0.0.1:1"])
        .args(["--broker-addr", "127.0.0.1:1"])
        .output()
        .expect("run the driver");
    assert_failed_with_report(&get);
    let update = Command::new(env!("CARGO_BIN_EXE_shardmq-interop-rust"))
        .args(["admin", "update-broker-config", "--namesrv", "127.0.0.1:1"])
        .args([
            "--broker-addr",
            "127.0.0.1:1",
            "--set",
            "maxMessageSize=1024",
        ])
        .output()
        .expect("run the driver");
    assert_failed_with_report(&update);
}

#[test]
fn a_reset_nobody_answers_fails_with_a_report() {
    let output = Command::new(env!("CARGO_BIN_EXE_shardmq-interop-rust"))
        .args(["admin", "reset-offset", "--namesrv", "127.0.0.1:1"])
        .args(["--topic", "T", "--group", "G", "--timestamp", "0"])
        .output()
        .expect("run the driver");
    assert_failed_with_report(&output);
}

#[test]
fn unreachable_namesrv_fails_with_a_report_not_a_hang() {
    // Port 1 on loopback: nothing listens there, so the first route lookup is refused.
    let output = Command::new(env!("CARGO_BIN_EXE_shardmq-interop-rust"))
        .args([
            "produce",
            "--namesrv",
            "127.0.0.1:1",
            "--topic",
            "T",
            "--seconds",
            "20",
        ])
        .output()
        .expect("run the driver");
    assert_failed_with_report(&output);
}

#[test]
fn outcomes_other_than_commit_rollback_unknown_are_refused() {
    for outcomes in ["commit,maybe", "unknown:later", "commit:"] {
        let output = Command::new(env!("CARGO_BIN_EXE_shardmq-interop-rust"))
            .args(["produce", "--namesrv", "127.0.0.1:1", "--topic", "T"])
            .args(["--mode", "transaction", "--outcomes", outcomes])
            .output()
            .expect("run the driver");
        assert_eq!(
            output.status.code(),
            Some(2),
            "--outcomes {outcomes} refused"
        );
        assert!(
            output.stdout.is_empty(),
            "nothing started for --outcomes {outcomes}"
        );
    }
}

#[test]
fn a_transactional_send_nobody_answers_fails_with_a_report() {
    let output = Command::new(env!("CARGO_BIN_EXE_shardmq-interop-rust"))
        .args(["produce", "--namesrv", "127.0.0.1:1", "--topic", "T"])
        .args(["--mode", "transaction", "--outcomes", "unknown:commit"])
        .args(["--seconds", "20"])
        .output()
        .expect("run the driver");
    assert_failed_with_report(&output);
}

/// A run that failed and said so: an error line, then a last `done` line with `ok: false`.
fn assert_failed_with_report(output: &std::process::Output) {
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last: serde_json::Value =
        serde_json::from_str(stdout.lines().last().expect("a report")).expect("JSON line");
    assert_eq!(last["event"], "done");
    assert_eq!(last["ok"], false);
    assert!(
        stdout.contains("\"event\":\"error\""),
        "an error line: {stdout}"
    );
}
