//! T8, clustering: two push consumers of one group split a 4-queue topic, so every message is
//! consumed exactly once and both get some; after one is killed, the survivor takes over its
//! queues and receives everything sent afterwards.

mod common;
mod interop;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use interop::cluster::{Consume, Produce, Running};
use interop::report::expected_bodies;
use interop::{unique, Client, Cluster};

const FIRST: usize = 200;
const SECOND: usize = 100;

fn clustering(client: Client) {
    client.require();
    let cluster = Cluster::start();
    let topic = unique("T8", client);
    let group = unique("cg1", client);
    cluster.create_topic(&topic, 4);

    let mut survivor = cluster.consume(client, &Consume::new(&topic, &group).for_seconds(180));
    let mut victim = cluster.consume(client, &Consume::new(&topic, &group).for_seconds(180));
    survivor.wait_started();
    victim.wait_started();
    // Both consumers must have heartbeated and rebalanced before the split is observable.
    std::thread::sleep(Duration::from_secs(10));

    let produce = Produce::new(&topic, &unique("pg8", client), FIRST);
    cluster.produce(client, &produce).assert_all_sent(FIRST);
    let total = |consumers: &[&Running]| -> usize {
        consumers
            .iter()
            .map(|c| c.snapshot().received().len())
            .sum()
    };
    wait_until(Duration::from_secs(60), || {
        total(&[&survivor, &victim]) >= FIRST
    });
    let victim = victim.kill();
    let before = survivor.snapshot();
    let mut all = before.bodies();
    all.extend(victim.bodies());
    all.sort();
    assert_eq!(
        all,
        expected_bodies("body-", 0..FIRST),
        "each message consumed exactly once"
    );
    assert!(
        !before.bodies().is_empty() && !victim.bodies().is_empty(),
        "both consumers got queues"
    );

    // The survivor rebalances (every 20 s, or at once on NOTIFY_CONSUMER_IDS_CHANGED) and
    // may see again what the victim consumed but had not committed; the later messages are
    // told apart by their tag.
    let later = Produce::new(&topic, &unique("pg8b", client), SECOND).tags("TagB");
    cluster.produce(client, &later).assert_all_sent(SECOND);
    let later_bodies = |consumer: &Running| -> BTreeSet<String> {
        let report = consumer.snapshot();
        let later = report
            .received()
            .into_iter()
            .filter(|m| m.tags.as_deref() == Some("TagB"));
        later.filter_map(|m| m.body).collect()
    };
    wait_until(Duration::from_secs(60), || {
        later_bodies(&survivor).len() >= SECOND
    });
    let survivor_bodies = later_bodies(&survivor);
    survivor.kill();
    let expected: BTreeSet<String> = expected_bodies("body-", 0..SECOND).into_iter().collect();
    assert_eq!(
        survivor_bodies, expected,
        "survivor received every later message"
    );
}

/// Polls `done` until it holds; panics after `limit`.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "not reached within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn rust_client_clustering_split_and_takeover() {
    clustering(Client::Rust);
}

#[test]
fn node_client_clustering_split_and_takeover() {
    clustering(Client::Node);
}

#[test]
fn python_client_clustering_split_and_takeover() {
    clustering(Client::Python);
}
