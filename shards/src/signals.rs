//! SIGINT/SIGTERM → graceful shutdown, through a self-pipe.
//!
//! The handler only writes the signal number to a pipe (async-signal-safe); a plain thread
//! reads the pipe and fires the [`ShutdownHandle`]. Handlers are process-wide, so whichever
//! thread the kernel picks works, and nothing needs signal masks. Invariants: at most one
//! launch owns the handlers at a time; the pipe is created once and never closed, so a handler
//! racing with uninstall can never write into a reused descriptor; a second signal while
//! shutdown is under way exits the process at once (the operator's escape hatch).

#![allow(unsafe_code)]

use std::{
    io,
    os::fd::RawFd,
    sync::{
        atomic::{AtomicBool, AtomicI32, Ordering},
        OnceLock,
    },
    thread,
};

use crate::shutdown::{Reason, ShutdownHandle};

const SIGNALS: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];
/// Written by `Drop` to end the reader thread; no signal has number 0.
const STOP: u8 = 0;

static PIPE: OnceLock<(RawFd, RawFd)> = OnceLock::new();
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);
static OWNED: AtomicBool = AtomicBool::new(false);

/// Installed handlers; restores the previous ones when dropped.
#[derive(Debug)]
pub(crate) struct SignalGuard {
    previous: Vec<(libc::c_int, libc::sigaction)>,
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
    let (read_fd, write_fd) = pipe()?;
    let reader = thread::Builder::new()
        .name("shard-signals".to_owned())
        .spawn(move || read_signals(read_fd, &shutdown))?;
    WRITE_FD.store(write_fd, Ordering::Release);
    let mut guard = SignalGuard {
        previous: Vec::new(),
        reader: Some(reader),
    };
    for signal in SIGNALS {
        guard.previous.push((signal, set_handler(signal)?));
    }
    Ok(guard)
}

fn pipe() -> io::Result<(RawFd, RawFd)> {
    if let Some(fds) = PIPE.get() {
        return Ok(*fds);
    }
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two descriptors into the array we own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // The handler must never block, even if nobody drains the pipe.
    // SAFETY: fcntl on a descriptor we just created.
    if unsafe { libc::fcntl(fds[1], libc::F_SETFL, libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(*PIPE.get_or_init(|| (fds[0], fds[1])))
}

fn set_handler(signal: libc::c_int) -> io::Result<libc::sigaction> {
    // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value that we then fill.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: both pointers refer to live sigaction values owned by this frame.
    let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
    if unsafe { libc::sigaction(signal, &action, &mut previous) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(previous)
}

extern "C" fn on_signal(signal: libc::c_int) {
    // SAFETY: __errno_location returns this thread's errno slot; saving and restoring it
    // keeps the interrupted code's errno intact. write(2) is async-signal-safe and the
    // descriptor is the never-closed, non-blocking pipe.
    unsafe {
        let errno = *libc::__errno_location();
        let fd = WRITE_FD.load(Ordering::Acquire);
        if fd >= 0 {
            let byte = signal as u8;
            libc::write(fd, (&byte as *const u8).cast(), 1);
        }
        *libc::__errno_location() = errno;
    }
}

fn read_signals(read_fd: RawFd, shutdown: &ShutdownHandle) {
    loop {
        let mut byte = 0u8;
        // SAFETY: reads one byte into a local buffer from the pipe this module owns.
        let n = unsafe { libc::read(read_fd, (&mut byte as *mut u8).cast(), 1) };
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 || byte == STOP {
            return;
        }
        let signal = i32::from(byte);
        if shutdown.is_triggered() {
            tracing::warn!(signal, "second signal during shutdown: exiting now");
            std::process::exit(128 + signal);
        }
        shutdown.fire(Reason::Signal(signal));
    }
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        for (signal, previous) in self.previous.drain(..) {
            // SAFETY: restores the action saved by `set_handler` for the same signal.
            unsafe { libc::sigaction(signal, &previous, std::ptr::null_mut()) };
        }
        WRITE_FD.store(-1, Ordering::Release);
        if let Some((_, write_fd)) = PIPE.get() {
            // SAFETY: one byte from a local into the never-closed pipe.
            unsafe { libc::write(*write_fd, (&STOP as *const u8).cast(), 1) };
        }
        if let Some(reader) = self.reader.take() {
            if reader.join().is_err() {
                tracing::error!("signal reader thread panicked");
            }
        }
        OWNED.store(false, Ordering::Release);
    }
}
