//! What a slave shard keeps of its master beyond the log (docs/replication.md): the
//! master's addresses, as the NameServers' registration answers name them
//! ([`LearnedMaster`]), and the synchronization of the metadata and offsets ([`sync`],
//! Java's `SlaveSynchronize`). The log itself is copied by `crate::ha`, which the server
//! wires to [`LearnedMaster`].

pub mod sync;

use std::cell::Cell;
use std::net::SocketAddr;

use crate::wire::headers::RegisterBrokerResponseHeader;

/// The master of this shard's logical broker as its registrations learned it: a
/// NameServer answers a slave's REGISTER_BROKER with the address (`masterAddr`) and HA
/// address (`haServerAddr`) of the master registered under the same broker name, once that
/// master is live. Empty on a master, and on a slave until an answer names its master.
#[derive(Debug, Default)]
pub struct LearnedMaster {
    addr: Cell<Option<SocketAddr>>,
    ha_addr: Cell<Option<SocketAddr>>,
}

impl LearnedMaster {
    /// The master's main address (the port its requests are served on).
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr.get()
    }

    /// The master's HA address, which a slave without `haMasterAddress` follows.
    pub fn ha_addr(&self) -> Option<SocketAddr> {
        self.ha_addr.get()
    }

    /// Records what a registration answer says of the master. An answer that names none (a
    /// NameServer that has not heard from the master yet, or has forgotten it) changes
    /// nothing, so one NameServer behind another does not stop a slave that knows its
    /// master; a master that moved is learned from the next answer naming it. `broker`
    /// and `namesrv` only name the log lines.
    pub fn learn(&self, answer: &RegisterBrokerResponseHeader, broker: &str, namesrv: SocketAddr) {
        let learned = |field: &'static str, value: &Option<String>, cell: &Cell<_>| {
            let Some(text) = value.as_deref().filter(|text| !text.is_empty()) else {
                return;
            };
            match text.parse::<SocketAddr>() {
                Ok(addr) if cell.get() != Some(addr) => {
                    tracing::info!(broker, %namesrv, field, %addr, "the master is named");
                    cell.set(Some(addr));
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(
                    broker, %namesrv, field, value = text, %error,
                    "the NameServer names the master by an address that is not ip:port"
                ),
            }
        };
        learned("masterAddr", &answer.master_addr, &self.addr);
        learned("haServerAddr", &answer.ha_server_addr, &self.ha_addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_naming_the_master_is_kept_and_one_naming_none_changes_nothing() {
        let master = LearnedMaster::default();
        let namesrv: SocketAddr = "127.0.0.1:9876".parse().expect("addr");
        assert_eq!((master.addr(), master.ha_addr()), (None, None));
        let named = RegisterBrokerResponseHeader {
            master_addr: Some("10.0.0.1:10911".into()),
            ha_server_addr: Some("10.0.0.1:10912".into()),
        };
        master.learn(&named, "broker-a-0", namesrv);
        let expected = (
            Some("10.0.0.1:10911".parse().expect("addr")),
            Some("10.0.0.1:10912".parse().expect("addr")),
        );
        assert_eq!((master.addr(), master.ha_addr()), expected);
        for none in [None, Some(String::new()), Some("not an address".into())] {
            let answer = RegisterBrokerResponseHeader {
                master_addr: none.clone(),
                ha_server_addr: none,
            };
            master.learn(&answer, "broker-a-0", namesrv);
            assert_eq!((master.addr(), master.ha_addr()), expected);
        }
    }
}
