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

/// Takes the next complete frame's payload out of `buffer`, if one has arrived.
///
/// Bytes before a start block (line noise, a peer's keep-alive newlines) are
/// dropped. A partial frame stays in the buffer until more bytes come; one larger
/// than `max_size` is an error, so a peer cannot make the server buffer without end.
pub fn take_frame(buffer: &mut BytesMut, max_size: usize) -> Result<Option<BytesMut>, FrameError> {
    match buffer.iter().position(|&b| b == START) {
        Some(start) => buffer.advance(start),
        None => {
            buffer.clear();
            return Ok(None);
        }
    }
    match buffer.windows(2).position(|w| w == END) {
        Some(end) => {
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
        None => Ok(None),
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
        for byte in &framed[..framed.len() - 1] {
            feed(&mut buffer, &[*byte]);
            assert_eq!(take_frame(&mut buffer, 1024), Ok(None));
        }
        feed(&mut buffer, &framed[framed.len() - 1..]);
        assert_eq!(
            take_frame(&mut buffer, 1024).unwrap().unwrap(),
            &b"MSH|^~\\&|A\rPID|1"[..]
        );
        assert!(buffer.is_empty());
    }

    #[test]
    fn several_frames_in_one_read_come_out_in_order() {
        let mut buffer = BytesMut::new();
        feed(&mut buffer, b"\r\n");
        feed(&mut buffer, &encode(b"one"));
        feed(&mut buffer, &encode(b"two"));
        feed(&mut buffer, &encode(b"three")[..4]);
        assert_eq!(take_frame(&mut buffer, 1024).unwrap().unwrap(), &b"one"[..]);
        assert_eq!(take_frame(&mut buffer, 1024).unwrap().unwrap(), &b"two"[..]);
        assert_eq!(take_frame(&mut buffer, 1024), Ok(None));
        feed(&mut buffer, b"ee\x1c\x0d");
        assert_eq!(take_frame(&mut buffer, 1024).unwrap().unwrap(), &b"three"[..]);
    }

    #[test]
    fn an_end_block_without_carriage_return_is_not_an_end() {
        let mut buffer = BytesMut::new();
        feed(&mut buffer, b"\x0bab\x1ccd");
        assert_eq!(take_frame(&mut buffer, 1024), Ok(None));
        feed(&mut buffer, b"\x1c\x0d");
        assert_eq!(take_frame(&mut buffer, 1024).unwrap().unwrap(), &b"ab\x1ccd"[..]);
    }

    #[test]
    fn oversize_frames_are_refused_complete_or_not() {
        let mut buffer = BytesMut::new();
        feed(&mut buffer, &encode(&[b'x'; 11]));
        assert_eq!(
            take_frame(&mut buffer, 10),
            Err(FrameError::TooLarge { limit: 10 })
        );
        let mut buffer = BytesMut::new();
        feed(&mut buffer, b"\x0b");
        feed(&mut buffer, &[b'x'; 10]);
        feed(&mut buffer, b"\x1c");
        assert_eq!(take_frame(&mut buffer, 10), Ok(None));
        feed(&mut buffer, b"x");
        assert_eq!(
            take_frame(&mut buffer, 10),
            Err(FrameError::TooLarge { limit: 10 })
        );
        let mut buffer = BytesMut::new();
        feed(&mut buffer, &encode(&[b'x'; 10]));
        assert_eq!(take_frame(&mut buffer, 10).unwrap().unwrap().len(), 10);
    }
}
