//! The peer's HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`, read off the wire.
//!
//! h2 does not tell when the server's first SETTINGS frame arrived, and reading its stream limit
//! (`current_max_send_streams`) takes the connection's lock, yet the pool needs that number to know when a connection is saturated (OkHttp's `allocationLimit`).
//! [`SettingsTap`] wraps the connection's I/O and follows the frames the server sends: it reads
//! each 9-byte frame header, skips payloads by arithmetic, and decodes only `SETTINGS` payloads,
//! six bytes at a time. No allocation, no copy: a few comparisons per frame.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

const FRAME_HEADER_LEN: usize = 9;
const FRAME_TYPE_SETTINGS: u8 = 0x4;
const FLAG_ACK: u8 = 0x1;
const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
const SETTING_LEN: usize = 6;

/// The settings of the peer that the pool reads. Until the server says otherwise there is no
/// limit (RFC 9113 §6.5.2: "initially, there is no limit"), as in OkHttp.
#[derive(Debug)]
pub(crate) struct PeerSettings {
    max_concurrent_streams: AtomicU32,
    /// The server's first `SETTINGS` frame was read.
    received: AtomicBool,
    arrived: Notify,
}

impl PeerSettings {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(PeerSettings {
            max_concurrent_streams: AtomicU32::new(u32::MAX),
            received: AtomicBool::new(false),
            arrived: Notify::new(),
        })
    }

    /// Waits until the server's first `SETTINGS` frame was read (its connection preface).
    pub(crate) async fn received(&self) {
        let arrived = self.arrived.notified();
        if self.received.load(Ordering::Acquire) {
            return;
        }
        arrived.await;
    }

    fn mark_received(&self) {
        if !self.received.swap(true, Ordering::AcqRel) {
            self.arrived.notify_waiters();
        }
    }

    /// The server's latest `SETTINGS_MAX_CONCURRENT_STREAMS` (`u32::MAX` when unset).
    pub(crate) fn max_concurrent_streams(&self) -> u32 {
        self.max_concurrent_streams.load(Ordering::Relaxed)
    }
}

/// A parser following the server-to-client frame stream.
#[derive(Debug, Default)]
pub(crate) struct FrameFollower {
    header: [u8; FRAME_HEADER_LEN],
    header_len: usize,
    /// Payload bytes of the current frame still to come.
    payload_left: usize,
    /// Whether the current frame is a non-ACK SETTINGS frame.
    in_settings: bool,
    setting: [u8; SETTING_LEN],
    setting_len: usize,
    /// A whole non-ACK SETTINGS frame was read.
    seen_settings: bool,
}

impl FrameFollower {
    /// Follows `bytes`, the next bytes the server sent; returns the last
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` value they set, if any.
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) -> Option<u32> {
        let mut found = None;
        while !bytes.is_empty() {
            if self.payload_left == 0 && self.header_len < FRAME_HEADER_LEN {
                let take = (FRAME_HEADER_LEN - self.header_len).min(bytes.len());
                self.header[self.header_len..self.header_len + take]
                    .copy_from_slice(&bytes[..take]);
                self.header_len += take;
                bytes = &bytes[take..];
                if self.header_len == FRAME_HEADER_LEN {
                    self.start_frame();
                }
                continue;
            }
            let take = self.payload_left.min(bytes.len());
            if self.in_settings {
                for &byte in &bytes[..take] {
                    self.setting[self.setting_len] = byte;
                    self.setting_len += 1;
                    if self.setting_len == SETTING_LEN {
                        self.setting_len = 0;
                        let id = u16::from_be_bytes([self.setting[0], self.setting[1]]);
                        if id == SETTINGS_MAX_CONCURRENT_STREAMS {
                            found = Some(u32::from_be_bytes([
                                self.setting[2],
                                self.setting[3],
                                self.setting[4],
                                self.setting[5],
                            ]));
                        }
                    }
                }
            }
            self.payload_left -= take;
            bytes = &bytes[take..];
            if self.payload_left == 0 {
                self.header_len = 0;
                self.seen_settings |= self.in_settings;
            }
        }
        found
    }

    fn start_frame(&mut self) {
        let length = u32::from_be_bytes([0, self.header[0], self.header[1], self.header[2]]);
        let frame_type = self.header[3];
        let flags = self.header[4];
        self.payload_left = length as usize;
        self.in_settings = frame_type == FRAME_TYPE_SETTINGS && flags & FLAG_ACK == 0;
        self.setting_len = 0;
        if self.payload_left == 0 {
            self.header_len = 0;
            self.seen_settings |= self.in_settings;
        }
    }

    /// Whether a whole non-ACK SETTINGS frame was read.
    pub(crate) fn seen_settings(&self) -> bool {
        self.seen_settings
    }
}

/// Connection I/O that passes everything through and follows the server's frames to keep
/// [`PeerSettings`] up to date.
#[derive(Debug)]
pub(crate) struct SettingsTap<T> {
    inner: T,
    follower: FrameFollower,
    settings: Arc<PeerSettings>,
    reported: bool,
}

impl<T> SettingsTap<T> {
    /// Wraps `inner`; `settings` is updated as the server's frames are read.
    pub(crate) fn new(inner: T, settings: Arc<PeerSettings>) -> Self {
        SettingsTap {
            inner,
            follower: FrameFollower::default(),
            settings,
            reported: false,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for SettingsTap<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            if let Some(max) = this.follower.feed(&buf.filled()[before..]) {
                this.settings
                    .max_concurrent_streams
                    .store(max, Ordering::Relaxed);
            }
            if this.follower.seen_settings() && !this.reported {
                this.reported = true;
                this.settings.mark_received();
            }
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for SettingsTap<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(frame_type: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut out = len.to_be_bytes()[1..].to_vec();
        out.extend_from_slice(&[frame_type, flags, 0, 0, 0, 0]);
        out.extend_from_slice(payload);
        out
    }

    fn setting(id: u16, value: u32) -> Vec<u8> {
        let mut out = id.to_be_bytes().to_vec();
        out.extend_from_slice(&value.to_be_bytes());
        out
    }

    #[test]
    fn reads_max_concurrent_streams_split_at_every_boundary() {
        let mut payload = setting(0x4, 65_535);
        payload.extend(setting(SETTINGS_MAX_CONCURRENT_STREAMS, 2));
        payload.extend(setting(0x5, 16_384));
        let wire = frame(FRAME_TYPE_SETTINGS, 0, &payload);
        for split in 0..wire.len() {
            let mut follower = FrameFollower::default();
            let first = follower.feed(&wire[..split]);
            let second = follower.feed(&wire[split..]);
            assert_eq!(second.or(first), Some(2), "split at {split}");
        }
    }

    #[test]
    fn other_frames_and_acks_are_skipped() {
        // A DATA frame whose payload looks like a SETTINGS frame, an ACK, then a real update.
        let fake = frame(
            FRAME_TYPE_SETTINGS,
            0,
            &setting(SETTINGS_MAX_CONCURRENT_STREAMS, 9),
        );
        let mut wire = frame(0x0, 0, &fake);
        wire.extend(frame(FRAME_TYPE_SETTINGS, FLAG_ACK, &[]));
        wire.extend(frame(0x8, 0, &[0, 0, 0, 1]));
        assert_eq!(FrameFollower::default().feed(&wire), None);
        wire.extend(frame(
            FRAME_TYPE_SETTINGS,
            0,
            &setting(SETTINGS_MAX_CONCURRENT_STREAMS, 100),
        ));
        wire.extend(frame(0x6, 0, &[0; 8]));
        let mut follower = FrameFollower::default();
        assert_eq!(follower.feed(&wire), Some(100));
        // Byte by byte gives the same answer.
        let mut follower = FrameFollower::default();
        let last = wire.iter().filter_map(|b| follower.feed(&[*b])).last();
        assert_eq!(last, Some(100));
    }

    #[tokio::test]
    async fn the_tap_updates_peer_settings_as_bytes_are_read() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (client, mut server) = tokio::io::duplex(64);
        let settings = PeerSettings::new();
        assert_eq!(settings.max_concurrent_streams(), u32::MAX);
        assert!(!settings.received.load(Ordering::Acquire));
        let mut tap = SettingsTap::new(client, settings.clone());
        server
            .write_all(&frame(
                FRAME_TYPE_SETTINGS,
                0,
                &setting(SETTINGS_MAX_CONCURRENT_STREAMS, 7),
            ))
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        let n = tap.read(&mut buf).await.unwrap();
        assert_eq!(n, FRAME_HEADER_LEN + SETTING_LEN);
        assert_eq!(settings.max_concurrent_streams(), 7);
        settings.received().await;
        tap.write_all(b"ping").await.unwrap();
        let mut echoed = [0u8; 4];
        server.read_exact(&mut echoed).await.unwrap();
        assert_eq!(&echoed, b"ping");
    }
}
