//! T8, clustering: two push consumers of one group split a 4-queue topic, so every message is
//! consumed exactly once and both get some; after one is killed, the survivor takes over its
//! queues and receives everything sent afterwards.

mod common;
mod interop;

use std::collections::BTreeSet;

use common::{wait_until, PATIENCE};

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

    // One consumer first, until it pulls every queue (and the retry queue, for most clients).
    let mut survivor = cluster.consume(client, &Consume::new(&topic, &group).for_seconds(180));
    survivor.wait_started();
    let alone = cluster.wait_parked_pulls(4);
    // Then the second: once the broker lists it, it has told the first, and once two more
    // pulls are parked, the second pulls its half. The Rust and C++ clients rebalance as soon
    // as they are told; ali-ons only on its timer, so its consumers report the queues they
    // hold, and the split must show there. Only then is the split what the messages see.
    let mut victim = cluster.consume(client, &Consume::new(&topic, &group).for_seconds(180));
    victim.wait_started();
    cluster.wait_consumers(&group, 2);
    cluster.wait_parked_pulls(alone + 2);
    wait_until(PATIENCE, "the queues split", || {
        match (survivor.snapshot().queues(), victim.snapshot().queues()) {
            (Some(a), Some(b)) => a.is_disjoint(&b) && a.len() + b.len() == 4,
            (None, None) => true,
            _ => false,
        }
    });

    let produce = Produce::new(&topic, &unique("pg8", client), FIRST);
    cluster.produce(client, &produce).assert_all_sent(FIRST);
    let total = |consumers: &[&Running]| -> usize {
        consumers
            .iter()
            .map(|c| c.snapshot().received().len())
            .sum()
    };
    wait_until(PATIENCE, "every message received", || {
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
    wait_until(PATIENCE, "every later message received", || {
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
