//! Requests the broker sends a client and waits for: GET_CONSUMER_RUNNING_INFO and
//! CONSUME_MESSAGE_DIRECTLY, forwarded from an admin to the consumer it names.
//!
//! A call goes out on the client's connection with that connection's next opaque; the
//! connection hands every response it reads to [`ClientCalls::answered`], which wakes the
//! caller waiting for that `(connection, opaque)`. A call ends with the response, at its
//! timeout, or as soon as the connection closes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use glommio::channels::local_channel::{self, LocalSender};

use super::registry::ClientChannel;
use crate::wire::RemotingCommand;

/// Why a call to a client has no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallFailed {
    /// No answer within the timeout.
    Timeout,
    /// The connection closed before the answer came.
    Closed,
}

/// The calls of one shard waiting for their clients' answers.
#[derive(Debug, Default)]
pub struct ClientCalls {
    waiting: RefCell<HashMap<(u64, i32), LocalSender<RemotingCommand>>>,
}

impl ClientCalls {
    /// Sends `request` to `channel` and waits up to `timeout` for its response.
    pub async fn call(
        &self,
        channel: &Rc<dyn ClientChannel>,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, CallFailed> {
        request.opaque = channel.next_opaque();
        let key = (channel.id(), request.opaque);
        let (answer, answered) = local_channel::new_bounded(1);
        self.waiting.borrow_mut().insert(key, answer);
        if !channel.send(&request) {
            self.waiting.borrow_mut().remove(&key);
            return Err(CallFailed::Closed);
        }
        let response = async { answered.recv().await.ok_or(CallFailed::Closed) };
        let expiry = async {
            glommio::timer::sleep(timeout).await;
            Err(CallFailed::Timeout)
        };
        let result = futures_lite::future::or(response, expiry).await;
        self.waiting.borrow_mut().remove(&key);
        result
    }

    /// A response read on connection `channel_id`; false when no call waits for it.
    pub fn answered(&self, channel_id: u64, response: RemotingCommand) -> bool {
        let waiting = self
            .waiting
            .borrow_mut()
            .remove(&(channel_id, response.opaque));
        match waiting {
            Some(answer) => answer.try_send(response).is_ok(),
            None => false,
        }
    }

    /// Connection `channel_id` closed: its calls end now.
    pub fn disconnected(&self, channel_id: u64) {
        self.waiting
            .borrow_mut()
            .retain(|(channel, _), _| *channel != channel_id);
    }
}
