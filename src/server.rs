//! The broker process: one logical broker per shard, each on its own ports.
//!
//! # Port scheme
//!
//! Shard `k` listens on `listenPort + 4k` (its main port) and on `main − 2` (RocketMQ's "fast"
//! or VIP port, served by the same handlers); `main + 1` stays free for its HA port. With the
//! default `listenPort` 10911 and two shards: shard 0 uses 10909/10911(/10912), shard 1 uses
//! 10913/10915(/10916). Every shard registers its main port with the NameServer as its own
//! broker, so stock clients send each queue's traffic straight to the core that owns it.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

use crate::dispatch::Dispatcher;
use crate::net::{self, Server};

/// Distance between the main ports of neighbouring shards.
pub const SHARD_PORT_STRIDE: u16 = 4;

/// Offset of the fast (VIP) port below a shard's main port, as in RocketMQ.
pub const FAST_PORT_OFFSET: u16 = 2;

/// Offset of the HA port above a shard's main port, as in RocketMQ.
pub const HA_PORT_OFFSET: u16 = 1;

/// What a broker process is started with.
#[derive(Debug, Clone)]
pub struct BrokerOptions {
    pub listen_addr: IpAddr,
    pub listen_port: u16,
    pub runtime: shards::Config,
}

/// The ports of one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardPorts {
    pub main: u16,
    pub fast: u16,
    pub ha: u16,
}

/// The ports shard `shard` uses; `None` when they fall outside 1..=65535.
pub fn shard_ports(listen_port: u16, shard: usize) -> Option<ShardPorts> {
    let main = u32::from(listen_port) + u32::from(SHARD_PORT_STRIDE) * u32::try_from(shard).ok()?;
    let fast = main
        .checked_sub(u32::from(FAST_PORT_OFFSET))
        .filter(|&p| p > 0)?;
    let ha = main + u32::from(HA_PORT_OFFSET);
    Some(ShardPorts {
        main: u16::try_from(main).ok()?,
        fast: u16::try_from(fast).ok()?,
        ha: u16::try_from(ha).ok()?,
    })
}

/// Why the broker could not start or stopped with an error.
#[derive(Debug)]
pub enum BrokerError {
    Ports { listen_port: u16, shards: usize },
    Bind { addr: SocketAddr, error: io::Error },
    Runtime(String),
}

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerError::Ports { listen_port, shards } => write!(
                f,
                "listenPort {listen_port} with {shards} shards needs ports {}..{}, outside 1..=65535",
                i64::from(*listen_port) - i64::from(FAST_PORT_OFFSET),
                i64::from(*listen_port)
                    + i64::from(SHARD_PORT_STRIDE) * (*shards as i64 - 1)
                    + i64::from(HA_PORT_OFFSET)
            ),
            BrokerError::Bind { addr, error } => write!(f, "cannot listen on {addr}: {error}"),
            BrokerError::Runtime(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for BrokerError {}

/// Runs the broker until SIGINT/SIGTERM, then shuts it down gracefully.
pub fn run_broker(options: BrokerOptions) -> Result<(), BrokerError> {
    let shards = options.runtime.shards;
    if (0..shards).any(|k| shard_ports(options.listen_port, k).is_none()) {
        return Err(BrokerError::Ports {
            listen_port: options.listen_port,
            shards,
        });
    }
    let listen_addr = options.listen_addr;
    let listen_port = options.listen_port;
    let result = shards::launch(options.runtime, move |shard: shards::Shard<(), ()>| {
        run_shard(shard, listen_addr, listen_port)
    });
    result
        .map(drop)
        .map_err(|error| BrokerError::Runtime(error.to_string()))
}

async fn run_shard(
    shard: shards::Shard<(), ()>,
    listen_addr: IpAddr,
    listen_port: u16,
) -> Result<(), BrokerError> {
    let index = shard.id().index();
    let ports = shard_ports(listen_port, index).ok_or(BrokerError::Ports {
        listen_port,
        shards: shard.count(),
    })?;
    // Held until every connection has drained, so the runtime waits for them.
    let pass = shard
        .gate()
        .enter()
        .map_err(|_| BrokerError::Runtime("shutting down".into()))?;
    let server = Server::new(Rc::new(Dispatcher::new()));
    for port in [ports.main, ports.fast] {
        let addr = SocketAddr::new(listen_addr, port);
        let listener = net::bind(addr).map_err(|error| BrokerError::Bind { addr, error })?;
        shard
            .spawn_foreground(server.clone().run(listener))
            .detach();
        tracing::info!(shard = index, %addr, "listening");
    }
    shard.closing().await;
    tracing::info!(
        shard = index,
        connections = server.connection_count(),
        "shutting down"
    );
    server.shutdown().await;
    drop(pass);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_follow_the_documented_scheme() {
        assert_eq!(
            shard_ports(10911, 0),
            Some(ShardPorts {
                main: 10911,
                fast: 10909,
                ha: 10912
            })
        );
        assert_eq!(
            shard_ports(10911, 1),
            Some(ShardPorts {
                main: 10915,
                fast: 10913,
                ha: 10916
            })
        );
    }

    #[test]
    fn ports_out_of_range_are_refused() {
        assert_eq!(shard_ports(1, 0), None);
        assert_eq!(shard_ports(65535, 0), None);
        assert!(shard_ports(65534, 0).is_some());
        assert_eq!(shard_ports(65530, 2), None);
        assert!(shard_ports(65530, 0).is_some());
    }
}
