use std::rc::Rc;

use super::*;
use crate::broker::clients::offsets::ConsumerOffsets;
use crate::broker::context::Saved;
use crate::broker::metadata::topics::{topic_config, TopicTable};
use crate::broker::scheduled::timer;
use crate::broker::BrokerContext;
use crate::clock::ManualClock;
use crate::config::shard_ports;
use crate::config::BrokerConfig;
use crate::storage::config::{FlushPolicy, LogConfig, StoreConfig};
use crate::storage::io::{Disk, Faults, MemDisk};
use crate::storage::store::Store;

/// Where every shard's clock stands, ms since the epoch; it never moves in these tests.
const CHANGED_AT: i64 = 1_800_000_000_000;

fn runtime(shards: usize) -> shards::Config {
    shards::Config {
        shards,
        spin_before_park: None,
        io_memory_bytes: 64 << 10,
        ring_depth: 32,
        mailbox_capacity: 64,
        handle_signals: false,
        ..shards::Config::default()
    }
}

/// What a shard saw.
struct Seen {
    orders: Option<TopicConfig>,
    auto: Option<TopicConfig>,
    refused: Option<BrokerError>,
    /// Table versions published while 48 topics were created at once (shard 1).
    publications: Option<u64>,
    /// Of the 48, how many have their one queue on this shard.
    hosted: usize,
}

const BURST: usize = 48;

/// A shard's store on the memory disk, with small segments: a default 1 GiB segment is a
/// gigabyte of zeroes per shard in memory, which took these tests 20 s in a debug build.
fn small_store(index: usize) -> StoreConfig {
    StoreConfig {
        log: LogConfig::small(FlushPolicy::Async),
        ..StoreConfig::new("/store".into(), index as u32)
    }
}

#[test]
fn a_change_from_any_shard_reaches_every_shard_and_the_file() {
    let store = tempfile::tempdir().expect("temp dir");
    let mut config = BrokerConfig {
        store_path_root_dir: store.path().to_owned(),
        embedded_namesrv: false,
        ..BrokerConfig::default()
    };
    config.finish().expect("config");
    let table = TopicTable::new(2).with_system_topics(&config, 1);
    let outputs = shards::launch(runtime(2), move |shard: BrokerShard| {
        let config = Rc::new(config.clone());
        let table = table.clone();
        async move {
            let index = shard.id().index();
            let ports = shard_ports(30000, index).expect("ports");
            let disk = Disk::Mem(MemDisk::new(index as u64, Faults::default()));
            let store_config = small_store(index);
            let store = Store::open(disk, store_config, ManualClock::new(CHANGED_AT).clock()).await;
            let store = Rc::new(store.expect("store"));
            let offsets = ConsumerOffsets::new();
            let timer_dir = config.store_path_root_dir.join(format!("timer-{index}"));
            let saved = Saved {
                delay_offsets: Default::default(),
                timers: timer::open(timer_dir).expect("timer state"),
                transaction_progress: Default::default(),
            };
            let ctx = BrokerContext::new(
                shard.clone(),
                config,
                ports,
                (table, Default::default()),
                store,
                offsets,
                saved,
            )
            .expect("ctx");
            let budget = Rc::new(crate::net::ShardBudget::new(16, 1 << 20));
            crate::dispatch::Dispatcher::new(ctx.clone(), budget, None).serve_mesh();
            let (mut refused, mut publications) = (None, None);
            if index == 1 {
                ctx.topics
                    .create(topic_config("orders", 4, 6))
                    .await
                    .expect("created");
                let auto = ctx.topics.get_or_auto_create("auto", "TBW102", 4).await;
                assert_eq!(auto.expect("auto-created").write_queue_nums, 4);
                refused = ctx.topics.get_or_auto_create("x", "orders", 4).await.err();
                let before = ctx.topics.version();
                let burst: Vec<_> = (0..BURST)
                    .map(|i| {
                        let ctx = ctx.clone();
                        let config = topic_config(&format!("burst{i}"), 1, 6);
                        glommio::spawn_local(async move { ctx.topics.create(config).await })
                    })
                    .collect();
                for created in burst {
                    created.await.expect("created");
                }
                publications = Some(ctx.topics.version() - before);
                shard.shutdown_handle().trigger();
            }
            shard.closing().await;
            let hosted = (0..BURST)
                .filter_map(|i| ctx.topics.meta(&format!("burst{i}")))
                .filter(|meta| meta.write_queue_nums > 0)
                .count();
            let seen = Seen {
                orders: ctx.topics.get("orders"),
                auto: ctx.topics.get("auto"),
                refused,
                publications,
                hosted,
            };
            Ok::<_, BrokerError>(seen)
        }
    })
    .expect("launch");
    for (shard, seen) in outputs.iter().enumerate() {
        assert_eq!(
            seen.orders.as_ref().map(|t| t.read_queue_nums),
            Some(4),
            "shard {shard}"
        );
        assert_eq!(
            seen.auto.as_ref().map(|t| t.perm),
            Some(6),
            "shard {shard}: no INHERIT"
        );
    }
    assert_eq!(
        outputs[1].refused,
        Some(BrokerError::TopicNotExist("x".into()))
    );
    // The burst's topics are on both shards, half each, and took fewer publications than
    // topics: changes that arrive together are applied together.
    assert_eq!(outputs[0].hosted + outputs[1].hosted, BURST);
    assert_eq!(outputs[0].hosted, BURST / 2, "one-queue topics take turns");
    let publications = outputs[1].publications.expect("shard 1 measured");
    assert!(
        (1..BURST as u64 / 2).contains(&publications),
        "{publications} publications for {BURST} topics"
    );
    let saved = topics::load(&topics::topics_file(store.path())).expect("file");
    let saved = &saved.wrapper;
    assert!(saved.topic_config_table.contains_key("orders"));
    assert!(saved.topic_config_table.contains_key("auto"));
    assert_eq!(
        saved.data_version.timestamp, CHANGED_AT,
        "the owner versions changes by its shard's clock"
    );
}

/// A slave's table taking its master's older version: every shard holds the master's
/// topics, and the file (snapshot and journal) reads back as them, with the changes made
/// after, though the file was written at a newer version.
#[test]
fn a_masters_older_version_is_taken_and_kept_on_disk() {
    let store = tempfile::tempdir().expect("temp dir");
    let mut config = BrokerConfig {
        store_path_root_dir: store.path().to_owned(),
        embedded_namesrv: false,
        ..BrokerConfig::default()
    };
    config.finish().expect("config");
    let mut master = TopicTable::new(2).with_system_topics(&config, 1);
    master
        .upsert(topic_config("orders", 3, 6), 2)
        .expect("room");
    // The slave's own topics took its file to a version past the master's.
    let mut table = TopicTable::new(2).with_system_topics(&config, 1);
    for i in 0..5 {
        let local = topic_config(&format!("local{i}"), 1, 6);
        table.upsert(local, 3).expect("room");
    }
    topics::save(&topics::topics_file(store.path()), &table).expect("saved");
    let copied = crate::broker::metadata::topics::CopiedTopics {
        data_version: master.data_version.clone(),
        topics: master
            .names()
            .map(|name| topics::Topic {
                config: master.get(name).expect("held").clone(),
                placement: master.placement(name).expect("held"),
            })
            .collect(),
    };
    let first = match master.placement("orders") {
        Some(crate::broker::metadata::placement::Placement::Spread { first }) => first,
        other => panic!("spread: {other:?}"),
    };
    let outputs = shards::launch(runtime(2), move |shard: BrokerShard| {
        let config = Rc::new(config.clone());
        let (table, copied) = (table.clone(), copied.clone());
        async move {
            let index = shard.id().index();
            let ports = shard_ports(30000, index).expect("ports");
            let disk = Disk::Mem(MemDisk::new(index as u64, Faults::default()));
            let store_config = small_store(index);
            let store = Store::open(disk, store_config, ManualClock::new(CHANGED_AT).clock()).await;
            let saved = Saved {
                delay_offsets: Default::default(),
                timers: timer::open(config.store_path_root_dir.join(format!("timer-{index}")))
                    .expect("timer state"),
                transaction_progress: Default::default(),
            };
            let ctx = BrokerContext::new(
                shard.clone(),
                config,
                ports,
                (table, Default::default()),
                Rc::new(store.expect("store")),
                ConsumerOffsets::new(),
                saved,
            )
            .expect("ctx");
            let budget = Rc::new(crate::net::ShardBudget::new(16, 1 << 20));
            crate::dispatch::Dispatcher::new(ctx.clone(), budget, None).serve_mesh();
            if index == 1 {
                assert!(ctx.topics.table().data_version.counter > copied.data_version.counter);
                ctx.topics.adopt(copied).await.expect("taken");
                ctx.topics
                    .create(topic_config("after", 1, 6))
                    .await
                    .expect("created");
                shard.shutdown_handle().trigger();
            }
            shard.closing().await;
            let orders = ctx.topics.meta("orders").map(|m| m.write_queue_nums);
            Ok::<_, BrokerError>((orders, ctx.topics.get("local0").is_some()))
        }
    })
    .expect("launch");
    for (shard, (orders, local)) in outputs.iter().enumerate() {
        let hosted = if shard == first { 2 } else { 1 };
        assert_eq!(
            *orders,
            Some(hosted),
            "shard {shard}: the master's placement"
        );
        assert!(!local, "shard {shard}: the slave's own topics are gone");
    }
    let saved = topics::load(&topics::topics_file(store.path())).expect("file");
    let names: Vec<&String> = saved.wrapper.topic_config_table.keys().collect();
    assert!(names.iter().any(|n| *n == "orders") && names.iter().any(|n| *n == "after"));
    assert!(!names.iter().any(|n| n.starts_with("local")), "{names:?}");
    assert_eq!(saved.shard_of_first_queue.get("orders"), Some(&first));
    assert_eq!(
        saved.wrapper.data_version.counter,
        master.data_version.counter + 1
    );
}
