//! The threads guest calls run on: a pool of plain threads, each running one call at a time,
//! driven by the caller's runtime (see `WasmDnsProvider::call`).
//!
//! A thread whose call lowered its scheduling priority (a CPU-bound guest, see
//! `state::new_store`) is not reused: an unprivileged process cannot raise a priority again,
//! and the next call must not inherit it. Idle threads end after [`IDLE_TIMEOUT`].

use std::cell::Cell;
use std::sync::mpsc::{self, Receiver, SendError, Sender, TryRecvError};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// One call, as the thread runs it.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// How long an idle call thread waits for another call before it ends (10 s).
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a call thread looks for the next call before it sleeps (50 µs): calls that follow
/// each other closely then skip the wake-up of a sleeping thread, which costs more than that
/// on an idle machine.
const SPIN: Duration = Duration::from_micros(50);

/// The idle threads, each reached through its job channel. A thread that has ended leaves a
/// sender that fails, and is skipped.
static IDLE: Mutex<Vec<Sender<Job>>> = Mutex::new(Vec::new());

thread_local! {
    /// Set when the current call thread must end after its call.
    static RETIRE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `job` on an idle call thread, or on a new one.
pub(crate) fn run(job: Job) -> std::io::Result<()> {
    let mut job = job;
    loop {
        let idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let Some(thread) = idle else { break };
        match thread.send(job) {
            Ok(()) => return Ok(()),
            // It ended meanwhile: try the next.
            Err(SendError(back)) => job = back,
        }
    }
    let (sender, receiver) = mpsc::channel();
    let _ = sender.send(job);
    std::thread::Builder::new()
        .name("acmebox-call".into())
        .spawn(move || serve(&sender, &receiver))?;
    Ok(())
}

/// Marks the current thread to end once its call returns.
pub(crate) fn retire_current() {
    RETIRE.with(|retire| retire.set(true));
}

fn serve(sender: &Sender<Job>, receiver: &Receiver<Job>) {
    while let Some(job) = next_job(receiver) {
        job();
        if RETIRE.with(Cell::get) {
            return;
        }
        IDLE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sender.clone());
    }
}

/// The next call: looked for during [`SPIN`] first, then waited for up to [`IDLE_TIMEOUT`].
fn next_job(receiver: &Receiver<Job>) -> Option<Job> {
    let started = Instant::now();
    while started.elapsed() < SPIN {
        match receiver.try_recv() {
            Ok(job) => return Some(job),
            Err(TryRecvError::Empty) => std::hint::spin_loop(),
            Err(TryRecvError::Disconnected) => return None,
        }
    }
    receiver.recv_timeout(IDLE_TIMEOUT).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_reused_unless_retired() {
        let (done, finished) = mpsc::channel();
        let send = |retire: bool| {
            let done = done.clone();
            run(Box::new(move || {
                if retire {
                    retire_current();
                }
                let _ = done.send(std::thread::current().id());
            }))
            .expect("a call thread");
            finished.recv().expect("the call ran")
        };
        let first = send(false);
        // The thread may not be back in the idle list yet: wait until it is.
        while IDLE.lock().map(|i| i.is_empty()).unwrap_or(true) {
            std::thread::yield_now();
        }
        let second = send(true);
        assert_eq!(first, second, "an idle thread was not reused");
        let third = send(false);
        assert_ne!(second, third, "a retired thread was reused");
    }
}
