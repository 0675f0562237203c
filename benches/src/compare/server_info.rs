//! What the server process tells its clients, as one line on its stdout:
//! `oktower-benches-server h1=ADDR h2c=ADDR tls=ADDR ca=HEX` (the CA certificate in DER, hex).
//! The connection counts it reports on request: `counts h1=N h2c=N tls=N`.

use std::net::SocketAddr;

use rustls_pki_types::CertificateDer;

use crate::BoxError;

/// The first word of the server's address line.
pub const INFO_PREFIX: &str = "oktower-benches-server";

/// The first word of the server's answer to the `counts` command.
pub const COUNTS_PREFIX: &str = "counts";

/// The server's listeners and the CA its TLS certificate is issued by.
#[derive(Clone, Debug)]
pub struct ServerInfo {
    /// Cleartext HTTP/1.1.
    pub h1: SocketAddr,
    /// Cleartext HTTP/2 (prior knowledge).
    pub h2c: SocketAddr,
    /// TLS with ALPN `h2`, presenting one certificate for `h0.test` … `h7.test`.
    pub tls: SocketAddr,
    /// The CA certificate (DER) that issued the TLS certificate.
    pub ca: CertificateDer<'static>,
}

impl ServerInfo {
    /// The line the server prints.
    pub fn to_line(&self) -> String {
        let ca: String = self.ca.iter().map(|byte| format!("{byte:02x}")).collect();
        format!(
            "{INFO_PREFIX} h1={} h2c={} tls={} ca={ca}",
            self.h1, self.h2c, self.tls
        )
    }

    /// Parses the line the server prints.
    pub fn parse(line: &str) -> Result<ServerInfo, BoxError> {
        let mut words = line.split_whitespace();
        if words.next() != Some(INFO_PREFIX) {
            return Err(format!("not a server address line: {line:?}").into());
        }
        let (mut h1, mut h2c, mut tls, mut ca) = (None, None, None, None);
        for word in words {
            let (key, value) = word.split_once('=').ok_or("a word without '='")?;
            match key {
                "h1" => h1 = Some(value.parse()?),
                "h2c" => h2c = Some(value.parse()?),
                "tls" => tls = Some(value.parse()?),
                "ca" => ca = Some(CertificateDer::from(decode_hex(value)?)),
                _ => {}
            }
        }
        Ok(ServerInfo {
            h1: h1.ok_or("no h1 address")?,
            h2c: h2c.ok_or("no h2c address")?,
            tls: tls.ok_or("no tls address")?,
            ca: ca.ok_or("no CA certificate")?,
        })
    }
}

/// Connections the server accepted on each listener since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionCounts {
    /// On the HTTP/1.1 listener.
    pub h1: u64,
    /// On the h2c listener.
    pub h2c: u64,
    /// On the TLS listener.
    pub tls: u64,
}

impl ConnectionCounts {
    /// The answer line to `counts`.
    pub fn to_line(self) -> String {
        format!(
            "{COUNTS_PREFIX} h1={} h2c={} tls={}",
            self.h1, self.h2c, self.tls
        )
    }

    /// Parses the answer line to `counts`.
    pub fn parse(line: &str) -> Result<ConnectionCounts, BoxError> {
        let mut words = line.split_whitespace();
        if words.next() != Some(COUNTS_PREFIX) {
            return Err(format!("not a counts line: {line:?}").into());
        }
        let mut counts = ConnectionCounts::default();
        for word in words {
            let (key, value) = word.split_once('=').ok_or("a word without '='")?;
            let value = value.parse()?;
            match key {
                "h1" => counts.h1 = value,
                "h2c" => counts.h2c = value,
                "tls" => counts.tls = value,
                _ => {}
            }
        }
        Ok(counts)
    }

    /// The sum over all listeners.
    pub fn total(self) -> u64 {
        self.h1 + self.h2c + self.tls
    }

    /// The connections accepted between `earlier` and `self`.
    pub fn since(self, earlier: ConnectionCounts) -> ConnectionCounts {
        ConnectionCounts {
            h1: self.h1.saturating_sub(earlier.h1),
            h2c: self.h2c.saturating_sub(earlier.h2c),
            tls: self.tls.saturating_sub(earlier.tls),
        }
    }
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, BoxError> {
    if !hex.len().is_multiple_of(2) {
        return Err("odd-length hex".into());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| Ok(u8::from_str_radix(&hex[i..i + 2], 16)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_line_round_trips() {
        let info = ServerInfo {
            h1: "127.0.0.1:1".parse().expect("address"),
            h2c: "127.0.0.1:2".parse().expect("address"),
            tls: "127.0.0.1:3".parse().expect("address"),
            ca: CertificateDer::from(vec![0, 1, 0xab, 0xff]),
        };
        let parsed = ServerInfo::parse(&info.to_line()).expect("parses");
        assert_eq!(parsed.tls, info.tls);
        assert_eq!(parsed.ca, info.ca);
        let counts = ConnectionCounts {
            h1: 4,
            h2c: 5,
            tls: 6,
        };
        assert_eq!(
            ConnectionCounts::parse(&counts.to_line()).expect("parses"),
            counts
        );
    }
}
