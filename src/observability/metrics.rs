//! Prometheus metrics, registered once in the process-wide default registry and
//! served at `GET /metrics` in the text format.

use std::sync::LazyLock;

use prometheus::{register_int_counter_vec, Encoder, IntCounterVec, TextEncoder};

static MLLP_FRAMES_REFUSED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "claimbridge_mllp_frames_refused_total",
        "MLLP frames refused, by reason; the connection is closed",
        &["reason"]
    )
    .expect("metric registered once")
});

static MLLP_MESSAGES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "claimbridge_mllp_messages_total",
        "HL7 v2 messages received, by message type and outcome",
        &["type", "outcome"]
    )
    .expect("metric registered once")
});

/// A frame over `mllp_max_frame` closed its connection.
pub fn mllp_oversize_frame() {
    MLLP_FRAMES_REFUSED.with_label_values(&["oversize"]).inc();
}

/// One message processed: `message_type` is MSH-9.1 (a bounded set of values).
pub fn mllp_message(message_type: &str, outcome: &str) {
    MLLP_MESSAGES.with_label_values(&[message_type, outcome]).inc();
}

/// Every registered metric in the Prometheus text format.
pub fn render() -> String {
    let mut buffer = Vec::new();
    TextEncoder::new()
        .encode(&prometheus::gather(), &mut buffer)
        .expect("the text encoder writes to memory");
    String::from_utf8(buffer).expect("the text format is UTF-8")
}
