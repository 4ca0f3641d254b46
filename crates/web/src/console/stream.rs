//! A response body fed by a blocking writer: exports are written by diesel (synchronous) on a
//! blocking thread, chunk by chunk, into a bounded channel the response reads. The channel's
//! bound is the back-pressure: a slow client slows the query loop down, and a client that goes
//! away closes the channel, which stops the export at its next chunk. Memory stays at a few
//! chunks whatever the size of the export.

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Chunks in flight between the writer and the client.
const CHANNEL_CHUNKS: usize = 8;
/// Bytes gathered before a chunk is sent.
const CHUNK_BYTES: usize = 64 * 1024;

type Chunk = Result<Bytes, io::Error>;

/// The writing end, used on a blocking thread only (`blocking_send`).
pub(crate) struct ChannelWriter {
    tx: mpsc::Sender<Chunk>,
    buffer: Vec<u8>,
    /// Bytes handed to the response so far (what an interrupted export did deliver).
    sent: u64,
}

/// The reading end, as a streamed response body.
pub(crate) struct ChannelBody {
    /// The first chunk, read before the response started ([`ChannelBody::started`]).
    first: Option<Bytes>,
    rx: mpsc::Receiver<Chunk>,
}

pub(crate) fn channel() -> (ChannelWriter, ChannelBody) {
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    (
        ChannelWriter {
            tx,
            buffer: Vec::with_capacity(CHUNK_BYTES),
            sent: 0,
        },
        ChannelBody { first: None, rx },
    )
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the client closed the download")
}

impl ChannelWriter {
    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK_BYTES),
        ));
        let len = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        self.tx.blocking_send(Ok(chunk)).map_err(|_| gone())?;
        self.sent = self.sent.saturating_add(len);
        Ok(())
    }

    /// Bytes handed to the response so far.
    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }

    /// Ends the body with an error, so the client sees a broken download rather than a
    /// complete-looking truncated file.
    pub(crate) fn abort(self) {
        let _ = self
            .tx
            .blocking_send(Err(io::Error::other("export interrupted")));
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send_buffer()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()
    }
}

impl ChannelBody {
    /// Waits for the writer's first chunk, so that a failure before it (the query refused, the
    /// database gone) is answered with an error page instead of a `200 OK` whose body breaks
    /// off: no status line leaves before the export has really started.
    pub(crate) async fn started(mut self) -> io::Result<Self> {
        match self.rx.recv().await {
            Some(Ok(first)) => {
                self.first = Some(first);
                Ok(self)
            }
            Some(Err(error)) => Err(error),
            // Finished without a byte (an empty JSON lines export): a failure always sends its
            // error first (`abort`).
            None => Ok(self),
        }
    }
}

impl MessageBody for ChannelBody {
    type Error = io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        this.rx.poll_recv(cx)
    }
}
