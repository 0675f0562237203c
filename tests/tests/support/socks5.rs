//! A minimal SOCKS5 proxy (RFC 1928) with username/password authentication (RFC 1929), for
//! tests: it serves `CONNECT` only, resolves domain names from its own map (so a test can send
//! a made-up host to the testkit's server), records what each client asked, and splices the
//! bytes both ways.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

const VERSION: u8 = 5;
const NO_AUTHENTICATION: u8 = 0x00;
const USERNAME_PASSWORD: u8 = 0x02;
const NO_ACCEPTABLE_METHODS: u8 = 0xff;
const CONNECT: u8 = 0x01;

/// What the proxy saw of one client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Socks5Record {
    /// The authentication methods the client offered.
    pub methods: Vec<u8>,
    /// The username and password it sent, if it authenticated.
    pub credentials: Option<(String, String)>,
    /// The target as asked: `host:port` (a domain name as sent, or an IP address).
    pub target: Option<String>,
    /// Whether the target was sent as a domain name (ATYP 3).
    pub target_is_domain: bool,
}

/// Settings of a [`Socks5Server`].
#[derive(Clone, Default)]
pub struct Socks5Builder {
    credentials: Option<(String, String)>,
    hosts: HashMap<String, SocketAddr>,
}

impl Socks5Builder {
    /// Demands username/password authentication with these credentials.
    pub fn require_credentials(mut self, username: &str, password: &str) -> Self {
        self.credentials = Some((username.to_owned(), password.to_owned()));
        self
    }

    /// Connects `CONNECT host:port` (any port) to `to`.
    pub fn host(mut self, host: &str, to: SocketAddr) -> Self {
        self.hosts.insert(host.to_ascii_lowercase(), to);
        self
    }

    /// Binds 127.0.0.1:0 and serves.
    pub async fn start(self) -> Socks5Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            settings: self,
            records: Mutex::new(Vec::new()),
        });
        let accepting = shared.clone();
        let task = tokio::spawn(async move {
            // Dropped with the accept task: every connection is closed with the server.
            let mut connections = JoinSet::new();
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let shared = accepting.clone();
                connections.spawn(async move {
                    let _ = serve(socket, &shared).await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Socks5Server { addr, shared, task }
    }
}

struct Shared {
    settings: Socks5Builder,
    records: Mutex<Vec<Socks5Record>>,
}

/// The running proxy; dropping it stops it and closes its connections.
pub struct Socks5Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Socks5Server {
    pub fn builder() -> Socks5Builder {
        Socks5Builder::default()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What each client asked, in the order their handshakes ended (recorded before the
    /// proxy's last handshake reply is sent, so a client that got its answer is recorded).
    pub fn records(&self) -> Vec<Socks5Record> {
        self.shared.records.lock().unwrap().clone()
    }
}

impl Drop for Socks5Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut client: TcpStream, shared: &Shared) -> io::Result<()> {
    let mut record = Socks5Record::default();
    let [version, count] = read_array(&mut client).await?;
    if version != VERSION {
        return Ok(());
    }
    record.methods = read_vec(&mut client, count.into()).await?;
    let wanted = if shared.settings.credentials.is_some() {
        USERNAME_PASSWORD
    } else {
        NO_AUTHENTICATION
    };
    if !record.methods.contains(&wanted) {
        shared.records.lock().unwrap().push(record);
        client.write_all(&[VERSION, NO_ACCEPTABLE_METHODS]).await?;
        return Ok(());
    }
    client.write_all(&[VERSION, wanted]).await?;

    if let Some(expected) = &shared.settings.credentials {
        let [_subversion, user_len] = read_array(&mut client).await?;
        let user = read_vec(&mut client, user_len.into()).await?;
        let [password_len] = read_array(&mut client).await?;
        let password = read_vec(&mut client, password_len.into()).await?;
        let sent = (
            String::from_utf8_lossy(&user).into_owned(),
            String::from_utf8_lossy(&password).into_owned(),
        );
        let accepted = &sent == expected;
        record.credentials = Some(sent);
        if !accepted {
            shared.records.lock().unwrap().push(record);
            client.write_all(&[1, 1]).await?;
            return Ok(());
        }
        client.write_all(&[1, 0]).await?;
    }

    let [version, command, _reserved, address_type] = read_array(&mut client).await?;
    if version != VERSION || command != CONNECT {
        client.write_all(&reply(0x07)).await?;
        return Ok(());
    }
    let host = match address_type {
        1 => IpAddr::V4(Ipv4Addr::from(read_array::<4>(&mut client).await?)).to_string(),
        4 => IpAddr::V6(Ipv6Addr::from(read_array::<16>(&mut client).await?)).to_string(),
        3 => {
            let [len] = read_array(&mut client).await?;
            record.target_is_domain = true;
            String::from_utf8_lossy(&read_vec(&mut client, len.into()).await?).into_owned()
        }
        _ => {
            client.write_all(&reply(0x08)).await?;
            return Ok(());
        }
    };
    let port = u16::from_be_bytes(read_array(&mut client).await?);
    record.target = Some(format!("{host}:{port}"));
    let target = match host.parse::<IpAddr>() {
        Ok(ip) => Some(SocketAddr::new(ip, port)),
        Err(_) => shared
            .settings
            .hosts
            .get(&host.to_ascii_lowercase())
            .copied(),
    };
    shared.records.lock().unwrap().push(record);
    let Some(target) = target else {
        // Host unreachable.
        client.write_all(&reply(0x04)).await?;
        return Ok(());
    };
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        // Connection refused.
        client.write_all(&reply(0x05)).await?;
        return Ok(());
    };
    client.write_all(&reply(0x00)).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// A reply with the bound address 0.0.0.0:0.
fn reply(code: u8) -> [u8; 10] {
    [VERSION, code, 0, 1, 0, 0, 0, 0, 0, 0]
}

async fn read_array<const N: usize>(stream: &mut TcpStream) -> io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    stream.read_exact(&mut bytes).await?;
    Ok(bytes)
}

async fn read_vec(stream: &mut TcpStream, len: usize) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0u8; len];
    stream.read_exact(&mut bytes).await?;
    Ok(bytes)
}
