//! Where a topic's queues live (docs/topology.md, "Queues are placed, not copied").
//!
//! A topic with W write and R read queues has W and R queues in all, whatever the shard
//! count. Queue `g` of the topic (`0 ≤ g < max(W, R)`, numbered over the whole process) lives
//! on shard `(first + g) mod shards`, where it is that shard's queue `g / shards`. So:
//!
//! - each queue is on exactly one shard, and a shard's queue ids are `0..n` as clients
//!   assume of a broker;
//! - a shard's share is a count (its write and read queues are prefixes of its ids), derived
//!   in O(1) from `(W, R, first, shards)`: nothing per queue is stored, only `first`;
//! - growing a topic appends queues and shrinking drops the last ones, so the queues that
//!   stay never move (a queue's shard and id depend on `g` alone);
//! - a topic with fewer queues than shards uses that many shards, starting at `first`, which
//!   is chosen at creation as the shard hosting the fewest queues, so small topics spread.
//!
//! System topics (the auto-creation template, the delay levels' topic, the cluster topic, …)
//! are [`Placement::EveryShard`]: each shard is a broker with its own copy, as each Java
//! broker of a cluster has. Pure values; the topic table stores one per topic.

use crate::wire::body::TopicConfig;

/// How a topic's queues are laid over the shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Every shard hosts all of the topic's queues (system topics).
    EveryShard,
    /// Queue `g` lives on shard `(first + g) mod shards` as its queue `g / shards`.
    Spread { first: usize },
}

/// One shard's part of a topic: it hosts write queues `0..write` and read queues `0..read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Share {
    pub write: i32,
    pub read: i32,
}

impl Placement {
    /// What `shard` (of `shards`) hosts of a topic configured as `config`.
    pub fn share(self, config: &TopicConfig, shard: usize, shards: usize) -> Share {
        match self {
            Placement::EveryShard => Share {
                write: config.write_queue_nums,
                read: config.read_queue_nums,
            },
            Placement::Spread { first } => Share {
                write: count_on(config.write_queue_nums, first, shard, shards),
                read: count_on(config.read_queue_nums, first, shard, shards),
            },
        }
    }

    /// The shard that hosts the topic's queue `queue` (numbered over the process), or `None`
    /// for a topic every shard hosts.
    pub fn shard_of(self, queue: u32, shards: usize) -> Option<usize> {
        match self {
            Placement::EveryShard => None,
            Placement::Spread { first } => Some((first + queue as usize) % shards.max(1)),
        }
    }
}

/// How many of a topic's first `total` queues land on `shard`.
fn count_on(total: i32, first: usize, shard: usize, shards: usize) -> i32 {
    let (Ok(total), Some(shards)) = (usize::try_from(total), std::num::NonZeroUsize::new(shards))
    else {
        return 0;
    };
    let shards = shards.get();
    // The shard's first queue is number `offset`; it then gets every `shards`-th one.
    let offset = (shard % shards + shards - first % shards) % shards;
    let count = total / shards + usize::from(offset < total % shards);
    i32::try_from(count).unwrap_or(i32::MAX)
}

/// Where a new topic starts: the shard hosting the fewest queues now (`loads[k]` is shard
/// `k`'s count), the lowest index among equals.
pub fn least_loaded(loads: &[u64]) -> usize {
    loads
        .iter()
        .enumerate()
        .min_by_key(|&(shard, load)| (*load, shard))
        .map_or(0, |(shard, _)| shard)
}

/// Adds a topic's queues to `loads` (one entry per shard).
pub fn add_load(loads: &mut [u64], placement: Placement, config: &TopicConfig) {
    let shares = queues_per_shard(loads.len(), placement, config);
    for (load, queues) in loads.iter_mut().zip(shares) {
        *load += queues;
    }
}

/// Takes a topic's queues out of `loads`, as [`add_load`] put them in.
pub fn remove_load(loads: &mut [u64], placement: Placement, config: &TopicConfig) {
    let shares = queues_per_shard(loads.len(), placement, config);
    for (load, queues) in loads.iter_mut().zip(shares) {
        *load = load.saturating_sub(queues);
    }
}

/// How many queues of a topic each of `shards` shards hosts, counting only spread topics
/// (a topic on every shard weighs on all alike).
fn queues_per_shard(
    shards: usize,
    placement: Placement,
    config: &TopicConfig,
) -> impl Iterator<Item = u64> {
    let queues = config.write_queue_nums.max(config.read_queue_nums);
    (0..shards).map(move |shard| match placement {
        Placement::EveryShard => 0,
        Placement::Spread { first } => {
            u64::try_from(count_on(queues, first, shard, shards)).unwrap_or(0)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn config(write: i32, read: i32) -> TopicConfig {
        TopicConfig {
            write_queue_nums: write,
            read_queue_nums: read,
            ..TopicConfig::default()
        }
    }

    fn shares(placement: Placement, write: i32, read: i32, shards: usize) -> Vec<Share> {
        let config = config(write, read);
        (0..shards)
            .map(|shard| placement.share(&config, shard, shards))
            .collect()
    }

    #[test]
    fn a_small_topic_uses_as_many_shards_as_it_has_queues() {
        let one = shares(Placement::Spread { first: 1 }, 1, 1, 4);
        let counts: Vec<i32> = one.iter().map(|s| s.write).collect();
        assert_eq!(counts, [0, 1, 0, 0]);
        let three = shares(Placement::Spread { first: 3 }, 3, 3, 4);
        let counts: Vec<i32> = three.iter().map(|s| s.write).collect();
        assert_eq!(counts, [1, 1, 0, 1]);
        let eight = shares(Placement::Spread { first: 0 }, 8, 8, 2);
        assert!(eight.iter().all(|s| s.write == 4 && s.read == 4));
    }

    #[test]
    fn every_shard_topics_are_whole_on_each_shard() {
        let all = shares(Placement::EveryShard, 8, 4, 3);
        assert!(all.iter().all(|s| *s == Share { write: 8, read: 4 }));
        assert_eq!(Placement::EveryShard.shard_of(3, 3), None);
    }

    #[test]
    fn load_goes_to_the_emptiest_shard() {
        assert_eq!(least_loaded(&[3, 1, 1]), 1);
        assert_eq!(least_loaded(&[0, 0]), 0);
        let mut loads = vec![0; 3];
        add_load(&mut loads, Placement::Spread { first: 2 }, &config(4, 2));
        assert_eq!(loads, [1, 1, 2]);
        add_load(&mut loads, Placement::EveryShard, &config(8, 8));
        assert_eq!(loads, [1, 1, 2]);
        remove_load(&mut loads, Placement::Spread { first: 2 }, &config(4, 2));
        assert_eq!(loads, [0, 0, 0]);
    }

    proptest! {
        /// Every queue is on exactly one shard, where its id is below that shard's count;
        /// the shares add up to the topic's counts; growing keeps existing queues in place.
        #[test]
        fn queues_are_placed_once_and_stay(
            shards in 1usize..9,
            first in 0usize..9,
            write in 0i32..70,
            read in 0i32..70,
            grow in 0i32..20,
        ) {
            let first = first % shards;
            let placement = Placement::Spread { first };
            let before = shares(placement, write, read, shards);
            prop_assert_eq!(before.iter().map(|s| s.write).sum::<i32>(), write);
            prop_assert_eq!(before.iter().map(|s| s.read).sum::<i32>(), read);
            let mut next_id = vec![0i32; shards];
            for g in 0..write.max(read) as u32 {
                let shard = placement.shard_of(g, shards).expect("spread");
                // Queue g is its shard's next id: ids are dense and in order of g.
                prop_assert_eq!(g as usize / shards, next_id[shard] as usize);
                next_id[shard] += 1;
            }
            let after = shares(placement, write + grow, read + grow, shards);
            for (old, new) in before.iter().zip(&after) {
                prop_assert!(new.write >= old.write && new.read >= old.read);
            }
            let spread = before.iter().map(|s| s.write);
            let (min, max) = (spread.clone().min().unwrap_or(0), spread.max().unwrap_or(0));
            prop_assert!(max - min <= 1, "even within one queue");
        }
    }
}
