//! A replicated value published by its owner converges on every shard.

mod common;

use shards::{launch, MailboxError, ReplicaError, Replicated, Shard, ShardId};

#[test]
fn every_shard_converges_on_the_owners_latest_version() {
    const VERSIONS: u64 = 200;
    let owner = ShardId::new(0);
    let outputs = launch(common::config(3), move |shard: Shard<()>| async move {
        let table = Replicated::new(&shard, "topics", owner, vec![0u64]).expect("create copy");
        if shard.id() == owner {
            for version in 1..=VERSIONS {
                let published = table
                    .publish(vec![version; 3])
                    .await
                    .expect("owner publishes");
                assert_eq!(published, version);
            }
        } else {
            assert_eq!(
                table.publish(vec![]).await,
                Err(ReplicaError::NotOwner {
                    owner,
                    shard: shard.id()
                })
            );
        }
        table.wait_version(VERSIONS).await;
        let seen = (table.version(), table.get().as_ref().clone());
        if shard.id() == owner {
            // Shutdown waits for the others' futures, which return once they converged.
            shard.shutdown_handle().trigger();
        }
        Ok::<_, MailboxError>(seen)
    })
    .expect("launch");
    for seen in outputs {
        assert_eq!(seen, (VERSIONS, vec![VERSIONS; 3]));
    }
}
