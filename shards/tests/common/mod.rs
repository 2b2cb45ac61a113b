//! Shared settings for the runtime tests: small io memory so many launches fit the host's
//! locked-memory limit, no spinning so tests do not fight each other for the two cores.

use shards::Config;

pub fn config(shards: usize) -> Config {
    Config {
        shards,
        spin_before_park: None,
        io_memory_bytes: 64 << 10,
        ring_depth: 32,
        mailbox_capacity: 64,
        handle_signals: false,
        ..Config::default()
    }
}
