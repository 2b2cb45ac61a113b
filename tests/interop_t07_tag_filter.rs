//! T7, tag filtering: with messages tagged TagA, TagB, TagC and one untagged, a consumer
//! subscribed to `TagA || TagC` receives only the TagA and TagC messages, and a `*` consumer of
//! another group receives all four.

mod common;
mod interop;

use interop::cluster::{Consume, Produce};
use interop::{unique, Client, Cluster};

fn tag_filter(client: Client) {
    client.require();
    let cluster = Cluster::start();
    let topic = unique("T7", client);
    cluster.create_topic(&topic, 4);

    // Each runs past the moment the filtered-out messages would have arrived.
    let mut filtered = cluster.consume(
        client,
        &Consume::new(&topic, &unique("cg_tag", client))
            .expr("TagA || TagC")
            .for_seconds(25),
    );
    let mut everything = cluster.consume(
        client,
        &Consume::new(&topic, &unique("cg_all", client)).until(4, 60),
    );
    filtered.wait_started();
    everything.wait_started();

    let produce = Produce::new(&topic, &unique("pg7", client), 4).tags("TagA,TagB,TagC,");
    cluster.produce(client, &produce).assert_all_sent(4);

    let everything = everything.finish();
    everything.assert_ok();
    assert_eq!(
        everything.bodies(),
        ["body-0", "body-1", "body-2", "body-3"]
    );
    let filtered = filtered.finish();
    filtered.assert_ok();
    assert_eq!(
        filtered.bodies(),
        ["body-0", "body-2"],
        "only TagA and TagC: {:#?}",
        filtered.received()
    );
}

#[test]
fn rust_client_tag_filter() {
    tag_filter(Client::Rust);
}

#[test]
fn node_client_tag_filter() {
    tag_filter(Client::Node);
}

#[test]
fn python_client_tag_filter() {
    tag_filter(Client::Python);
}
