//! HTTP/1 serving (being written).

use std::io;

use crate::connection::{Connection, Stream};

pub(crate) async fn serve(_connection: Connection, _stream: Stream) -> io::Result<()> {
    Err(io::Error::other("HTTP/1 serving is being written"))
}
