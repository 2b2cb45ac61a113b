//! One connection per address, opened on first use and reopened on the first use after it
//! failed: the broker's link to each NameServer, the admin tool's links to brokers.
//!
//! Lives on one shard. Callers that ask for an address while it is connecting share that
//! attempt, success or failure, instead of opening a connection each; a caller that comes
//! after a failed attempt starts a new one. The attempt runs in a task owned by the pool's
//! entry, so a caller that gives up does not leave the others waiting on a dropped connect.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use glommio::Task;

use super::{success, ClientError, ClientOptions, Connection};
use crate::net::Latch;
use crate::wire::RemotingCommand;

/// Connections by address.
#[derive(Debug)]
pub struct Pool {
    options: ClientOptions,
    entries: RefCell<HashMap<SocketAddr, Entry>>,
}

#[derive(Debug)]
enum Entry {
    Ready(Rc<Connection>),
    Connecting {
        attempt: Rc<Attempt>,
        _task: Task<()>,
    },
}

/// One connect, awaited by every caller that asked meanwhile.
#[derive(Debug, Default)]
struct Attempt {
    done: Latch,
    outcome: RefCell<Option<Outcome>>,
}

/// A failure is kept as kind and text: one `io::Error` cannot be handed to each waiter.
type Outcome = Result<Rc<Connection>, (io::ErrorKind, String)>;

impl Pool {
    pub fn new(options: ClientOptions) -> Pool {
        Pool {
            options,
            entries: RefCell::new(HashMap::new()),
        }
    }

    /// The open connection to `addr`, connecting first if there is none or it has failed.
    pub async fn get(&self, addr: SocketAddr) -> Result<Rc<Connection>, ClientError> {
        let attempt = match self.current(addr) {
            Ok(connection) => return Ok(connection),
            Err(attempt) => attempt,
        };
        attempt.done.wait().await;
        let outcome = attempt.outcome.borrow().clone();
        match outcome {
            Some(Ok(connection)) => {
                self.promote(addr, &attempt, &connection);
                Ok(connection)
            }
            Some(Err((kind, text))) => Err(ClientError::Connect {
                addr,
                source: io::Error::new(kind, text),
            }),
            None => unreachable!("attempt signalled done without an outcome"),
        }
    }

    /// Sends `command` to `addr` over the pooled connection.
    pub async fn request(
        &self,
        addr: SocketAddr,
        command: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, ClientError> {
        self.get(addr).await?.request(command, timeout).await
    }

    /// [`Pool::request`] with the pool's default timeout, wanting SUCCESS.
    pub async fn request_ok(
        &self,
        addr: SocketAddr,
        command: RemotingCommand,
    ) -> Result<RemotingCommand, ClientError> {
        let timeout = self.options.request_timeout;
        success(self.request(addr, command, timeout).await?)
    }

    /// Forgets `addr`, closing its connection. Callers waiting on a connect to it fail
    /// with `Interrupted`.
    pub fn remove(&self, addr: SocketAddr) {
        let removed = self.entries.borrow_mut().remove(&addr);
        match removed {
            Some(Entry::Ready(connection)) => connection.close(),
            Some(Entry::Connecting { attempt, _task }) => {
                // Dropping the task cancels the connect; its waiters must still wake.
                let mut outcome = attempt.outcome.borrow_mut();
                let outcome = outcome.get_or_insert_with(|| {
                    Err((io::ErrorKind::Interrupted, "removed from the pool".into()))
                });
                if let Ok(connection) = outcome {
                    connection.close();
                }
                attempt.done.set();
            }
            None => {}
        }
    }

    /// Addresses with a connection or a connect under way.
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }

    /// An open connection, or the attempt to wait for (started here if none is usable).
    fn current(&self, addr: SocketAddr) -> Result<Rc<Connection>, Rc<Attempt>> {
        let mut entries = self.entries.borrow_mut();
        match entries.get(&addr) {
            Some(Entry::Ready(connection)) if !connection.is_closed() => {
                return Ok(connection.clone())
            }
            Some(Entry::Connecting { attempt, .. }) => {
                let outcome = attempt.outcome.borrow();
                match &*outcome {
                    None => return Err(attempt.clone()),
                    Some(Ok(connection)) if !connection.is_closed() => {
                        let connection = connection.clone();
                        drop(outcome);
                        entries.insert(addr, Entry::Ready(connection.clone()));
                        return Ok(connection);
                    }
                    // Failed, or connected and failed since: this caller tries again.
                    Some(_) => {}
                }
            }
            _ => {}
        }
        let attempt = Rc::new(Attempt::default());
        let task = glommio::spawn_local(connect(addr, self.options.clone(), attempt.clone()));
        entries.insert(
            addr,
            Entry::Connecting {
                attempt: attempt.clone(),
                _task: task,
            },
        );
        Err(attempt)
    }

    /// Replaces a finished attempt by its connection, unless a newer attempt replaced it.
    fn promote(&self, addr: SocketAddr, attempt: &Rc<Attempt>, connection: &Rc<Connection>) {
        let mut entries = self.entries.borrow_mut();
        if let Some(entry @ Entry::Connecting { .. }) = entries.get_mut(&addr) {
            if matches!(entry, Entry::Connecting { attempt: current, .. } if Rc::ptr_eq(current, attempt))
            {
                *entry = Entry::Ready(connection.clone());
            }
        }
    }
}

async fn connect(addr: SocketAddr, options: ClientOptions, attempt: Rc<Attempt>) {
    let outcome = match Connection::connect_with(addr, &options).await {
        Ok(connection) => Ok(connection),
        Err(ClientError::Connect { source, .. }) => Err((source.kind(), source.to_string())),
        Err(other) => Err((io::ErrorKind::Other, other.to_string())),
    };
    *attempt.outcome.borrow_mut() = Some(outcome);
    attempt.done.set();
}
