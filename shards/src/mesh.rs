//! The full mesh of bounded links between shards, and what travels on it.
//!
//! Every ordered pair of shards (i → j, i ≠ j) gets two bounded SPSC channels from glommio's
//! `shared_channel` (the primitive under `channel_mesh`): one for requests and one for
//! replies. Replies have their own links so that a shard whose request links are full can
//! always drain the replies its own callers wait for; with one link per direction, two shards
//! saturating each other could deadlock.
//!
//! The mesh is built on the launching thread and handed out per shard, so link `k` of shard
//! `i` is always shard `k`'s. (`channel_mesh` orders peers by executor id instead, and shares
//! an `Rc` between threads while joining.)

use std::future::Future;

use glommio::channels::shared_channel::{
    self, ConnectedReceiver, ConnectedSender, SharedReceiver, SharedSender,
};

use crate::mailbox::MailboxError;

/// Work for the shard-local runtime itself (replicated values, shutdown barrier). Type-erased so
/// that it shares the request links with the application's messages of type `M`.
pub(crate) type Control = Box<dyn FnOnce(&crate::shard::Core) + Send>;

/// What travels on a request link.
pub(crate) enum Inbound<M> {
    Request { id: u64, msg: M },
    Tell(M),
    Control(Control),
}

/// What travels on a reply link.
pub(crate) struct Reply<R> {
    pub(crate) id: u64,
    pub(crate) outcome: Result<R, MailboxError>,
}

/// One shard's unconnected ends of the mesh, indexed by peer shard (`None` at its own index).
pub(crate) struct MeshEnds<M: Send, R: Send> {
    request_tx: Vec<Option<SharedSender<Inbound<M>>>>,
    request_rx: Vec<Option<SharedReceiver<Inbound<M>>>>,
    reply_tx: Vec<Option<SharedSender<Reply<R>>>>,
    reply_rx: Vec<Option<SharedReceiver<Reply<R>>>>,
}

/// One shard's connected ends, indexed by peer shard.
pub(crate) struct Links<M: Send, R: Send> {
    pub(crate) request_tx: Vec<Option<ConnectedSender<Inbound<M>>>>,
    pub(crate) request_rx: Vec<Option<ConnectedReceiver<Inbound<M>>>>,
    pub(crate) reply_tx: Vec<Option<ConnectedSender<Reply<R>>>>,
    pub(crate) reply_rx: Vec<Option<ConnectedReceiver<Reply<R>>>>,
}

/// Builds the ends of every shard; element `i` goes to shard `i`'s thread.
pub(crate) fn build<M: Send + 'static, R: Send + 'static>(
    shards: usize,
    capacity: usize,
) -> Vec<MeshEnds<M, R>> {
    let (request_tx, request_rx) = matrix(shards, capacity);
    let (reply_tx, reply_rx) = matrix(shards, capacity);
    request_tx
        .into_iter()
        .zip(request_rx)
        .zip(reply_tx.into_iter().zip(reply_rx))
        .map(
            |((request_tx, request_rx), (reply_tx, reply_rx))| MeshEnds {
                request_tx,
                request_rx,
                reply_tx,
                reply_rx,
            },
        )
        .collect()
}

type Row<T> = Vec<Option<T>>;
/// Row `i` holds shard `i`'s ends, indexed by peer.
type Matrix<T> = Vec<Row<T>>;

/// `tx[i][j]` sends from i to j and pairs with `rx[j][i]`, which receives at j from i.
fn matrix<T: Send>(
    shards: usize,
    capacity: usize,
) -> (Matrix<SharedSender<T>>, Matrix<SharedReceiver<T>>) {
    let mut tx: Matrix<SharedSender<T>> = (0..shards).map(|_| empty_row(shards)).collect();
    let mut rx: Matrix<SharedReceiver<T>> = (0..shards).map(|_| empty_row(shards)).collect();
    for from in 0..shards {
        for to in (0..shards).filter(|&to| to != from) {
            let (sender, receiver) = shared_channel::new_bounded(capacity);
            tx[from][to] = Some(sender);
            rx[to][from] = Some(receiver);
        }
    }
    (tx, rx)
}

fn empty_row<T>(shards: usize) -> Row<T> {
    (0..shards).map(|_| None).collect()
}

impl<M: Send + 'static, R: Send + 'static> MeshEnds<M, R> {
    /// Connects every end on the current executor. Each connect waits for its peer, so all are
    /// started as tasks before any is awaited: awaiting them one by one could deadlock two
    /// shards that each wait on the link the other has not connected yet.
    pub(crate) async fn connect(self) -> Links<M, R> {
        let request_tx = spawn_row(self.request_tx, SharedSender::connect);
        let request_rx = spawn_row(self.request_rx, SharedReceiver::connect);
        let reply_tx = spawn_row(self.reply_tx, SharedSender::connect);
        let reply_rx = spawn_row(self.reply_rx, SharedReceiver::connect);
        Links {
            request_tx: join_row(request_tx).await,
            request_rx: join_row(request_rx).await,
            reply_tx: join_row(reply_tx).await,
            reply_rx: join_row(reply_rx).await,
        }
    }
}

fn spawn_row<E, F, Fut>(row: Row<E>, connect: F) -> Row<glommio::Task<Fut::Output>>
where
    F: Fn(E) -> Fut,
    Fut: Future + 'static,
    Fut::Output: 'static,
{
    row.into_iter()
        .map(|end| end.map(|end| glommio::spawn_local(connect(end))))
        .collect()
}

async fn join_row<T>(row: Row<glommio::Task<T>>) -> Row<T> {
    let mut connected = Vec::with_capacity(row.len());
    for task in row {
        connected.push(match task {
            Some(task) => Some(task.await),
            None => None,
        });
    }
    connected
}
