//! A [`TcpConnector`] whose answer is scripted per IP address, and that records what it was
//! asked: when each attempt started, which blackholed attempts were dropped, which streams it
//! handed out were closed.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use oktower::{BoxedIo, SystemTcp, TcpConnectFuture, TcpConnector};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

/// What the connector does for one IP address.
#[derive(Clone, Copy, Debug)]
pub enum Plan {
    /// Connects to this socket address instead (a real loopback connection).
    Forward(SocketAddr),
    /// Connects where it was asked to, with the system's TCP (a real refusal for a loopback
    /// address nothing listens on).
    System,
    /// Never completes: the future stays pending until it is dropped.
    Blackhole,
    /// Fails at once with "connection refused", without a socket (for paused-time tests: a
    /// real refusal arrives as an I/O event, and the runtime advances paused time to the next
    /// timer whenever it waits for I/O).
    Refuse,
    /// Fails with "connection refused" after this long, without a socket.
    RefuseAfter(Duration),
}

/// One connect attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub addr: SocketAddr,
    /// When it started, since the connector was made (tokio time: exact under paused time).
    pub at: Duration,
}

/// Counts that tests wait on.
#[derive(Default)]
struct Counts {
    attempts: Vec<Attempt>,
    blackholes_dropped: usize,
    streams_opened: usize,
    streams_closed: usize,
}

/// The scripted connector. Cheap to share: hand an `Arc` of it to the layer.
pub struct ScriptedTcp {
    plans: HashMap<IpAddr, Plan>,
    fallback: Plan,
    epoch: Instant,
    counts: Arc<watch::Sender<Counts>>,
}

impl ScriptedTcp {
    /// A connector that follows `plans`, and `fallback` for other addresses.
    pub fn new(plans: &[(IpAddr, Plan)], fallback: Plan) -> Arc<ScriptedTcp> {
        Arc::new(ScriptedTcp {
            plans: plans.iter().copied().collect(),
            fallback,
            epoch: Instant::now(),
            counts: Arc::new(watch::Sender::new(Counts::default())),
        })
    }

    /// Every attempt so far, in order.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.counts.borrow().attempts.clone()
    }

    /// The addresses of every attempt so far, in order.
    pub fn attempted_addrs(&self) -> Vec<SocketAddr> {
        self.attempts().iter().map(|a| a.addr).collect()
    }

    /// How many blackholed attempts were dropped (abandoned by the caller).
    pub fn blackholes_dropped(&self) -> usize {
        self.counts.borrow().blackholes_dropped
    }

    /// How many streams were handed out.
    pub fn streams_opened(&self) -> usize {
        self.counts.borrow().streams_opened
    }

    /// How many of the streams handed out were dropped (their sockets closed).
    pub fn streams_closed(&self) -> usize {
        self.counts.borrow().streams_closed
    }

    /// Waits until at least `count` attempts started.
    pub async fn wait_for_attempts(&self, count: usize) {
        let mut receiver = self.counts.subscribe();
        receiver
            .wait_for(|c| c.attempts.len() >= count)
            .await
            .expect("the connector is alive");
    }

    /// Waits until at least `count` streams were handed out.
    pub async fn wait_for_streams(&self, count: usize) {
        let mut receiver = self.counts.subscribe();
        receiver
            .wait_for(|c| c.streams_opened >= count)
            .await
            .expect("the connector is alive");
    }

    /// Waits until at least `count` streams were closed.
    pub async fn wait_for_closed_streams(&self, count: usize) {
        let mut receiver = self.counts.subscribe();
        receiver
            .wait_for(|c| c.streams_closed >= count)
            .await
            .expect("the connector is alive");
    }
}

impl TcpConnector for ScriptedTcp {
    fn connect(&self, addr: SocketAddr) -> TcpConnectFuture {
        let at = self.epoch.elapsed();
        self.counts
            .send_modify(|c| c.attempts.push(Attempt { addr, at }));
        let plan = self.plans.get(&addr.ip()).copied().unwrap_or(self.fallback);
        let counts = self.counts.clone();
        match plan {
            Plan::Blackhole => {
                let guard = OnDrop(Some(move || {
                    counts.send_modify(|c| c.blackholes_dropped += 1);
                }));
                Box::pin(async move {
                    let _guard = guard;
                    std::future::pending().await
                })
            }
            Plan::Refuse => Box::pin(async { Err(io::ErrorKind::ConnectionRefused.into()) }),
            Plan::RefuseAfter(delay) => Box::pin(async move {
                tokio::time::sleep(delay).await;
                Err(io::ErrorKind::ConnectionRefused.into())
            }),
            Plan::Forward(to) => tracked(SystemTcp.connect(to), counts),
            Plan::System => tracked(SystemTcp.connect(addr), counts),
        }
    }
}

fn tracked(connecting: TcpConnectFuture, counts: Arc<watch::Sender<Counts>>) -> TcpConnectFuture {
    Box::pin(async move {
        let io = connecting.await?;
        counts.send_modify(|c| c.streams_opened += 1);
        Ok(Box::new(Tracked { io, counts }) as BoxedIo)
    })
}

/// Runs a closure when dropped.
struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// A stream that counts its own closing.
struct Tracked {
    io: BoxedIo,
    counts: Arc<watch::Sender<Counts>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.counts.send_modify(|c| c.streams_closed += 1);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
