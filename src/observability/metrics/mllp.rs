//! The MLLP listener: connections, messages by type and outcome, refused frames,
//! and the time from a frame's arrival to its ACK's departure.

use std::sync::LazyLock;
use std::time::Instant;

use prometheus::{
    register_histogram, register_int_counter, register_int_counter_vec, register_int_gauge, Histogram,
    IntCounter, IntCounterVec, IntGauge,
};

use super::LATENCY_BUCKETS;

static FRAMES_REFUSED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "claimbridge_mllp_frames_refused_total",
        "MLLP frames refused, by reason; the connection is closed",
        &["reason"]
    )
    .expect("metric registered once")
});

static MESSAGES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "claimbridge_mllp_messages_total",
        "HL7 v2 messages received, by message type and outcome",
        &["type", "outcome"]
    )
    .expect("metric registered once")
});

static CONNECTIONS_ACCEPTED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "claimbridge_mllp_connections_accepted_total",
        "MLLP connections accepted"
    )
    .expect("metric registered once")
});

static CONNECTIONS_OPEN: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!("claimbridge_mllp_connections_open", "MLLP connections open now")
        .expect("metric registered once")
});

static ACK_DURATION: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "claimbridge_mllp_ack_duration_seconds",
        "Time from a message's last byte received to its ACK written",
        LATENCY_BUCKETS.to_vec()
    )
    .expect("metric registered once")
});

/// A frame over `mllp_max_frame` closed its connection.
pub fn oversize_frame() {
    FRAMES_REFUSED.with_label_values(&["oversize"]).inc();
}

/// One message processed. `message_type` is MSH-9.1 as the sender wrote it: HL7
/// message types are three letters or digits (table 0076), and anything else is
/// counted as `other` so that a sender cannot mint series.
pub fn message(message_type: &str, outcome: &str) {
    let bounded = if message_type.len() == 3
        && message_type
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        message_type
    } else {
        "other"
    };
    MESSAGES.with_label_values(&[bounded, outcome]).inc();
}

/// A connection was accepted; it counts as open until the value is dropped.
pub fn connection_opened() -> OpenConnection {
    CONNECTIONS_ACCEPTED.inc();
    CONNECTIONS_OPEN.inc();
    OpenConnection(())
}

pub struct OpenConnection(());

impl Drop for OpenConnection {
    fn drop(&mut self) {
        CONNECTIONS_OPEN.dec();
    }
}

/// An ACK was written for the frame received at `received`.
pub fn ack_written(received: Instant) {
    ACK_DURATION.observe(received.elapsed().as_secs_f64());
}
