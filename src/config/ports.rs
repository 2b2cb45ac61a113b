//! The port scheme of a broker process: shard k is a logical broker on its own main port,
//! with RocketMQ's neighbours (the fast port below it, the HA port above it) left free for
//! it. docs/topology.md explains the scheme; the README's table shows the defaults.

/// Distance between the main ports of neighbouring shards.
pub const SHARD_PORT_STRIDE: u16 = 4;

/// Offset of the fast (VIP) port below a shard's main port, as in RocketMQ.
pub const FAST_PORT_OFFSET: u16 = 2;

/// Offset of the HA port above a shard's main port, as in RocketMQ.
pub const HA_PORT_OFFSET: u16 = 1;

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
