//! Typed, bounded mailboxes of one shard: sending requests and matching their replies.
//!
//! Owns the shard's sending ends of the mesh and the table of requests waiting for a reply.
//! Lives on one shard (`Rc`/`RefCell`). Invariants: every waiting request is completed exactly
//! once, by its reply, by the target shard stopping, or by this shard stopping; a request
//! future that is dropped removes its entry, so a late reply is discarded; sends never wait
//! forever on a shard that has stopped.

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll, Waker},
};

use futures_lite::future;
use glommio::{channels::shared_channel::ConnectedSender, GlommioError, ResourceType};

use crate::{
    mesh::{Control, Inbound, Reply},
    notify::Event,
    ShardId,
};

/// Why a message could not be delivered or answered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailboxError {
    /// No shard with this id in this launch.
    UnknownShard { shard: ShardId, count: usize },
    /// The shard has stopped (or this shard is stopping) before the message was answered.
    Stopped { shard: ShardId },
    /// The shard was shutting down and never installed a handler with `serve`.
    NotServing { shard: ShardId },
}

impl fmt::Display for MailboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailboxError::UnknownShard { shard, count } => {
                write!(
                    f,
                    "{shard} does not exist (this process runs {count} shards)"
                )
            }
            MailboxError::Stopped { shard } => write!(f, "{shard} has stopped"),
            MailboxError::NotServing { shard } => {
                write!(f, "{shard} shut down without serving requests")
            }
        }
    }
}

impl std::error::Error for MailboxError {}

enum Pending<R> {
    Waiting { to: ShardId, waker: Option<Waker> },
    Done(Result<R, MailboxError>),
}

/// The sending half of one shard's mesh plus its table of waiting requests.
pub(crate) struct Mailbox<M: Send, R: Send> {
    me: ShardId,
    request_tx: Vec<Option<ConnectedSender<Inbound<M>>>>,
    reply_tx: Vec<Option<ConnectedSender<Reply<R>>>>,
    /// Per peer: set once the peer's reply link has closed, i.e. the peer has stopped.
    stopped: Vec<Event>,
    pending: RefCell<HashMap<u64, Pending<R>>>,
    next_id: Cell<u64>,
}

impl<M: Send + 'static, R: Send + 'static> Mailbox<M, R> {
    pub(crate) fn new(
        me: ShardId,
        request_tx: Vec<Option<ConnectedSender<Inbound<M>>>>,
        reply_tx: Vec<Option<ConnectedSender<Reply<R>>>>,
    ) -> Self {
        let stopped = (0..request_tx.len()).map(|_| Event::default()).collect();
        Mailbox {
            me,
            request_tx,
            reply_tx,
            stopped,
            pending: RefCell::new(HashMap::new()),
            next_id: Cell::new(0),
        }
    }

    /// Checks that `to` names another shard of this launch.
    pub(crate) fn peer(&self, to: ShardId) -> Result<usize, MailboxError> {
        let count = self.request_tx.len();
        if to.index() >= count {
            return Err(MailboxError::UnknownShard { shard: to, count });
        }
        Ok(to.index())
    }

    /// Queues a request and returns the future of its reply. Waits while the link is full.
    pub(crate) async fn send_request(
        &self,
        to: ShardId,
        msg: M,
    ) -> Result<ReplyWait<'_, R>, MailboxError> {
        let peer = self.peer(to)?;
        let id = self.next_id.get();
        self.next_id.set(id.wrapping_add(1));
        self.pending
            .borrow_mut()
            .insert(id, Pending::Waiting { to, waker: None });
        // Created before sending so that dropping this future mid-send removes the entry.
        let wait = ReplyWait {
            pending: &self.pending,
            id,
        };
        self.push(peer, Inbound::Request { id, msg }).await?;
        Ok(wait)
    }

    pub(crate) async fn send_tell(&self, to: ShardId, msg: M) -> Result<(), MailboxError> {
        let peer = self.peer(to)?;
        self.push(peer, Inbound::Tell(msg)).await
    }

    pub(crate) async fn send_control(
        &self,
        to: ShardId,
        control: Control,
    ) -> Result<(), MailboxError> {
        let peer = self.peer(to)?;
        self.push(peer, Inbound::Control(control)).await
    }

    /// Answers request `id` of shard `to`; a reply to a stopped shard is dropped.
    pub(crate) async fn send_reply(&self, to: ShardId, id: u64, outcome: Result<R, MailboxError>) {
        let Some(Some(link)) = self.reply_tx.get(to.index()) else {
            return;
        };
        if push(link, Reply { id, outcome }, &self.stopped[to.index()])
            .await
            .is_err()
        {
            tracing::debug!(%to, "reply dropped: the requesting shard has stopped");
        }
    }

    async fn push(&self, peer: usize, inbound: Inbound<M>) -> Result<(), MailboxError> {
        let stopped = MailboxError::Stopped {
            shard: ShardId::new(peer),
        };
        let Some(link) = &self.request_tx[peer] else {
            // Only this shard's own index has no link; callers route local work elsewhere.
            return Err(stopped);
        };
        if self.stopped[peer].is_set() {
            return Err(stopped);
        }
        push(link, inbound, &self.stopped[peer])
            .await
            .map_err(|()| stopped)
    }

    /// Completes a waiting request with the reply that arrived for it.
    pub(crate) fn complete(&self, id: u64, outcome: Result<R, MailboxError>) {
        let mut pending = self.pending.borrow_mut();
        // Absent means the caller gave up (dropped its future): the reply is discarded.
        if let Some(entry) = pending.get_mut(&id) {
            if let Pending::Waiting { waker, .. } = std::mem::replace(entry, Pending::Done(outcome))
            {
                drop(pending);
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
        }
    }

    /// Marks `peer` stopped and fails every request still waiting on it.
    pub(crate) fn peer_stopped(&self, peer: ShardId) {
        self.stopped[peer.index()].set();
        self.fail_waiting(|to| to == peer, |to| MailboxError::Stopped { shard: to });
    }

    /// This shard is stopping: close every link and fail what still waits.
    pub(crate) fn close(&self) {
        for link in self.request_tx.iter().flatten() {
            link.close();
        }
        for link in self.reply_tx.iter().flatten() {
            link.close();
        }
        let me = self.me;
        self.fail_waiting(|_| true, |_| MailboxError::Stopped { shard: me });
    }

    fn fail_waiting(
        &self,
        select: impl Fn(ShardId) -> bool,
        error: impl Fn(ShardId) -> MailboxError,
    ) {
        let mut wakers = Vec::new();
        for entry in self.pending.borrow_mut().values_mut() {
            let Pending::Waiting { to, waker } = entry else {
                continue;
            };
            if select(*to) {
                let to = *to;
                wakers.extend(waker.take());
                *entry = Pending::Done(Err(error(to)));
            }
        }
        for waker in wakers {
            waker.wake();
        }
    }
}

/// Sends on one link: at once if there is room, else waits for room or for the peer to stop.
///
/// glommio's `send` never returns when the consumer goes away while the link is full (it is
/// woken but finds no room), so the wait races the peer's `stopped` event.
async fn push<T: Send>(link: &ConnectedSender<T>, item: T, stopped: &Event) -> Result<(), ()> {
    match link.try_send(item) {
        Ok(()) => Ok(()),
        Err(GlommioError::WouldBlock(ResourceType::Channel(item))) => {
            let send = async { link.send(item).await.map_err(drop) };
            let give_up = async {
                stopped.wait().await;
                Err(())
            };
            future::or(send, give_up).await
        }
        Err(_) => Err(()),
    }
}

/// The reply of one request; dropping it abandons the request.
pub(crate) struct ReplyWait<'a, R> {
    pending: &'a RefCell<HashMap<u64, Pending<R>>>,
    id: u64,
}

impl<R> Future for ReplyWait<'_, R> {
    type Output = Result<R, MailboxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut pending = self.pending.borrow_mut();
        match pending.get_mut(&self.id) {
            Some(Pending::Waiting { waker, .. }) => {
                match waker {
                    Some(old) if old.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            Some(Pending::Done(_)) => match pending.remove(&self.id) {
                Some(Pending::Done(outcome)) => Poll::Ready(outcome),
                _ => unreachable!("entry checked as done under the same borrow"),
            },
            None => panic!("reply {} polled after completion", self.id),
        }
    }
}

impl<R> Drop for ReplyWait<'_, R> {
    fn drop(&mut self) {
        self.pending.borrow_mut().remove(&self.id);
    }
}
