//! # oktower
//!
//! An HTTP client for Rust that does what OkHttp does, built the tower way: every OkHttp
//! interceptor is a `tower::Layer`, composed over a pooled connector with route selection and
//! HTTP/2 coalescing, on hyper, rustls and tokio.
//!
//! The library is being built capability by capability; see the workspace README for what is in
//! and what is not yet.
#![forbid(unsafe_code)]
