//! The shard handle: identity, mailboxes, serving, gate and task queues of one shard.
//!
//! Owns everything a running shard has: its [`Core`] (the non-generic runtime state:
//! gate, task queues, replicated values, shutdown barrier) and its [`Mailbox`], plus the
//! reader tasks that drain its incoming links. Lives on the shard's thread only (`!Send`).
//! Invariants: incoming messages from one peer are taken in order by one reader; at most
//! `serve_concurrency` handlers run at once; a shard stops reading only after every shard
//! has drained its gate, so in-flight work never loses a peer to a graceful shutdown.

use std::{
    cell::{Cell, RefCell},
    fmt,
    future::Future,
    pin::Pin,
    rc::Rc,
};

use futures_lite::future;
use glommio::{
    channels::shared_channel::ConnectedReceiver, sync::Semaphore, Latency, Shares, Task,
    TaskQueueHandle,
};

use crate::{
    config::Config,
    mailbox::{Mailbox, MailboxError},
    mesh::{Control, Inbound, Links, Reply},
    notify::{Event, Notify},
    replicated::Registry,
    shutdown::{Gate, ShutdownHandle},
    ShardId,
};

type Handler<M, R> = Rc<dyn Fn(ShardId, M) -> Pin<Box<dyn Future<Output = R>>>>;

/// The foreground (requests) and background (flush, reput, replication) task queues.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Queues {
    pub(crate) foreground: TaskQueueHandle,
    pub(crate) background: TaskQueueHandle,
}

impl Queues {
    /// Both queues are `Latency::NotImportant`: glommio 0.9 can park an executor that still
    /// has runnable tasks when its preemption timer fires just before the scheduler loop
    /// (seen here as both shards asleep mid-request), and a short latency goal arms that timer
    /// every millisecond. Shares alone divide the CPU between the queues.
    pub(crate) fn create(config: &Config) -> Self {
        let executor = glommio::executor();
        Queues {
            foreground: executor.create_task_queue(
                Shares::Static(config.foreground_shares),
                Latency::NotImportant,
                "foreground",
            ),
            background: executor.create_task_queue(
                Shares::Static(config.background_shares),
                Latency::NotImportant,
                "background",
            ),
        }
    }
}

/// Runtime state of a shard that does not depend on the message types.
pub(crate) struct Core {
    pub(crate) id: ShardId,
    pub(crate) count: usize,
    pub(crate) gate: Gate,
    pub(crate) shutdown: ShutdownHandle,
    pub(crate) queues: Queues,
    pub(crate) replicas: Registry,
    /// Per peer: it has drained its gate (or stopped). The shutdown barrier waits for all.
    drained: Vec<Cell<bool>>,
    drained_changed: Notify,
}

impl Core {
    pub(crate) fn new(id: ShardId, count: usize, shutdown: ShutdownHandle, queues: Queues) -> Self {
        Core {
            id,
            count,
            gate: Gate::default(),
            shutdown,
            queues,
            replicas: Registry::default(),
            drained: (0..count).map(|_| Cell::new(false)).collect(),
            drained_changed: Notify::default(),
        }
    }

    pub(crate) fn mark_drained(&self, peer: ShardId) {
        if let Some(flag) = self.drained.get(peer.index()) {
            flag.set(true);
            self.drained_changed.notify_all();
        }
    }

    async fn all_peers_drained(&self) {
        loop {
            let waiting = self
                .drained
                .iter()
                .enumerate()
                .any(|(i, done)| i != self.id.index() && !done.get());
            if !waiting {
                return;
            }
            self.drained_changed.notified().await;
        }
    }
}

/// Sending runtime messages without knowing the application's message types.
pub(crate) trait ControlLink {
    fn core(&self) -> &Core;
    fn send_control(
        &self,
        to: ShardId,
        control: Control,
    ) -> Pin<Box<dyn Future<Output = Result<(), MailboxError>> + '_>>;
}

/// Handle to the current shard. Cheap to clone; stays on the shard's thread.
///
/// `M` is the message type of the mailboxes, `R` the reply type of requests.
pub struct Shard<M: Send + 'static, R: Send + 'static = M> {
    inner: Rc<ShardInner<M, R>>,
}

impl<M: Send + 'static, R: Send + 'static> Clone for Shard<M, R> {
    fn clone(&self) -> Self {
        Shard {
            inner: self.inner.clone(),
        }
    }
}

impl<M: Send + 'static, R: Send + 'static> fmt::Debug for Shard<M, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shard")
            .field("id", &self.inner.core.id)
            .field("count", &self.inner.core.count)
            .finish_non_exhaustive()
    }
}

pub(crate) struct ShardInner<M: Send + 'static, R: Send + 'static> {
    core: Core,
    mailbox: Mailbox<M, R>,
    handler: RefCell<Option<Handler<M, R>>>,
    handler_set: Event,
    permits: Rc<Semaphore>,
    serve_concurrency: u64,
    readers: RefCell<Vec<Task<()>>>,
}

impl<M: Send + 'static, R: Send + 'static> Shard<M, R> {
    /// Wires a connected shard and starts reading its incoming links.
    ///
    /// `deaths[k]` fires when shard `k`'s thread ends abnormally; its links may then never
    /// close (a panicking executor does not drop its tasks), so this is how peers learn of it.
    pub(crate) fn start(
        core: Core,
        links: Links<M, R>,
        config: &Config,
        deaths: &[ShutdownHandle],
    ) -> Self {
        let Links {
            request_tx,
            request_rx,
            reply_tx,
            reply_rx,
        } = links;
        let inner = Rc::new(ShardInner {
            mailbox: Mailbox::new(core.id, request_tx, reply_tx),
            core,
            handler: RefCell::new(None),
            handler_set: Event::default(),
            permits: Rc::new(Semaphore::new(config.serve_concurrency as u64)),
            serve_concurrency: config.serve_concurrency as u64,
            readers: RefCell::new(Vec::new()),
        });
        inner.start_readers(request_rx, reply_rx);
        inner.watch_deaths(deaths);
        Shard { inner }
    }

    /// This shard's id.
    pub fn id(&self) -> ShardId {
        self.inner.core.id
    }

    /// Number of shards in this launch.
    pub fn count(&self) -> usize {
        self.inner.core.count
    }

    /// Every other shard, in id order.
    pub fn peers(&self) -> impl Iterator<Item = ShardId> {
        let me = self.id();
        (0..self.count())
            .map(ShardId::new)
            .filter(move |&id| id != me)
    }

    /// Sends `msg` to shard `to` and waits for the reply of its handler.
    ///
    /// Waits while `to`'s mailbox is full (backpressure). Fails with `Stopped` if `to` stops
    /// before answering. A request to this shard itself runs the handler in place.
    pub async fn request(&self, to: ShardId, msg: M) -> Result<R, MailboxError> {
        if to == self.id() {
            return self.inner.handle_locally(msg).await;
        }
        let reply = self.inner.mailbox.send_request(to, msg).await?;
        reply.await
    }

    /// Sends `msg` to shard `to` without waiting for it to be handled.
    pub async fn tell(&self, to: ShardId, msg: M) -> Result<(), MailboxError> {
        if to == self.id() {
            let inner = self.inner.clone();
            let me = self.id();
            self.spawn_foreground(async move { inner.dispatch(me, None, msg).await })
                .detach();
            return Ok(());
        }
        self.inner.mailbox.send_tell(to, msg).await
    }

    /// Tells `msg` to every other shard; tries all of them and returns the first failure.
    pub async fn broadcast(&self, msg: M) -> Result<(), MailboxError>
    where
        M: Clone,
    {
        let mut first_error = None;
        for peer in self.peers() {
            if let Err(error) = self.inner.mailbox.send_tell(peer, msg.clone()).await {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Requests `msg` from every shard, this one included, and returns the replies in shard
    /// order. The requests are all sent before any reply is awaited.
    pub async fn gather(&self, msg: M) -> Vec<(ShardId, Result<R, MailboxError>)>
    where
        M: Clone,
    {
        let mut waits = Vec::with_capacity(self.count());
        for peer in self.peers() {
            waits.push((
                peer,
                self.inner.mailbox.send_request(peer, msg.clone()).await,
            ));
        }
        let local = self.inner.handle_locally(msg).await;
        let mut replies = Vec::with_capacity(self.count());
        replies.push((self.id(), local));
        for (peer, wait) in waits {
            let outcome = match wait {
                Ok(reply) => reply.await,
                Err(error) => Err(error),
            };
            replies.push((peer, outcome));
        }
        replies.sort_by_key(|(shard, _)| *shard);
        replies
    }

    /// Installs the handler of incoming requests and tells (replacing any earlier one).
    ///
    /// Each message runs as its own foreground task; its output is the reply. Until a handler
    /// is installed, messages wait in the mailboxes.
    pub fn serve<H, Fut>(&self, handler: H)
    where
        H: Fn(ShardId, M) -> Fut + 'static,
        Fut: Future<Output = R> + 'static,
    {
        let handler: Handler<M, R> = Rc::new(move |from, msg| Box::pin(handler(from, msg)));
        self.inner.handler.replace(Some(handler));
        self.inner.handler_set.set();
    }

    /// The gate of this shard: take a [`crate::Pass`] for work that shutdown must wait for.
    pub fn gate(&self) -> &Gate {
        &self.inner.core.gate
    }

    /// Resolves when shutdown begins (the same as `gate().closing()`).
    pub fn closing(&self) -> impl Future<Output = ()> + 'static {
        self.inner.core.gate.closing()
    }

    /// Whether shutdown has begun.
    pub fn is_closing(&self) -> bool {
        self.inner.core.gate.is_closing()
    }

    /// A handle that starts shutdown of every shard of this launch.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.inner.core.shutdown.clone()
    }

    /// Spawns `future` on the foreground (latency-sensitive) queue.
    pub fn spawn_foreground<T: 'static>(
        &self,
        future: impl Future<Output = T> + 'static,
    ) -> Task<T> {
        spawn_into(future, self.inner.core.queues.foreground)
    }

    /// Spawns `future` on the background (throughput) queue.
    pub fn spawn_background<T: 'static>(
        &self,
        future: impl Future<Output = T> + 'static,
    ) -> Task<T> {
        spawn_into(future, self.inner.core.queues.background)
    }

    /// The foreground and background task queues, for `glommio::spawn_local_into` or stats.
    pub fn task_queues(&self) -> (TaskQueueHandle, TaskQueueHandle) {
        let queues = self.inner.core.queues;
        (queues.foreground, queues.background)
    }

    pub(crate) fn control_link(&self) -> Rc<dyn ControlLink> {
        self.inner.clone()
    }

    pub(crate) fn core(&self) -> &Core {
        &self.inner.core
    }

    /// The end of a shard's life, after its gate has drained.
    pub(crate) async fn finish(&self) {
        self.inner.barrier().await;
        self.inner.stop().await;
    }
}

fn spawn_into<T: 'static>(
    future: impl Future<Output = T> + 'static,
    queue: TaskQueueHandle,
) -> Task<T> {
    // The queues are created with the shard and never removed, so this cannot fail.
    glommio::spawn_local_into(future, queue)
        .expect("the shard's task queues exist for its lifetime")
}

impl<M: Send + 'static, R: Send + 'static> ShardInner<M, R> {
    fn start_readers(
        self: &Rc<Self>,
        request_rx: Vec<Option<ConnectedReceiver<Inbound<M>>>>,
        reply_rx: Vec<Option<ConnectedReceiver<Reply<R>>>>,
    ) {
        let mut readers = self.readers.borrow_mut();
        let foreground = self.core.queues.foreground;
        for (peer, rx) in request_rx.into_iter().enumerate() {
            if let Some(rx) = rx {
                readers.push(spawn_into(
                    self.clone().read_requests(ShardId::new(peer), rx),
                    foreground,
                ));
            }
        }
        for (peer, rx) in reply_rx.into_iter().enumerate() {
            if let Some(rx) = rx {
                readers.push(spawn_into(
                    self.clone().read_replies(ShardId::new(peer), rx),
                    foreground,
                ));
            }
        }
    }

    fn watch_deaths(self: &Rc<Self>, deaths: &[ShutdownHandle]) {
        let mut readers = self.readers.borrow_mut();
        for (peer, death) in deaths.iter().enumerate() {
            let peer = ShardId::new(peer);
            if peer == self.core.id {
                continue;
            }
            let this = self.clone();
            let died = death.triggered();
            readers.push(spawn_into(
                async move {
                    died.await;
                    tracing::warn!(shard = %this.core.id, %peer, "peer died");
                    this.mailbox.peer_stopped(peer);
                    this.core.mark_drained(peer);
                },
                self.core.queues.foreground,
            ));
        }
    }

    async fn read_requests(self: Rc<Self>, from: ShardId, rx: ConnectedReceiver<Inbound<M>>) {
        while let Some(inbound) = rx.recv().await {
            match inbound {
                Inbound::Control(control) => control(&self.core),
                Inbound::Request { id, msg } => self.dispatch(from, Some(id), msg).await,
                Inbound::Tell(msg) => self.dispatch(from, None, msg).await,
            }
        }
    }

    async fn read_replies(self: Rc<Self>, from: ShardId, rx: ConnectedReceiver<Reply<R>>) {
        while let Some(reply) = rx.recv().await {
            self.mailbox.complete(reply.id, reply.outcome);
        }
        // The peer closed its reply link: it has stopped (or died).
        tracing::debug!(shard = %self.core.id, peer = %from, "peer stopped");
        self.mailbox.peer_stopped(from);
        self.core.mark_drained(from);
    }

    /// Runs the handler for one incoming message as its own task, within the serve limit.
    async fn dispatch(self: &Rc<Self>, from: ShardId, id: Option<u64>, msg: M) {
        let Some(handler) = self.handler_or_closing().await else {
            if let Some(id) = id {
                let refusal = Err(MailboxError::NotServing {
                    shard: self.core.id,
                });
                self.mailbox.send_reply(from, id, refusal).await;
            }
            return;
        };
        // Waiting here stops this reader, so a busy shard pushes back on its senders.
        let Ok(permit) = self.permits.acquire_static_permit(1).await else {
            return;
        };
        let this = self.clone();
        let task = async move {
            let value = handler(from, msg).await;
            if let Some(id) = id {
                this.mailbox.send_reply(from, id, Ok(value)).await;
            }
            drop(permit);
        };
        // Detached on purpose: `stop` waits for every permit, so no handler outlives the shard.
        spawn_into(task, self.core.queues.foreground).detach();
    }

    async fn handle_locally(&self, msg: M) -> Result<R, MailboxError> {
        match self.handler_or_closing().await {
            Some(handler) => Ok(handler(self.core.id, msg).await),
            None => Err(MailboxError::NotServing {
                shard: self.core.id,
            }),
        }
    }

    /// The installed handler; waits for `serve` unless the shard is already closing.
    async fn handler_or_closing(&self) -> Option<Handler<M, R>> {
        loop {
            if let Some(handler) = self.handler.borrow().clone() {
                return Some(handler);
            }
            if self.core.gate.is_closing() {
                return None;
            }
            future::or(self.handler_set.wait(), self.core.gate.closing()).await;
        }
    }

    /// Tells every peer this shard has drained, then waits until every peer has too.
    async fn barrier(&self) {
        let me = self.core.id;
        for peer in (0..self.core.count).map(ShardId::new).filter(|&p| p != me) {
            let drained: Control = Box::new(move |core: &Core| core.mark_drained(me));
            // A peer that has stopped needs no notice; its reply reader already marked it.
            let _ = self.mailbox.send_control(peer, drained).await;
        }
        self.core.all_peers_drained().await;
    }

    /// Stops reading, lets running handlers reply, then closes every link.
    async fn stop(&self) {
        let readers = std::mem::take(&mut *self.readers.borrow_mut());
        for reader in readers {
            reader.cancel().await;
        }
        if self.permits.acquire(self.serve_concurrency).await.is_err() {
            tracing::warn!(shard = %self.core.id, "serve permits closed before stop");
        }
        self.permits.close();
        self.mailbox.close();
        // Drop the handler: it may hold clones of this shard and would keep it alive.
        self.handler.replace(None);
    }
}

impl<M: Send + 'static, R: Send + 'static> ControlLink for ShardInner<M, R> {
    fn core(&self) -> &Core {
        &self.core
    }

    fn send_control(
        &self,
        to: ShardId,
        control: Control,
    ) -> Pin<Box<dyn Future<Output = Result<(), MailboxError>> + '_>> {
        Box::pin(self.mailbox.send_control(to, control))
    }
}
