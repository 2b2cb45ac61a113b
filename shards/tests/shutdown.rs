//! Graceful shutdown waits for in-flight work, stops accepting, and reports the cause.

mod common;

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use shards::{launch, GateClosed, LaunchError, Launcher, Shard, ShardId};

#[test]
fn work_holding_passes_finishes_before_launch_returns() {
    static FINISHED: AtomicUsize = AtomicUsize::new(0);
    const TASKS: usize = 10;
    let outputs = launch(common::config(3), |shard: Shard<()>| async move {
        let mut tasks = Vec::new();
        for _ in 0..TASKS {
            let pass = shard.gate().enter().expect("gate open at start");
            tasks.push(shard.spawn_background(async move {
                glommio::timer::sleep(Duration::from_millis(200)).await;
                FINISHED.fetch_add(1, Ordering::SeqCst);
                drop(pass);
            }));
        }
        for task in tasks {
            task.detach();
        }
        // Serving only after the passes are taken: once shard 0 has everyone's answer, every
        // shard has work in flight, and then shutdown begins.
        shard.serve(|_, ()| async {});
        if shard.id() == ShardId::new(0) {
            for (_, answer) in shard.gather(()).await {
                answer.expect("every shard answers");
            }
            shard.shutdown_handle().trigger();
        }
        shard.closing().await;
        let refused = shard.gate().enter().err();
        Ok::<_, GateClosed>(refused)
    })
    .expect("launch");
    assert_eq!(FINISHED.load(Ordering::SeqCst), 3 * TASKS);
    assert_eq!(outputs, vec![Some(GateClosed); 3]);
}

#[test]
fn a_handle_from_another_thread_stops_the_shards() {
    let launcher = Launcher::new(common::config(2));
    let shutdown = launcher.shutdown_handle();
    let trigger = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        shutdown.trigger();
    });
    let outputs = launcher
        .run(|shard: Shard<()>| async move {
            shard.closing().await;
            Ok::<_, GateClosed>(shard.id().index())
        })
        .expect("launch");
    trigger.join().expect("trigger thread");
    assert_eq!(outputs, vec![0, 1]);
}

#[derive(Debug, PartialEq)]
struct Broken;

#[test]
fn a_failing_shard_shuts_the_others_down_and_is_reported() {
    let result = launch(common::config(2), |shard: Shard<()>| async move {
        if shard.id() == ShardId::new(1) {
            return Err(Broken);
        }
        shard.closing().await;
        Ok(())
    });
    match result {
        Err(LaunchError::Shard { shard, error }) => {
            assert_eq!((shard, error), (ShardId::new(1), Broken));
        }
        other => panic!("expected shard 1's error, got {other:?}"),
    }
}
