//! A full mailbox makes the sender wait: a fast sender cannot run ahead of a slow receiver by
//! more than the link capacity plus the messages being handled.

mod common;

use std::time::{Duration, Instant};

use shards::{launch, Config, MailboxError, Shard, ShardId};

#[test]
fn tells_to_a_slow_shard_wait_for_room() {
    const TELLS: u32 = 20;
    const HANDLING: Duration = Duration::from_millis(20);
    let config = Config {
        mailbox_capacity: 2,
        serve_concurrency: 1,
        ..common::config(2)
    };
    let outputs = launch(config, |shard: Shard<u32>| async move {
        shard.serve(|_, n| async move {
            glommio::timer::sleep(HANDLING).await;
            n
        });
        if shard.id() != ShardId::new(0) {
            return Ok::<_, MailboxError>(Duration::ZERO);
        }
        let started = Instant::now();
        for n in 0..TELLS {
            shard.tell(ShardId::new(1), n).await?;
        }
        let elapsed = started.elapsed();
        // Wait until shard 1 has handled everything before shutting down.
        shard.request(ShardId::new(1), TELLS).await?;
        shard.shutdown_handle().trigger();
        Ok(elapsed)
    })
    .expect("launch");
    // At most capacity (2) + one waiting for a permit + one being handled are absorbed
    // without waiting; every other tell waits for a handler to finish.
    let floor = HANDLING * (TELLS - 4);
    assert!(
        outputs[0] >= floor,
        "tells took {:?}, expected at least {floor:?}",
        outputs[0]
    );
}
