//! Where a command's output goes: this process's standard output and error,
//! or — when the command runs inside `carbon serve` for a local client
//! ([`crate::local`]) — back to that client, chunk by chunk, as it is
//! written. Commands print through [`outln!`]/[`errln!`] and
//! [`stdout`] instead of `println!`/`io::stdout()`.

use std::{
    cell::RefCell,
    io::{self, Write},
    sync::Arc,
};

/// Which stream a chunk belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Out,
    /// Standard error.
    Err,
}

/// Receives the chunks of a captured command.
pub type Sink = Arc<dyn Fn(Stream, &[u8]) + Send + Sync>;

thread_local! {
    static CAPTURE: RefCell<Option<Sink>> = const { RefCell::new(None) };
}

/// Runs `f` with everything it prints on this thread sent to `sink`.
pub fn capture<T>(sink: Sink, f: impl FnOnce() -> T) -> T {
    CAPTURE.with(|c| *c.borrow_mut() = Some(sink));
    let r = f();
    CAPTURE.with(|c| *c.borrow_mut() = None);
    r
}

/// True while this thread's output is captured (progress bars stay hidden).
pub fn captured() -> bool {
    CAPTURE.with(|c| c.borrow().is_some())
}

fn sink() -> Option<Sink> {
    CAPTURE.with(|c| c.borrow().clone())
}

/// Writes `text` to standard output (or the capture).
pub fn write_out(text: &str) {
    match sink() {
        Some(s) => s(Stream::Out, text.as_bytes()),
        None => {
            let mut o = io::stdout().lock();
            let _ = o.write_all(text.as_bytes());
            let _ = o.flush();
        }
    }
}

/// Writes `text` to standard error (or the capture).
pub fn write_err(text: &str) {
    match sink() {
        Some(s) => s(Stream::Err, text.as_bytes()),
        None => {
            let _ = io::stderr().lock().write_all(text.as_bytes());
        }
    }
}

/// A writer to standard output (or the capture), for tables and CSV.
pub fn stdout() -> Box<dyn Write> {
    match sink() {
        Some(s) => Box::new(Captured(s)),
        None => Box::new(io::stdout().lock()),
    }
}

struct Captured(Sink);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (self.0)(Stream::Out, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `println!` to [`write_out`].
macro_rules! outln {
    () => {
        $crate::console::write_out("\n")
    };
    ($($t:tt)*) => {
        $crate::console::write_out(&format!("{}\n", format_args!($($t)*)))
    };
}

/// `print!` to [`write_out`].
macro_rules! out {
    ($($t:tt)*) => {
        $crate::console::write_out(&format!($($t)*))
    };
}

/// `eprintln!` to [`write_err`].
macro_rules! errln {
    ($($t:tt)*) => {
        $crate::console::write_err(&format!("{}\n", format_args!($($t)*)))
    };
}
