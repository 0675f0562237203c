//! The scenarios S1–S7: what each one requests, over which protocol, how many at once, and how
//! its body is read.

use clap::ValueEnum;

/// One side-by-side scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum)]
pub enum Scenario {
    /// S1: sequential keep-alive GETs of a 13-byte body over HTTP/1.1 (latency recorded).
    S1,
    /// S2: 64 concurrent tasks of 13-byte GETs over HTTP/1.1 keep-alive.
    S2,
    /// S3: 256 concurrent streams on one cleartext HTTP/2 connection (prior knowledge).
    S3,
    /// S4: 64 MiB downloads over HTTP/1.1, streamed and discarded.
    S4,
    /// S5: a gzip-compressed 1 MiB JSON body over HTTP/1.1, decoded while streamed.
    S5,
    /// S6: a fresh HTTP/1.1 connection per request (`Connection: close`).
    S6,
    /// S7: HTTP/2 over TLS to 8 host names sharing one certificate and one IP address.
    S7,
}

/// Which listener of the server a scenario talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Cleartext HTTP/1.1.
    Http1,
    /// Cleartext HTTP/2 with prior knowledge.
    H2c,
    /// TLS, HTTP/2 negotiated by ALPN.
    TlsH2,
}

/// How a client reads a response body in a scenario; every client does the same work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyMode {
    /// Collect the whole (small) body into one buffer.
    Collect,
    /// Read it chunk by chunk, counting and discarding.
    Stream,
    /// Read it chunk by chunk while gunzipping (transparently where the client does that).
    Gunzip,
}

/// Throughput unit of a scenario's report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Requests per second.
    RequestsPerSecond,
    /// Megabytes (10^6 bytes) of decoded body per second.
    MegabytesPerSecond,
}

/// Number of host names in S7 (`h0.test` … `h7.test`).
pub const TLS_HOSTS: usize = 8;

impl Scenario {
    /// Every scenario, in order.
    pub const ALL: [Scenario; 7] = [
        Scenario::S1,
        Scenario::S2,
        Scenario::S3,
        Scenario::S4,
        Scenario::S5,
        Scenario::S6,
        Scenario::S7,
    ];

    /// The short name (`S1` …).
    pub fn name(self) -> &'static str {
        match self {
            Scenario::S1 => "S1",
            Scenario::S2 => "S2",
            Scenario::S3 => "S3",
            Scenario::S4 => "S4",
            Scenario::S5 => "S5",
            Scenario::S6 => "S6",
            Scenario::S7 => "S7",
        }
    }

    /// One line saying what the scenario does.
    pub fn description(self) -> &'static str {
        match self {
            Scenario::S1 => "sequential keep-alive GETs of 13 B, HTTP/1.1",
            Scenario::S2 => "64 concurrent tasks of 13 B GETs, HTTP/1.1 keep-alive",
            Scenario::S3 => "256 concurrent streams on one h2c connection",
            Scenario::S4 => "64 MiB download streamed and discarded, HTTP/1.1",
            Scenario::S5 => "gzip 1 MiB JSON decoded while streamed, HTTP/1.1",
            Scenario::S6 => "fresh connection per request (Connection: close), HTTP/1.1",
            Scenario::S7 => "h2 over TLS, 8 host names on one certificate, 64 tasks",
        }
    }

    /// The listener the scenario uses.
    pub fn transport(self) -> Transport {
        match self {
            Scenario::S3 => Transport::H2c,
            Scenario::S7 => Transport::TlsH2,
            _ => Transport::Http1,
        }
    }

    /// The request path (the server answers by path).
    pub fn path(self) -> &'static str {
        match self {
            Scenario::S4 => "/large",
            Scenario::S5 => "/gzip",
            _ => "/small",
        }
    }

    /// How bodies are read.
    pub fn body_mode(self) -> BodyMode {
        match self {
            Scenario::S4 => BodyMode::Stream,
            Scenario::S5 => BodyMode::Gunzip,
            _ => BodyMode::Collect,
        }
    }

    /// Number of tasks sending requests at once.
    pub fn concurrency(self) -> usize {
        match self {
            Scenario::S2 | Scenario::S7 => 64,
            Scenario::S3 => 256,
            _ => 1,
        }
    }

    /// Whether every request asks for its own connection (`Connection: close`).
    pub fn closes_connections(self) -> bool {
        self == Scenario::S6
    }

    /// Whether latencies are recorded (p50 / p99).
    pub fn records_latency(self) -> bool {
        self == Scenario::S1
    }

    /// The throughput unit.
    pub fn unit(self) -> Unit {
        match self {
            Scenario::S4 | Scenario::S5 => Unit::MegabytesPerSecond,
            _ => Unit::RequestsPerSecond,
        }
    }

    /// Requests per client per round in a full run.
    pub fn default_requests(self) -> usize {
        match self {
            Scenario::S1 => 20_000,
            Scenario::S2 | Scenario::S3 => 50_000,
            Scenario::S4 => 16,
            Scenario::S5 => 200,
            Scenario::S6 => 1_000,
            Scenario::S7 => 20_000,
        }
    }

    /// Requests per client per round in `--quick` mode (CI).
    pub fn quick_requests(self) -> usize {
        match self {
            Scenario::S1 => 50,
            Scenario::S2 => 256,
            Scenario::S3 => 512,
            Scenario::S4 => 1,
            Scenario::S5 => 2,
            Scenario::S6 => 20,
            Scenario::S7 => 128,
        }
    }
}

impl std::fmt::Display for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
