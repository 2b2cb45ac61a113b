//! Requests between shards are answered, each by its own reply, under load and backpressure.

mod common;

use shards::{launch, MailboxError, Shard, ShardId};

#[test]
fn hundred_thousand_round_trips_are_all_matched() {
    const ROUND_TRIPS: u64 = 100_000;
    const CALLERS: u64 = 32;
    let outputs = launch(common::config(2), |shard: Shard<u64>| async move {
        shard.serve(|_from, n| async move { n * 2 + 1 });
        if shard.id() != ShardId::new(0) {
            return Ok::<u64, MailboxError>(0);
        }
        let mut callers = Vec::new();
        for caller in 0..CALLERS {
            let me = shard.clone();
            callers.push(shard.spawn_foreground(async move {
                let mut matched = 0u64;
                for n in (caller..ROUND_TRIPS).step_by(CALLERS as usize) {
                    let reply = me.request(ShardId::new(1), n).await?;
                    assert_eq!(reply, n * 2 + 1, "reply matched to the wrong request");
                    matched += 1;
                }
                Ok::<u64, MailboxError>(matched)
            }));
        }
        let mut matched = 0;
        for caller in callers {
            matched += caller.await?;
        }
        shard.shutdown_handle().trigger();
        Ok(matched)
    })
    .expect("launch");
    assert_eq!(outputs, vec![ROUND_TRIPS, 0]);
}

#[test]
fn gather_collects_every_shard_in_order_even_beyond_the_core_count() {
    let outputs = launch(common::config(4), |shard: Shard<u32, String>| async move {
        let me = shard.id();
        shard.serve(move |from, n| async move { format!("{me} answers {from}: {n}") });
        let replies = shard.gather(7).await;
        let texts: Vec<String> = replies
            .into_iter()
            .map(|(_, reply)| reply.expect("every shard answers"))
            .collect();
        if me == ShardId::new(3) {
            shard.shutdown_handle().trigger();
        }
        Ok::<_, MailboxError>(texts)
    })
    .expect("launch");
    assert_eq!(outputs[1][2], "shard-2 answers shard-1: 7");
    assert_eq!(outputs[0][0], "shard-0 answers shard-0: 7");
    assert!(outputs.iter().all(|texts| texts.len() == 4));
}

#[test]
fn unknown_shard_is_an_error_not_a_hang() {
    let outputs = launch(common::config(2), |shard: Shard<u8>| async move {
        shard.serve(|_, n| async move { n });
        let result = shard.request(ShardId::new(9), 1).await;
        shard.shutdown_handle().trigger();
        Ok::<_, MailboxError>(result)
    })
    .expect("launch");
    assert_eq!(
        outputs[0],
        Err(MailboxError::UnknownShard {
            shard: ShardId::new(9),
            count: 2
        })
    );
}
