//! okcurl run as a process against oktower-testkit's MockWebServer on loopback.
#![allow(clippy::unwrap_used)]

mod cache;
mod failures;
mod plain;
mod proxy;
mod support;
mod tls;
