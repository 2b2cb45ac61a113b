//! SIGTERM starts a graceful shutdown (own test binary: signal handlers are process-wide).

mod common;

use std::{os::unix::process::ExitStatusExt, process::Command, thread, time::Duration};

use shards::{launch, Config, GateClosed, Launcher, Shard, ShardId};

/// Set in the child process that [`sigterm_after_the_launch_ends_the_process`] starts.
const CHILD: &str = "SHARDS_SIGNALS_TEST_CHILD";

#[test]
fn sigterm_shuts_every_shard_down_gracefully() {
    let config = Config {
        handle_signals: true,
        ..common::config(2)
    };
    let outputs = launch(config, |shard: Shard<()>| async move {
        let pass = shard.gate().enter().expect("open gate");
        // Serving only once the pass is held: when shard 0 has every answer, all shards have
        // work in flight, and only then is the signal sent.
        shard.serve(|_, ()| async {});
        if shard.id() == ShardId::new(0) {
            for (_, answer) in shard.gather(()).await {
                answer.expect("every shard answers");
            }
            let status = Command::new("kill")
                .args(["-TERM", &std::process::id().to_string()])
                .status()
                .expect("run kill");
            assert!(status.success());
        }
        shard.closing().await;
        // In-flight work still completes after the signal.
        glommio::timer::sleep(Duration::from_millis(50)).await;
        drop(pass);
        Ok::<_, GateClosed>(true)
    })
    .expect("launch");
    assert_eq!(outputs, vec![true, true]);
}

/// Once a launch has returned, SIGTERM ends the process as it did before the launch: the
/// handler left installed must not swallow it. Run in a child process, which it kills.
#[test]
fn sigterm_after_the_launch_ends_the_process() {
    if std::env::var_os(CHILD).is_some() {
        let launcher = Launcher::new(Config {
            handle_signals: true,
            ..common::config(1)
        });
        launcher.shutdown_handle().trigger();
        launcher
            .run(|_: Shard<()>| async { Ok::<_, GateClosed>(()) })
            .expect("launch");
        let status = Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        thread::sleep(Duration::from_secs(10));
        return;
    }
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "sigterm_after_the_launch_ends_the_process"])
        .env(CHILD, "1")
        .output()
        .expect("run the child");
    assert_eq!(
        out.status.signal(),
        Some(15),
        "killed by SIGTERM: {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
}
