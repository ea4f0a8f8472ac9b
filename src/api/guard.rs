//! What keeps slow or hostile clients from exhausting the process: at most
//! [`MAX_CONNECTIONS`] connections at once (more wait in the kernel's backlog, unaccepted),
//! and each connection closed [`CONNECTION_LIFETIME`] after it was accepted, so a client
//! that trickles its headers or body (slow-loris) holds a slot for seconds, not forever.
//! File descriptors stay free for what matters more: RTMP reconnects, speech temp files.

use axum::serve::Listener;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

pub const MAX_CONNECTIONS: usize = 64;
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(10);

/// A TCP listener that hands out [`GuardedStream`]s.
pub struct GuardedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    lifetime: Duration,
}

impl GuardedListener {
    pub fn new(inner: TcpListener, connections: usize, lifetime: Duration) -> Self {
        Self {
            inner,
            slots: Arc::new(Semaphore::new(connections)),
            lifetime,
        }
    }
}

impl Listener for GuardedListener {
    type Io = GuardedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // Never closed, so acquiring only waits.
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        let stream = GuardedStream {
            inner: stream,
            deadline: Box::pin(tokio::time::sleep(self.lifetime)),
            _slot: slot,
        };
        (stream, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that gives its slot back when dropped and fails its reads once its
/// lifetime is over (which makes the server close it).
pub struct GuardedStream {
    inner: TcpStream,
    deadline: Pin<Box<Sleep>>,
    _slot: OwnedSemaphorePermit,
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection held too long",
            )));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
