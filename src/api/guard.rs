//! What keeps slow or hostile clients from exhausting the process: at most
//! [`MAX_CONNECTIONS`] connections at once (more wait in the kernel's backlog, unaccepted),
//! and each connection closed [`CONNECTION_LIFETIME`] after it was accepted, so a client
//! that trickles its headers or body (slow-loris) holds a slot for seconds, not forever.
//! File descriptors stay free for what matters more: RTMP reconnects, speech temp files.

use axum::serve::Listener;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

pub const MAX_CONNECTIONS: usize = 64;
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(10);
/// A held connection (an authenticated event stream) is closed after this long without data.
pub const HELD_IDLE: Duration = Duration::from_secs(60);

/// A handle on one connection's lifetime, handed to handlers as connect info: an
/// authenticated long-lived request (`/events/stream`) holds it, and the connection then
/// lives while data keeps coming (closed after [`HELD_IDLE`] of silence).
#[derive(Clone, Default)]
pub struct Lease(Arc<AtomicBool>);

impl Lease {
    pub fn hold(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn held(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, GuardedListener>>
    for Lease
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, GuardedListener>) -> Self {
        stream.io().lease.clone()
    }
}

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
            lease: Lease::default(),
            last_read: tokio::time::Instant::now(),
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
    lease: Lease,
    last_read: tokio::time::Instant,
    _slot: OwnedSemaphorePermit,
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            let idle_until = self.last_read + HELD_IDLE;
            if !self.lease.held() || idle_until <= tokio::time::Instant::now() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection held too long",
                )));
            }
            self.deadline.as_mut().reset(idle_until);
            // Registers the waker with the new deadline.
            let _ = self.deadline.as_mut().poll(cx);
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.last_read = tokio::time::Instant::now();
        }
        read
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
