use std::rc::Rc;

use super::*;
use crate::broker::clients::offsets::ConsumerOffsets;
use crate::broker::metadata::topics::{topic_config, TopicTable};
use crate::broker::scheduled::{timer, Saved};
use crate::broker::BrokerContext;
use crate::clock::ManualClock;
use crate::config::shard_ports;
use crate::config::BrokerConfig;
use crate::storage::config::StoreConfig;
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

/// What a shard saw: (orders, auto-created, refused auto-create).
type Seen = (
    Option<TopicConfig>,
    Option<TopicConfig>,
    Option<BrokerError>,
);

#[test]
fn a_change_from_any_shard_reaches_every_shard_and_the_file() {
    let store = tempfile::tempdir().expect("temp dir");
    let mut config = BrokerConfig {
        store_path_root_dir: store.path().to_owned(),
        embedded_namesrv: false,
        ..BrokerConfig::default()
    };
    config.finish().expect("config");
    let table = TopicTable::default().with_system_topics(&config, 1);
    let outputs = shards::launch(runtime(2), move |shard: BrokerShard| {
        let config = Rc::new(config.clone());
        let table = table.clone();
        async move {
            let index = shard.id().index();
            let ports = shard_ports(30000, index).expect("ports");
            let disk = Disk::Mem(MemDisk::new(index as u64, Faults::default()));
            let store_config = StoreConfig::new("/store".into(), index as u32);
            let store = Store::open(disk, store_config, ManualClock::new(CHANGED_AT).clock()).await;
            let store = Rc::new(store.expect("store"));
            let offsets = ConsumerOffsets::new();
            let timer_dir = config.store_path_root_dir.join(format!("timer-{index}"));
            let saved = Saved {
                delay_offsets: Default::default(),
                timers: timer::open(timer_dir).expect("timer state"),
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
            crate::dispatch::Dispatcher::new(ctx.clone(), budget).serve_mesh();
            let mut refused = None;
            if index == 1 {
                ctx.topics
                    .create(topic_config("orders", 4, 6))
                    .await
                    .expect("created");
                let auto = ctx.topics.get_or_auto_create("auto", "TBW102", 4).await;
                assert_eq!(auto.expect("auto-created").write_queue_nums, 4);
                refused = ctx.topics.get_or_auto_create("x", "orders", 4).await.err();
                shard.shutdown_handle().trigger();
            }
            shard.closing().await;
            let seen: Seen = (ctx.topics.get("orders"), ctx.topics.get("auto"), refused);
            Ok::<_, BrokerError>(seen)
        }
    })
    .expect("launch");
    for (shard, (orders, auto, _)) in outputs.iter().enumerate() {
        assert_eq!(
            orders.as_ref().map(|t| t.read_queue_nums),
            Some(4),
            "shard {shard}"
        );
        assert_eq!(
            auto.as_ref().map(|t| t.perm),
            Some(6),
            "shard {shard}: no INHERIT"
        );
    }
    assert_eq!(outputs[1].2, Some(BrokerError::TopicNotExist("x".into())));
    let saved = topics::load(&topics::topics_file(store.path())).expect("file");
    let saved = &saved.wrapper;
    assert!(saved.topic_config_table.contains_key("orders"));
    assert!(saved.topic_config_table.contains_key("auto"));
    assert_eq!(
        saved.data_version.timestamp, CHANGED_AT,
        "the owner versions changes by its shard's clock"
    );
}
