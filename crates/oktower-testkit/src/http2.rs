//! HTTP/2 serving (being written).

use std::io;

use crate::connection::{Connection, Stream};

pub(crate) async fn serve(_connection: Connection, _stream: Stream) -> io::Result<()> {
    Err(io::Error::other("HTTP/2 serving is being written"))
}
