//! A slave takes over: a SYNC_MASTER and its SLAVE register with a NameServer of their own.
//! Every message a client's producer had acknowledged SEND_OK is on the slave, byte for byte
//! as the master stored it; after a `kill -9` of the master the route lists the slave alone,
//! a consumer of a new group reads every message from the slave with the ids the producer
//! was given, and the offsets it commits are kept there: the slave answers the end of every
//! queue to the request a next run of the group would make.

mod common;
mod interop;

use std::collections::BTreeSet;

use common::{wait_until, PATIENCE};
use interop::cluster::Produce;
use interop::replicated::{record_ids, records, Pair};
use interop::{unique, Client};

const MESSAGES: usize = 50;
/// Two shards a broker: each slave shard takes over from its master shard, a broker of its
/// own in the route (`broker-a-0`, `broker-a-1`).
const SHARDS: u16 = 2;
/// Two queues on each shard.
const QUEUES: u32 = 4;

fn slave_takes_over(client: Client) {
    client.require();
    let topic = unique("T21", client);
    let mut pair = Pair::start(
        &unique("t21", client),
        SHARDS,
        "SYNC_MASTER",
        &topic,
        QUEUES,
    );
    let queues = pair.queues(&topic);
    assert_eq!(queues.len(), QUEUES as usize, "{queues:?}");

    // Under SYNC_MASTER a send is answered SEND_OK only once the slave has stored it.
    let producer = Produce::new(&topic, &unique("pg21", client), MESSAGES);
    let report = pair.master.produce(client, &producer);
    report.assert_all_sent(MESSAGES);
    let acknowledged = report.sent_ids();
    assert_eq!(acknowledged.len(), MESSAGES, "one id per acknowledged send");

    // The slave files its copy of the log in its queues a moment after storing it.
    pair.wait_slave_caught_up(&topic, &queues);
    let on_master = records(&pair.master, &topic, &queues);
    assert_eq!(
        on_master.len(),
        MESSAGES,
        "the master stores each send once"
    );
    assert!(
        records(&pair.slave, &topic, &queues) == on_master,
        "the slave's records are the master's, byte for byte"
    );
    let stored: BTreeSet<String> = on_master.iter().flat_map(|r| record_ids(r)).collect();
    assert!(
        acknowledged.is_subset(&stored),
        "acknowledged ids {acknowledged:?} ⊄ stored {stored:?}"
    );

    pair.kill_master(&topic);
    assert!(
        records(&pair.slave, &topic, &queues) == on_master,
        "the slave keeps every record once its master is gone"
    );

    // The route names no master: the client reads from the slave by itself.
    let group = unique("cg21", client);
    let received = pair
        .slave
        .receive_all_from_first(client, &topic, &group, MESSAGES, 60);
    // As in T20: either id a client reported at send time is one the consumer sees.
    let ids = received.received_ids();
    assert!(
        acknowledged.is_subset(&ids),
        "ids read from the slave: {acknowledged:?} ⊄ {ids:?}"
    );

    // Offsets kept: the client committed them to the slave, the only broker its route
    // names, and the slave answers them to QUERY_CONSUMER_OFFSET, the request each of these
    // clients makes for a queue it starts to consume: a next run of the group starts past
    // every message.
    for &(shard, queue) in &queues {
        let end = pair.slave.max_offset(shard, &topic, queue);
        let what = format!("{group}'s offset {end} of queue {queue} on slave shard {shard}");
        wait_until(PATIENCE, &what, || {
            pair.slave.committed_offset(shard, &group, &topic, queue) == Some(end)
        });
    }
}

#[test]
fn rust_client_reads_everything_from_the_slave() {
    slave_takes_over(Client::Rust);
}

#[test]
fn node_client_reads_everything_from_the_slave() {
    slave_takes_over(Client::Node);
}

#[test]
fn python_client_reads_everything_from_the_slave() {
    slave_takes_over(Client::Python);
}
