//! A shard that dies fails the messages waiting on it, even senders blocked on a full mailbox.

mod common;

use std::{future::pending, time::Duration};

use shards::{launch, Config, LaunchError, MailboxError, Shard, ShardId};

#[test]
fn mail_to_a_dead_shard_fails_instead_of_hanging() {
    let config = Config {
        mailbox_capacity: 2,
        serve_concurrency: 1,
        ..common::config(2)
    };
    let result = launch(config, |shard: Shard<u32>| async move {
        if shard.id() == ShardId::new(1) {
            // Never answers, so shard 0's mailbox to it fills up; then the shard dies.
            shard.serve(|_, _| pending::<u32>());
            glommio::timer::sleep(Duration::from_millis(200)).await;
            panic!("injected failure of shard 1");
        }
        let in_flight = shard.request(ShardId::new(1), 1);
        let mut blocked_tells = Vec::new();
        for n in 0..8 {
            let me = shard.clone();
            blocked_tells
                .push(shard.spawn_foreground(async move { me.tell(ShardId::new(1), n).await }));
        }
        let stopped = Err(MailboxError::Stopped {
            shard: ShardId::new(1),
        });
        assert_eq!(in_flight.await, stopped);
        for tell in blocked_tells {
            // Tells that got into the mailbox before the death succeeded; the rest must fail.
            let _ = tell.await;
        }
        assert_eq!(shard.request(ShardId::new(1), 2).await, stopped);
        Ok::<(), MailboxError>(())
    });
    match result {
        Err(LaunchError::Panicked { shard, message }) => {
            assert_eq!(shard, ShardId::new(1));
            assert!(message.contains("injected"), "{message}");
        }
        other => panic!("expected shard 1's panic, got {other:?}"),
    }
}
