//! The systemd unit in `scripts/systemd/` is one systemd accepts without a warning, pointed
//! at the binary this build made (`systemd-analyze verify`, where systemd is installed), and
//! it keeps the limits and the stop signal a broker needs.

use std::process::Command;

#[test]
fn the_unit_verifies_and_sets_what_the_broker_needs() {
    let root = env!("CARGO_MANIFEST_DIR");
    let unit = std::fs::read_to_string(format!("{root}/scripts/systemd/shardmq.service"))
        .expect("the unit file");
    for line in [
        "LimitMEMLOCK=infinity",
        "LimitNOFILE=1048576",
        "KillSignal=SIGTERM",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit sets {line}");
    }
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze is not installed: the unit is not verified");
        return;
    };
    assert!(version.status.success());
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shardmq.service");
    let here = unit.replace("/usr/local/bin/shardmq", env!("CARGO_BIN_EXE_shardmq"));
    std::fs::write(&path, here).expect("write the unit");
    let verified = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("run systemd-analyze");
    let said = String::from_utf8_lossy(&verified.stderr);
    assert!(
        verified.status.success() && said.trim().is_empty(),
        "{said}"
    );
}
