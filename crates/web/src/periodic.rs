//! A node's background jobs: a named thread that runs a round, then waits for the next, until
//! the returned handle is dropped. Dropping it ends the wait at once and joins the thread.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

/// Stops the job when dropped.
#[derive(Debug)]
pub struct Periodic {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Periodic {
    fn drop(&mut self) {
        // Dropping the sender wakes the waiting thread, which then returns.
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs `round` now, then every `every`, on a thread named `name`.
pub fn spawn(
    name: &str,
    every: Duration,
    mut round: impl FnMut() + Send + 'static,
) -> std::io::Result<Periodic> {
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            loop {
                round();
                if stopped.recv_timeout(every) != Err(RecvTimeoutError::Timeout) {
                    return;
                }
            }
        })?;
    Ok(Periodic {
        stop: Some(stop),
        thread: Some(thread),
    })
}
