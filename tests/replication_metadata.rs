//! A slave keeps its master's metadata and offsets in step (docs/replication.md, "What else
//! the slave copies"), between two processes of two shards each: topics created only on the
//! master, placed over the shards as the master placed them, become the slave's, and pulls
//! there find the master's messages at the same offsets; subscription groups, consumer
//! offsets and delay cursors follow; a topic deleted on the master leaves the slave.

mod common;

use std::net::TcpStream;

use common::{
    code_of, create_group, create_topic, json_body, properties, pull, request, send_v2, wait_for,
    wait_max_offset, wait_route, wait_until, Broker, GET_ALL_TOPIC_CONFIG, PATIENCE, PULL_FOUND,
    SUCCESS, TOPIC_NOT_EXIST, UPDATE_CONSUMER_OFFSET,
};
use serde_json::{json, Value};

const QUERY_CONSUMER_OFFSET: i32 = 14;
const GET_ALL_DELAY_OFFSET: i32 = 45;
const GET_ALL_SUBSCRIPTIONGROUP_CONFIG: i32 = 201;

/// Three queues over two shards: two on one, one on the other.
const THREE: &str = "ThreeQueues";
const ONE: &str = "OneQueue";
const DOOMED: &str = "Doomed";
const LATER: &str = "CreatedLater";
const GROUP: &str = "readers";

/// A broker started as the slave of `master` (with its NameServer, and `haMasterAddress`).
fn start_slave(master: &Broker) -> Broker {
    let args = common::slave_args(master.listen_port, master.namesrv_port, true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Broker::start(2, &args)
}

/// GET_ALL_TOPIC_CONFIG of the shard behind `conn`.
fn topic_configs(conn: &mut TcpStream) -> Value {
    let (header, body) = request(conn, GET_ALL_TOPIC_CONFIG, json!({}));
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    json_body(&body)
}

/// The (write, read) queues the shard answering `all` hosts of `topic`; `None` when it
/// lists the topic not at all.
fn share(all: &Value, topic: &str) -> Option<(i64, i64)> {
    let config = all["topicConfigTable"].get(topic)?;
    let count = |key: &str| config[key].as_i64().expect("a count");
    Some((count("writeQueueNums"), count("readQueueNums")))
}

/// The consumer offset the shard behind `conn` stores for `GROUP` on (`topic`, `queue`).
fn stored_offset(conn: &mut TcpStream, topic: &str, queue: i32) -> Option<i64> {
    let fields = json!({"consumerGroup": GROUP, "topic": topic, "queueId": queue,
                        "setZeroIfNotFound": "false"});
    let (header, _) = request(conn, QUERY_CONSUMER_OFFSET, fields);
    (code_of(&header) == SUCCESS).then(|| {
        let offset = header["extFields"]["offset"].as_str().expect("offset");
        offset.parse().expect("a number")
    })
}

fn commit(conn: &mut TcpStream, topic: &str, queue: i32, offset: i64) {
    let fields = json!({"consumerGroup": GROUP, "topic": topic, "queueId": queue,
                        "commitOffset": offset});
    let (header, _) = request(conn, UPDATE_CONSUMER_OFFSET, fields);
    assert_eq!(code_of(&header), SUCCESS, "{header}");
}

/// The delay cursor of `level` on the shard behind `conn`.
fn delay_cursor(conn: &mut TcpStream, level: u32) -> i64 {
    let (header, body) = request(conn, GET_ALL_DELAY_OFFSET, json!({}));
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    json_body(&body)["offsetTable"][level.to_string()]
        .as_i64()
        .expect("a cursor")
}

/// Every record of (`topic`, `queue`) below `count`, as pull answers carry them.
fn records(conn: &mut TcpStream, topic: &str, queue: i32, count: u64) -> Vec<u8> {
    let (mut out, mut offset) = (Vec::new(), 0);
    while offset < count {
        let (header, body) = pull(conn, topic, queue, offset);
        assert_eq!(code_of(&header), PULL_FOUND, "{header}");
        let next: u64 = header["extFields"]["nextBeginOffset"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .expect("nextBeginOffset");
        assert!(next > offset, "{header}");
        offset = next;
        out.extend_from_slice(&body);
    }
    out
}

/// The shard of `broker` hosting `topic`'s queues (of a one-queue topic).
fn host_of(broker: &Broker, topic: &str) -> u16 {
    (0..2)
        .find(|&shard| share(&topic_configs(&mut broker.connect(shard)), topic).is_some())
        .expect("a shard hosts it")
}

#[test]
fn a_slave_takes_its_masters_topics_groups_and_offsets() {
    let master = Broker::start(2, &[]);
    let mut conn = master.connect(0);
    for (topic, queues) in [(THREE, 3), (ONE, 1), (DOOMED, 2)] {
        assert_eq!(code_of(&create_topic(&mut conn, topic, queues)), SUCCESS);
    }
    create_group(&mut conn, GROUP);
    drop(conn);
    // Messages in every queue of THREE, on the shard hosting it; an offset committed in
    // each shard's first queue.
    let mut sent = Vec::new();
    for shard in 0..2 {
        let mut conn = master.connect(shard);
        let (writes, _) = share(&topic_configs(&mut conn), THREE).expect("both shards host some");
        for queue in 0..writes as i32 {
            for n in 0..3 {
                let body = format!("message {n} of queue {queue} on shard {shard}");
                let header = send_v2(&mut conn, THREE, queue, body.as_bytes(), "");
                assert_eq!(code_of(&header), SUCCESS, "{header}");
            }
            sent.push((shard, queue));
        }
        commit(&mut conn, THREE, 0, 2 + i64::from(shard));
    }
    assert_eq!(sent.len(), 3, "three queues in all");
    // A delayed message, delivered on the master: its level's cursor moves there.
    let delayed_on = host_of(&master, ONE);
    let mut conn = master.connect(delayed_on);
    let delayed = properties(&[("DELAY", "1")]);
    assert_eq!(
        code_of(&send_v2(&mut conn, ONE, 0, b"later", &delayed)),
        SUCCESS
    );
    wait_until(PATIENCE, "the master delivers the delayed message", || {
        delay_cursor(&mut conn, 1) == 1
    });
    drop(conn);
    // The master has registered both shards, so the slave's first registrations name it.
    wait_route(master.namesrv_addr(), THREE, 2);

    let slave = start_slave(&master);
    // The topics, with each shard's share and the master's table version.
    for shard in 0..2 {
        let on_master = topic_configs(&mut master.connect(shard));
        let mut on_slave = slave.connect(shard);
        let all = wait_for(PATIENCE, &format!("shard {shard} takes the topics"), || {
            let all = topic_configs(&mut on_slave);
            share(&all, THREE).is_some().then_some(all)
        });
        for topic in [THREE, ONE, DOOMED] {
            assert_eq!(
                share(&all, topic),
                share(&on_master, topic),
                "{topic} on {shard}"
            );
        }
        assert_eq!(
            all["dataVersion"], on_master["dataVersion"],
            "shard {shard}"
        );
        assert_eq!(
            all["shardOfFirstQueue"], on_master["shardOfFirstQueue"],
            "shard {shard}"
        );
    }
    // Pulls on the slave find the master's records at the same offsets.
    for &(shard, queue) in &sent {
        let mut on_slave = slave.connect(shard);
        wait_max_offset(&mut on_slave, THREE, queue, 3);
        assert_eq!(
            records(&mut on_slave, THREE, queue, 3),
            records(&mut master.connect(shard), THREE, queue, 3),
            "queue {queue} of shard {shard}"
        );
    }
    // The group, on every shard, and each shard's offsets and delay cursors.
    for shard in 0..2 {
        let mut on_slave = slave.connect(shard);
        wait_until(PATIENCE, &format!("shard {shard} takes the group"), || {
            let (header, body) =
                request(&mut on_slave, GET_ALL_SUBSCRIPTIONGROUP_CONFIG, json!({}));
            assert_eq!(code_of(&header), SUCCESS, "{header}");
            json_body(&body)["subscriptionGroupTable"]
                .get(GROUP)
                .is_some()
        });
        wait_until(
            PATIENCE,
            &format!("shard {shard} takes the offsets"),
            || stored_offset(&mut on_slave, THREE, 0) == Some(2 + i64::from(shard)),
        );
    }
    let mut on_slave = slave.connect(delayed_on);
    wait_until(PATIENCE, "the slave takes the delay cursor", || {
        delay_cursor(&mut on_slave, 1) == 1
    });

    // Changes made on the master after the slave started reach it at a later round.
    let mut conn = master.connect(0);
    let (header, _) = request(&mut conn, 215, json!({ "topic": DOOMED }));
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    assert_eq!(code_of(&create_topic(&mut conn, LATER, 1)), SUCCESS);
    drop(conn);
    let mut conn = master.connect(1);
    commit(&mut conn, THREE, 0, 3);
    let later_on = host_of(&master, LATER);
    for shard in 0..2 {
        let mut on_slave = slave.connect(shard);
        let what = format!("shard {shard} drops {DOOMED} and takes {LATER}");
        wait_until(PATIENCE, &what, || {
            let all = topic_configs(&mut on_slave);
            share(&all, DOOMED).is_none() && share(&all, LATER).is_some() == (shard == later_on)
        });
        let (header, _) = pull(&mut on_slave, DOOMED, 0, 0);
        assert_eq!(code_of(&header), TOPIC_NOT_EXIST, "{header}");
    }
    let mut on_slave = slave.connect(1);
    wait_until(PATIENCE, "shard 1 takes the new offset", || {
        stored_offset(&mut on_slave, THREE, 0) == Some(3)
    });
}
