//! # okcurl
//!
//! A curl-like command-line HTTP client on [`oktower`]: curl's flag names (OkHttp
//! okcurl's where curl has none), curl's exit codes, and OkHttp's behaviour underneath —
//! connection pooling across the URLs of one invocation, HTTP/2 coalescing, transparent
//! decompression, the RFC 9111 cache, certificate pinning.
//!
//! The binary is a thin `main.rs` over the pieces here, most of them pure and unit-tested:
//! [`Args`] (clap) → [`Settings`] (checked; [`parse`] for structured values), [`WriteOut`]
//! templates, [`Failure`] with curl's exit codes ([`exit_code_for`]), redirect decisions
//! ([`next_redirect`]), the `-v` text ([`verbose`]) and listeners ([`VerboseLog`],
//! [`EventLog`]); [`build_client`] and [`Transfers`] do the I/O.
//!
//! ```
//! use clap::Parser;
//! use okcurl::{Args, Settings};
//!
//! let args = Args::try_parse_from(["okcurl", "-L", "--max-redirs", "3", "https://a.test/"]).unwrap();
//! let settings = Settings::from_args(args).unwrap();
//! assert_eq!(settings.redirects, Some(3));
//! ```
#![forbid(unsafe_code)]

mod args;
mod client;
mod failure;
mod listeners;
pub mod parse;
mod pem;
mod redirect;
mod settings;
mod transfer;
pub mod verbose;
mod write_out;

pub use args::Args;
pub use client::{SpecialUseDns, TlsMaterial, build_client};
pub use failure::{Failure, UsageError, error_line, exit_code_for};
pub use listeners::{EventLog, LineSink, VerboseLog};
pub use pem::{certificates_from_pem, private_key_from_pem};
pub use redirect::{Redirect, next_redirect, same_origin};
pub use settings::{CacheMode, DataPart, Output, Settings, assemble_body};
pub use transfer::Transfers;
pub use write_out::{TransferReport, WriteOut};
