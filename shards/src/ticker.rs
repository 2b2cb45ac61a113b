//! A periodic tick that ends when shutdown begins: the loop every background task of a shard
//! (expiry scans, persistence, registration) runs.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Ticks every `interval` until `closing` completes.
///
/// ```no_run
/// # async fn example(closing: impl std::future::Future<Output = ()>) {
/// let mut ticker = shards::Ticker::new(std::time::Duration::from_secs(5), closing);
/// while ticker.tick().await {
///     // periodic work
/// }
/// // shutdown began: final work
/// # }
/// ```
pub struct Ticker<C> {
    interval: Duration,
    closing: Pin<Box<C>>,
    closed: bool,
}

impl<C> std::fmt::Debug for Ticker<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticker")
            .field("interval", &self.interval)
            .field("closed", &self.closed)
            .finish()
    }
}

impl<C: Future<Output = ()>> Ticker<C> {
    pub fn new(interval: Duration, closing: C) -> Self {
        Ticker {
            interval,
            closing: Box::pin(closing),
            closed: false,
        }
    }

    /// Waits one interval; false as soon as `closing` has completed (and on every call after).
    pub async fn tick(&mut self) -> bool {
        if self.closed {
            return false;
        }
        let interval = self.interval;
        let closing = self.closing.as_mut();
        let stop = async {
            closing.await;
            false
        };
        let tick = async {
            glommio::timer::sleep(interval).await;
            true
        };
        // `stop` first: when both are ready, shutdown wins.
        let ticked = futures_lite::future::or(stop, tick).await;
        self.closed = !ticked;
        ticked
    }

    /// Runs `work` unless `closing` completes first (`None` then, and on every call after):
    /// for work between ticks that must not hold up shutdown, such as a start-up read.
    pub async fn unless_closed<T>(&mut self, work: impl Future<Output = T>) -> Option<T> {
        if self.closed {
            return None;
        }
        let closing = self.closing.as_mut();
        let stop = async {
            closing.await;
            None
        };
        let done = async { Some(work.await) };
        let outcome = futures_lite::future::or(stop, done).await;
        self.closed = outcome.is_none();
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    #[test]
    fn work_runs_unless_closing_comes_first() {
        glommio::LocalExecutorBuilder::default()
            .spawn(|| async {
                let mut ticker = Ticker::new(Duration::from_secs(60), std::future::pending());
                assert_eq!(ticker.unless_closed(async { 7 }).await, Some(7));
                let mut closed = Ticker::new(Duration::from_secs(60), async {});
                let never = std::future::pending::<u8>();
                assert_eq!(closed.unless_closed(never).await, None);
                assert!(!closed.tick().await);
            })
            .expect("executor")
            .join()
            .expect("join");
    }

    #[test]
    fn ticks_until_closing_then_stays_closed() {
        glommio::LocalExecutorBuilder::default()
            .spawn(|| async {
                let done = Rc::new(Cell::new(false));
                let closing = {
                    let done = done.clone();
                    futures_lite::future::poll_fn(move |_| {
                        if done.get() {
                            std::task::Poll::Ready(())
                        } else {
                            std::task::Poll::Pending
                        }
                    })
                };
                let mut ticker = Ticker::new(Duration::from_millis(1), closing);
                let mut ticks = 0;
                while ticker.tick().await {
                    ticks += 1;
                    if ticks == 3 {
                        done.set(true);
                    }
                }
                assert_eq!(ticks, 3);
                assert!(!ticker.tick().await, "a closed ticker never ticks again");
                assert_eq!(ticker.unless_closed(async { 1 }).await, None);
            })
            .expect("executor")
            .join()
            .expect("join");
    }
}
