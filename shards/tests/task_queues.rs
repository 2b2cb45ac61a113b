//! Foreground and background work runs in their own named task queues.

mod common;

use shards::{launch, GateClosed, Shard};

#[test]
fn spawned_work_runs_in_its_queue() {
    let outputs = launch(common::config(1), |shard: Shard<()>| async move {
        let (foreground, background) = shard.task_queues();
        let in_foreground = shard
            .spawn_foreground(async { glommio::executor().current_task_queue() })
            .await;
        let in_background = shard
            .spawn_background(async { glommio::executor().current_task_queue() })
            .await;
        shard.shutdown_handle().trigger();
        Ok::<_, GateClosed>(in_foreground == foreground && in_background == background)
    })
    .expect("launch");
    assert_eq!(outputs, vec![true]);
}
