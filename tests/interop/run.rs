//! Runs of a real client's driver (tests/interop/README.md): what a producer run sends, what
//! a consumer run takes, and a running client process whose events are collected as it
//! prints them.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use serde_json::Value;
use shardmq::wire::signature::Credentials;

use super::cluster::log_path;
use super::report::NativeLog;
use super::{Client, Report, Role};
use crate::common::{poll_for, wait_until, PATIENCE};

/// Extra time a client gets past its own `--seconds` bound before the harness kills it.
const CLIENT_GRACE: Duration = Duration::from_secs(30);

/// What a producer run sends: message `i` has key `key-i`, body `body-i` (padded to the
/// `i mod n`-th of `body_sizes`, see [`padded_body`](super::report::padded_body)) and the
/// `i mod n`-th of the comma-separated `tags` (an empty item: no tag).
#[derive(Debug, Clone)]
pub struct Produce {
    pub topic: String,
    pub group: String,
    pub count: usize,
    /// `sync`, `async`, `oneway`, `batch` (ali-ons: `sync` and `async` only) or
    /// `transaction` (the Rust client alone).
    pub mode: &'static str,
    pub tags: String,
    pub batch_size: usize,
    /// Comma-separated body sizes in bytes; empty: every body is just `body-i`.
    pub body_sizes: String,
    /// Every message goes to the queue its order id (the same for all) selects: the Rust
    /// client's `send_with_selector`, the C++ client's `send_orderly`, ali-ons' `shardingKey`.
    /// Sync mode only: each send is acknowledged before the next starts.
    pub orderly: bool,
    /// Transaction mode: message `i`'s item, the `i mod n`-th of these comma-separated ones,
    /// is what its local transaction returns (`commit`, `rollback`, `unknown`), then after
    /// colons the answers to the broker's checks of it in turn, the last one for every later
    /// check; none: a check is answered with the local outcome. The producer prints a
    /// `checked` line per check ([`Report::checked`](super::Report::checked)) and names the
    /// message a check is about by its key, so a producer that did not send it answers as
    /// the item for its index says.
    pub outcomes: String,
    /// Transaction mode: once its sends are done the producer goes on answering the broker's
    /// checks until the test stops it ([`Running::stop`]) or `seconds` pass.
    pub serve_checks: bool,
    /// Message `i` has key `<key_prefix>i` and body `<body_prefix>i`.
    pub key_prefix: String,
    pub body_prefix: String,
    pub seconds: u64,
    /// The account the producer signs every request as (`--access-key`, `--secret-key`), for
    /// a broker that checks the plain ACL; `None`: it sends no credentials.
    pub credentials: Option<Credentials>,
}

impl Produce {
    pub fn new(topic: &str, group: &str, count: usize) -> Produce {
        Produce {
            topic: topic.into(),
            group: group.into(),
            count,
            mode: "sync",
            tags: "TagA".into(),
            batch_size: 10,
            body_sizes: String::new(),
            orderly: false,
            outcomes: String::new(),
            serve_checks: false,
            key_prefix: "key-".into(),
            body_prefix: "body-".into(),
            seconds: 60,
            credentials: None,
        }
    }

    /// Signs every request the producer sends as the account of `credentials` (every driver
    /// can: see tests/interop/README.md).
    pub fn signed_as(mut self, credentials: &Credentials) -> Produce {
        self.credentials = Some(credentials.clone());
        self
    }

    /// Sends every message with a transactional producer, each local transaction and the
    /// checks of it answered as `outcomes` says (see the field).
    pub fn transactions(mut self, outcomes: &str) -> Produce {
        self.mode = "transaction";
        self.outcomes = outcomes.into();
        self
    }

    /// A transactional producer that stays up answering checks after its sends, until the test
    /// stops it; with a count of 0 it only answers checks.
    pub fn serving_checks(mut self) -> Produce {
        self.serve_checks = true;
        self
    }

    /// Keys `<prefix>key-i` and bodies `<prefix>body-i`, told apart from the default ones.
    pub fn prefixed(mut self, prefix: &str) -> Produce {
        self.key_prefix = format!("{prefix}key-");
        self.body_prefix = format!("{prefix}body-");
        self
    }

    /// Bounds the run, or the time a producer serving checks stays up.
    pub fn for_seconds(mut self, seconds: u64) -> Produce {
        self.seconds = seconds;
        self
    }

    /// Sends every message, one after another, to the queue one order id selects.
    pub fn orderly(mut self) -> Produce {
        self.orderly = true;
        self.mode = "sync";
        self
    }

    pub fn mode(mut self, mode: &'static str) -> Produce {
        self.mode = mode;
        self
    }

    pub fn tags(mut self, tags: &str) -> Produce {
        self.tags = tags.into();
        self
    }

    pub fn batch_size(mut self, batch_size: usize) -> Produce {
        self.batch_size = batch_size;
        self
    }

    pub fn body_sizes(mut self, sizes: &[usize]) -> Produce {
        let sizes: Vec<String> = sizes.iter().map(usize::to_string).collect();
        self.body_sizes = sizes.join(",");
        self
    }
}

/// A push consumer's settings.
#[derive(Debug, Clone)]
pub struct Consume {
    pub topic: String,
    pub group: String,
    pub expr: String,
    /// `clustering` or `broadcasting`.
    pub model: &'static str,
    /// `last` (the clients' default) or `first`; ignored by the Python client.
    pub from: &'static str,
    /// Stop after this many messages; 0: run for `seconds`.
    pub count: usize,
    /// Consume each queue's messages one at a time in queue order: the Rust client's
    /// `MessageListenerOrderly`, the C++ client's orderly `PushConsumer`; ali-ons has no
    /// orderly listener and consumes with `parallelConsumeLimit: 1` instead.
    pub orderly: bool,
    pub seconds: u64,
    /// The account the consumer signs every request as, as [`Produce::credentials`].
    pub credentials: Option<Credentials>,
}

impl Consume {
    pub fn new(topic: &str, group: &str) -> Consume {
        Consume {
            topic: topic.into(),
            group: group.into(),
            expr: "*".into(),
            model: "clustering",
            from: "last",
            count: 0,
            orderly: false,
            seconds: 60,
            credentials: None,
        }
    }

    /// Signs every request the consumer sends as the account of `credentials`.
    pub fn signed_as(mut self, credentials: &Credentials) -> Consume {
        self.credentials = Some(credentials.clone());
        self
    }

    /// An orderly consumer, as the `orderly` field says.
    pub fn orderly(mut self) -> Consume {
        self.orderly = true;
        self
    }

    pub fn expr(mut self, expr: &str) -> Consume {
        self.expr = expr.into();
        self
    }

    pub fn broadcasting(mut self) -> Consume {
        self.model = "broadcasting";
        self
    }

    pub fn starting_at_first(mut self) -> Consume {
        self.from = "first";
        self
    }

    /// Ends the run after `count` messages, or fails it at `seconds`.
    pub fn until(mut self, count: usize, seconds: u64) -> Consume {
        self.count = count;
        self.seconds = seconds;
        self
    }

    /// Runs for `seconds` whatever arrives.
    pub fn for_seconds(mut self, seconds: u64) -> Consume {
        self.count = 0;
        self.seconds = seconds;
        self
    }
}

/// A client process still running; its events are collected as they are printed.
pub struct Running {
    child: Child,
    /// Open while a producer serving checks should stay up; closing it stops the producer.
    stdin: Option<ChildStdin>,
    /// Lines parsed by the reader thread, moved into `events` whenever the test looks.
    lines: Receiver<Value>,
    events: RefCell<Vec<Value>>,
    reader: Option<std::thread::JoinHandle<()>>,
    label: String,
    log: PathBuf,
    /// The C++ client's own log.
    native_log: Option<NativeLog>,
    hard_deadline: Instant,
}

impl Running {
    pub(super) fn spawn(
        client: Client,
        role: Role,
        args: Vec<String>,
        label: String,
        seconds: u64,
    ) -> Running {
        Running::spawn_with_stdin(client, role, args, label, seconds, false)
    }

    /// [`Running::spawn`]; with `keep_stdin` the client's stdin is a pipe the test holds until
    /// [`Running::stop`], for a client that runs until its stdin ends.
    pub(super) fn spawn_with_stdin(
        client: Client,
        role: Role,
        args: Vec<String>,
        label: String,
        seconds: u64,
        keep_stdin: bool,
    ) -> Running {
        let log = log_path(&format!("{}-{}", client.name(), role.script("run")));
        let mut command = client
            .command(role)
            .unwrap_or_else(|reason| panic!("{label}: {reason}"));
        let mut child = command
            .args(&args)
            .stdin(if keep_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("client log"))
            .spawn()
            .unwrap_or_else(|e| panic!("{label}: cannot start: {e}"));
        // Taken at once, long before the interpreter has loaded the native library.
        let native_log = (client == Client::Python).then(|| NativeLog::of(child.id()));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let (sink, lines) = channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({ "event": "noise", "text": line }));
                if sink.send(value).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            stdin,
            lines,
            events: RefCell::new(Vec::new()),
            reader: Some(reader),
            label,
            log,
            native_log,
            hard_deadline: Instant::now() + Duration::from_secs(seconds) + CLIENT_GRACE,
        }
    }

    /// Waits for the client's `started` event; panics with its report if it ends first.
    pub fn wait_started(&mut self) {
        let what = format!("{} started", self.label);
        wait_until(PATIENCE, &what, || {
            if self.snapshot().started() {
                return true;
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                let report = self.snapshot();
                panic!(
                    "{} ended before it started; errors: {:#?}\n{}",
                    self.label,
                    report.errors(),
                    report.log_tail()
                );
            }
            false
        });
    }

    /// The events printed so far.
    pub fn snapshot(&self) -> Report {
        self.events.borrow_mut().extend(self.lines.try_iter());
        Report {
            label: self.label.clone(),
            events: self.events.borrow().clone(),
            exit_code: None,
            log: self.log.clone(),
            native_log: self.native_log.clone(),
        }
    }

    /// Waits until `condition` holds for the events printed so far and returns them; panics,
    /// naming `what` and with the client's report, if the client ends first or past
    /// [`PATIENCE`].
    pub fn wait_for(&mut self, what: &str, mut condition: impl FnMut(&Report) -> bool) -> Report {
        let what = format!("{}: {what}", self.label);
        crate::common::wait_for(PATIENCE, &what, || {
            let ended = matches!(self.child.try_wait(), Ok(Some(_)));
            if ended {
                // Every line it printed, once the reader has reached the end of its output.
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
            }
            let report = self.snapshot();
            if condition(&report) {
                return Some(report);
            }
            assert!(
                !ended,
                "{what}: the client ended first; events: {:#?}\nerrors: {:#?}\n{}",
                report.events,
                report.errors(),
                report.log_tail()
            );
            None
        })
    }

    /// Closes the client's stdin, which ends a producer serving checks, and waits for it to
    /// end ([`Running::finish`]).
    pub fn stop(mut self) -> Report {
        drop(self.stdin.take());
        self.finish()
    }

    /// Waits for the client to end by itself (killing it past its bound plus a grace period).
    pub fn finish(mut self) -> Report {
        let bound = self.hard_deadline.saturating_duration_since(Instant::now());
        let status = poll_for(bound, || self.child.try_wait().ok().flatten());
        let exit_code = status.and_then(|status| status.code());
        if exit_code.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.collect(exit_code)
    }

    /// Kills the client with SIGKILL, as a crash would: no unregistering, no offset flush.
    pub fn kill(mut self) -> Report {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.collect(None)
    }

    fn collect(&mut self, exit_code: Option<i32>) -> Report {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let mut report = self.snapshot();
        report.exit_code = exit_code;
        report
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `--access-key`, `--secret-key`: every driver signs its requests as that account.
pub(super) fn credential_args(credentials: Option<&Credentials>) -> Vec<String> {
    let Some(credentials) = credentials else {
        return Vec::new();
    };
    vec![
        "--access-key".into(),
        credentials.access_key.clone(),
        "--secret-key".into(),
        credentials.secret_key().into(),
    ]
}

/// ` as <access key>` for a run that signs its requests, for its label.
pub(super) fn signed_label(credentials: Option<&Credentials>) -> String {
    credentials.map_or_else(String::new, |c| format!(" as {}", c.access_key))
}
