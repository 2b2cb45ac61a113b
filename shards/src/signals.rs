//! SIGINT/SIGTERM → graceful shutdown, through signal-hook.
//!
//! signal-hook's handler only records the signal and wakes a pipe (async-signal-safe); a plain
//! thread takes the recorded signals and fires the [`ShutdownHandle`]. Handlers are
//! process-wide, so whichever thread the kernel picks works, and nothing needs signal masks.
//! Invariants: at most one launch owns the handlers at a time; a second signal while shutdown
//! is under way exits the process at once (the operator's escape hatch); while no launch owns
//! them, the signals do what they did before the first launch and end the process.

use std::{
    io,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, OnceLock,
    },
    thread,
};

use signal_hook::{
    consts::{SIGINT, SIGTERM},
    flag,
    iterator::{Handle, Signals},
};

use crate::shutdown::{Reason, ShutdownHandle};

const SIGNALS: [i32; 2] = [SIGINT, SIGTERM];

static OWNED: AtomicBool = AtomicBool::new(false);
/// signal-hook never takes its handler out again, and a handler with no actions left would
/// swallow the signal; this flag makes it act as the default action (ending the process)
/// whenever no launch owns the signals.
static UNOWNED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Installed handlers; gives the signals back their default action when dropped.
#[derive(Debug)]
pub(crate) struct SignalGuard {
    handle: Handle,
    reader: Option<thread::JoinHandle<()>>,
}

/// Installs the handlers, or returns `None` when another launch in this process owns them.
pub(crate) fn install(shutdown: ShutdownHandle) -> io::Result<Option<SignalGuard>> {
    if OWNED.swap(true, Ordering::AcqRel) {
        tracing::debug!("signal handlers already owned by another launch");
        return Ok(None);
    }
    let result = install_owned(shutdown);
    if result.is_err() {
        OWNED.store(false, Ordering::Release);
    }
    result.map(Some)
}

fn install_owned(shutdown: ShutdownHandle) -> io::Result<SignalGuard> {
    let unowned = default_when_unowned()?;
    let mut signals = Signals::new(SIGNALS)?;
    let handle = signals.handle();
    unowned.store(false, Ordering::SeqCst);
    let spawned = thread::Builder::new()
        .name("shard-signals".to_owned())
        .spawn(move || {
            for signal in signals.forever() {
                on_signal(signal, &shutdown);
            }
        });
    match spawned {
        Ok(reader) => Ok(SignalGuard {
            handle,
            reader: Some(reader),
        }),
        Err(err) => {
            unowned.store(true, Ordering::SeqCst);
            Err(err)
        }
    }
}

/// Registers, once per process, the default action that runs while [`UNOWNED`] is set.
fn default_when_unowned() -> io::Result<&'static Arc<AtomicBool>> {
    if let Some(unowned) = UNOWNED.get() {
        return Ok(unowned);
    }
    let unowned = Arc::new(AtomicBool::new(true));
    for signal in SIGNALS {
        flag::register_conditional_default(signal, Arc::clone(&unowned))?;
    }
    Ok(UNOWNED.get_or_init(|| unowned))
}

fn on_signal(signal: i32, shutdown: &ShutdownHandle) {
    if shutdown.is_triggered() {
        tracing::warn!(signal, "second signal during shutdown: exiting now");
        std::process::exit(128 + signal);
    }
    shutdown.fire(Reason::Signal(signal));
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        // The default action comes back before the reader stops, as restoring the previous
        // handlers did, so no signal falls between the two and goes unanswered.
        if let Some(unowned) = UNOWNED.get() {
            unowned.store(true, Ordering::SeqCst);
        }
        self.handle.close();
        if let Some(reader) = self.reader.take() {
            if reader.join().is_err() {
                tracing::error!("signal reader thread panicked");
            }
        }
        OWNED.store(false, Ordering::Release);
    }
}
