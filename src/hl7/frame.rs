//! MLLP framing (HL7 v2 Minimal Lower Layer Protocol, release 2): a message is sent
//! as `0x0B <message bytes> 0x1C 0x0D`. Finding frames is separate from reading the
//! socket so that it can be tested byte by byte.

use bytes::{Buf, BytesMut};

/// Start block.
pub const START: u8 = 0x0B;
/// End block, always followed by a carriage return.
pub const END: [u8; 2] = [0x1C, 0x0D];

#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    /// More than the configured maximum arrived without an end block.
    TooLarge { limit: usize },
}

/// Finds frames in a buffer that grows with each read. It remembers how far it has
/// looked for the end block, so a large frame arriving over many reads is scanned
/// once rather than once per read.
#[derive(Debug)]
pub struct FrameFinder {
    max_size: usize,
    searched: usize,
}

impl FrameFinder {
    pub fn new(max_size: usize) -> Self {
        FrameFinder {
            max_size,
            searched: 0,
        }
    }

    /// Takes the next complete frame's payload out of `buffer`, if one has arrived.
    ///
    /// Bytes before a start block (line noise, a peer's keep-alive newlines) are
    /// dropped. A partial frame stays in the buffer until more bytes come; one larger
    /// than the maximum is an error, so a peer cannot make the server buffer without end.
    pub fn take_frame(&mut self, buffer: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        let max_size = self.max_size;
        match buffer.iter().position(|&b| b == START) {
            Some(0) => {}
            Some(start) => {
                buffer.advance(start);
                self.searched = 0;
            }
            None => {
                buffer.clear();
                self.searched = 0;
                return Ok(None);
            }
        }
        // The last byte already looked at may be the first half of the end block.
        let from = self.searched.saturating_sub(1);
        match buffer[from..]
            .windows(2)
            .position(|w| w == END)
            .map(|at| from + at)
        {
            Some(end) => {
                self.searched = 0;
                if end - 1 > max_size {
                    return Err(FrameError::TooLarge { limit: max_size });
                }
                let mut frame = buffer.split_to(end + END.len());
                frame.advance(1);
                frame.truncate(end - 1);
                Ok(Some(frame))
            }
            // Start block, `max_size` bytes and a possible first end byte: anything
            // longer without an end block cannot be a frame within the limit.
            None if buffer.len() > max_size + 2 => Err(FrameError::TooLarge { limit: max_size }),
            None => {
                self.searched = buffer.len();
                Ok(None)
            }
        }
    }
}

/// Wraps a payload in start and end blocks.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(payload.len() + 3);
    framed.push(START);
    framed.extend_from_slice(payload);
    framed.extend_from_slice(&END);
    framed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(buffer: &mut BytesMut, bytes: &[u8]) {
        buffer.extend_from_slice(bytes);
    }

    #[test]
    fn a_frame_split_across_reads_is_assembled() {
        let framed = encode(b"MSH|^~\\&|A\rPID|1");
        let mut buffer = BytesMut::new();
        let mut frames = FrameFinder::new(1024);
        for byte in &framed[..framed.len() - 1] {
            feed(&mut buffer, &[*byte]);
            assert_eq!(frames.take_frame(&mut buffer), Ok(None));
        }
        feed(&mut buffer, &framed[framed.len() - 1..]);
        assert_eq!(
            frames.take_frame(&mut buffer).unwrap().unwrap(),
            &b"MSH|^~\\&|A\rPID|1"[..]
        );
        assert!(buffer.is_empty());
    }

    #[test]
    fn several_frames_in_one_read_come_out_in_order() {
        let mut buffer = BytesMut::new();
        let mut frames = FrameFinder::new(1024);
        feed(&mut buffer, b"\r\n");
        feed(&mut buffer, &encode(b"one"));
        feed(&mut buffer, &encode(b"two"));
        feed(&mut buffer, &encode(b"three")[..4]);
        assert_eq!(frames.take_frame(&mut buffer).unwrap().unwrap(), &b"one"[..]);
        assert_eq!(frames.take_frame(&mut buffer).unwrap().unwrap(), &b"two"[..]);
        assert_eq!(frames.take_frame(&mut buffer), Ok(None));
        feed(&mut buffer, b"ee\x1c\x0d");
        assert_eq!(frames.take_frame(&mut buffer).unwrap().unwrap(), &b"three"[..]);
    }

    #[test]
    fn an_end_block_without_carriage_return_is_not_an_end() {
        let mut buffer = BytesMut::new();
        let mut frames = FrameFinder::new(1024);
        feed(&mut buffer, b"\x0bab\x1ccd");
        assert_eq!(frames.take_frame(&mut buffer), Ok(None));
        feed(&mut buffer, b"\x1c\x0d");
        assert_eq!(frames.take_frame(&mut buffer).unwrap().unwrap(), &b"ab\x1ccd"[..]);
    }

    #[test]
    fn oversize_frames_are_refused_complete_or_not() {
        let mut buffer = BytesMut::new();
        let mut frames = FrameFinder::new(10);
        feed(&mut buffer, &encode(&[b'x'; 11]));
        assert_eq!(
            frames.take_frame(&mut buffer),
            Err(FrameError::TooLarge { limit: 10 })
        );
        let mut buffer = BytesMut::new();
        let mut frames = FrameFinder::new(10);
        feed(&mut buffer, b"\x0b");
        feed(&mut buffer, &[b'x'; 10]);
        feed(&mut buffer, b"\x1c");
        assert_eq!(frames.take_frame(&mut buffer), Ok(None));
        feed(&mut buffer, b"x");
        assert_eq!(
            frames.take_frame(&mut buffer),
            Err(FrameError::TooLarge { limit: 10 })
        );
        let mut buffer = BytesMut::new();
        let mut frames = FrameFinder::new(10);
        feed(&mut buffer, &encode(&[b'x'; 10]));
        assert_eq!(frames.take_frame(&mut buffer).unwrap().unwrap().len(), 10);
    }
}
