//! okcurl run as a process against oktower-testkit's MockWebServer on loopback.

mod cache;
mod failures;
mod plain;
mod support;
mod tls;
