//! SIGTERM starts a graceful shutdown (own test binary: signal handlers are process-wide).

mod common;

use std::{process::Command, time::Duration};

use shards::{launch, Config, GateClosed, Shard, ShardId};

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
