//! One MLLP peer: reads frames off any byte stream (plain TCP or TLS) and writes
//! framed replies, the way mini-redis's `Connection` reads and writes frames.

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};

use crate::hl7::frame::{self, FrameError, FrameFinder};

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("frame larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// The peer closed the connection with part of a frame unsent.
    #[error("the peer disconnected in the middle of a frame")]
    Truncated,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub struct Connection<S> {
    stream: BufWriter<S>,
    buffer: BytesMut,
    frames: FrameFinder,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    pub fn new(stream: S, max_frame: usize) -> Self {
        Connection {
            stream: BufWriter::new(stream),
            buffer: BytesMut::with_capacity(8 * 1024),
            frames: FrameFinder::new(max_frame),
        }
    }

    /// The next frame's payload; `None` when the peer closed cleanly between frames.
    pub async fn read_frame(&mut self) -> Result<Option<BytesMut>, ConnectionError> {
        loop {
            match self.frames.take_frame(&mut self.buffer) {
                Ok(Some(frame)) => return Ok(Some(frame)),
                Ok(None) => {}
                Err(FrameError::TooLarge { limit }) => return Err(ConnectionError::TooLarge { limit }),
            }
            if self.stream.read_buf(&mut self.buffer).await? == 0 {
                return if self.buffer.contains(&frame::START) {
                    Err(ConnectionError::Truncated)
                } else {
                    Ok(None)
                };
            }
        }
    }

    pub async fn write_frame(&mut self, payload: &[u8]) -> Result<(), ConnectionError> {
        self.stream.write_all(&frame::encode(payload)).await?;
        self.stream.flush().await?;
        Ok(())
    }
}
