//! The write timeout, enforced on the connection's I/O: a write the socket does not accept
//! within the limit fails the connection (OkHttp's `writeTimeout`, a socket write timeout).
//!
//! Only writes that are pending count, so an idle connection never times out; reads are
//! bounded per exchange instead (an idle connection always has a read pending).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::deadline::deadline_after;

/// I/O whose pending writes fail after `limit`.
pub(crate) struct WriteTimeout<T> {
    inner: T,
    limit: Duration,
    /// Armed while a write is pending; made the first time one is (most connections never
    /// see a pending write).
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl<T> WriteTimeout<T> {
    pub(crate) fn new(inner: T, limit: Duration) -> Self {
        WriteTimeout {
            inner,
            limit,
            timer: None,
            armed: false,
        }
    }

    /// Called with the result of a write-side poll: disarms on progress, arms and checks the
    /// timer while pending.
    fn check<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        match polled {
            Poll::Ready(result) => {
                self.armed = false;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let timer = match &mut self.timer {
                    Some(timer) => {
                        if !self.armed {
                            timer
                                .as_mut()
                                .reset(deadline_after(Instant::now(), self.limit));
                        }
                        timer
                    }
                    None => self
                        .timer
                        .insert(Box::pin(tokio::time::sleep_until(deadline_after(
                            Instant::now(),
                            self.limit,
                        )))),
                };
                self.armed = true;
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("write timed out after {:?}", self.limit),
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.check(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.check(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.check(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test(start_paused = true)]
    async fn a_stalled_write_fails_after_the_limit_and_idle_never_does() {
        let (client, _server) = tokio::io::duplex(4);
        let mut io = WriteTimeout::new(client, Duration::from_secs(10));
        // Idle for longer than the limit: nothing happens.
        tokio::time::sleep(Duration::from_secs(60)).await;
        io.write_all(b"1234").await.unwrap();
        // The peer reads nothing: the next write stalls and times out.
        let started = Instant::now();
        let error = io.write_all(b"5678").await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }
}
