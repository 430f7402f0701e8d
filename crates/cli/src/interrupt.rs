//! Ctrl-C and `kill`: while frames are being encoded, the first SIGINT or
//! SIGTERM asks the encode loop to stop at the next frame boundary and finish
//! the output with the frames encoded so far; the process then exits with
//! 128 + the signal number (130 for SIGINT). A second signal, or one that comes
//! while no frames are being encoded (nothing to save yet), terminates at once
//! as without a handler.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// The signal received, or 0.
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// Whether the encode loop is running, so that a signal is better deferred.
static ARMED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(signal: libc::c_int) {
    if !ARMED.load(Ordering::SeqCst) {
        // SAFETY: signal and raise are async-signal-safe; the default action
        // ends the process.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
        return;
    }
    RECEIVED.store(signal, Ordering::SeqCst);
    // A read of standard input may be blocked on a producer that is still
    // alive: from now on that descriptor reads as an empty stream, so the
    // read ends and the loop sees the request. open, dup2 and close are
    // async-signal-safe.
    // SAFETY: plain system calls on integer descriptors and a static string.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if null >= 0 {
            libc::dup2(null, libc::STDIN_FILENO);
            libc::close(null);
        }
    }
}

/// Installs the handler for SIGINT and SIGTERM (once, at start).
pub fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid; the handler only touches an
        // atomic and makes async-signal-safe calls. SA_RESETHAND restores the
        // default action, so a second signal ends the process.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART | libc::SA_RESETHAND;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// Defers SIGINT and SIGTERM while `f` runs (the encode loop): they set the
/// request that [`requested`] reports instead of ending the process.
pub fn deferred<T>(f: impl FnOnce() -> T) -> T {
    ARMED.store(true, Ordering::SeqCst);
    let out = f();
    ARMED.store(false, Ordering::SeqCst);
    out
}

/// The signal that asked to stop, if one did.
pub fn requested() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}
