//! End-to-end MLLP load: N connections each send ADT messages one after another,
//! waiting for every ACK (as interface engines do), and report messages per second
//! and ACK latency percentiles. Each message gets its own control id, MRN and visit
//! number, so every one is a new Patient and Encounter (the heavier case).
//!
//!     cargo bench --bench mllp_load -- HOST:PORT CONNECTIONS SECONDS TEMPLATE
//!
//! TEMPLATE is an ER7 file whose `{control_id}`, `{mrn}` and `{visit}` are replaced.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [address, connections, seconds, template] = &args[..] else {
        panic!("usage: mllp_load HOST:PORT CONNECTIONS SECONDS TEMPLATE");
    };
    let connections: usize = connections.parse().expect("connections");
    let duration = Duration::from_secs(seconds.parse().expect("seconds"));
    let template = std::fs::read_to_string(template)
        .expect("template")
        .replace('\n', "\r");
    let run = format!("{:x}", std::process::id());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for connection in 0..connections {
        let (address, template, run) = (address.clone(), template.clone(), run.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(&address).await.expect("connect");
            stream.set_nodelay(true).unwrap();
            let mut latencies = Vec::new();
            let mut buffer = vec![0u8; 64 * 1024];
            let mut n = 0u64;
            while started.elapsed() < duration {
                let id = format!("{run}-{connection}-{n}");
                let message = template
                    .replace("{control_id}", &id)
                    .replace("{mrn}", &format!("M{id}"))
                    .replace("{visit}", &format!("V{id}"));
                let mut frame = vec![0x0b];
                frame.extend_from_slice(message.as_bytes());
                frame.extend_from_slice(&[0x1c, 0x0d]);
                let sent = Instant::now();
                stream.write_all(&frame).await.expect("send");
                let mut reply = Vec::new();
                while !reply.ends_with(&[0x1c, 0x0d]) {
                    let read = stream.read(&mut buffer).await.expect("receive");
                    assert!(read > 0, "the server closed the connection");
                    reply.extend_from_slice(&buffer[..read]);
                }
                latencies.push(sent.elapsed());
                let ack = String::from_utf8_lossy(&reply);
                assert!(ack.contains("MSA|AA|"), "not accepted: {ack}");
                n += 1;
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("connection task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[index].as_secs_f64() * 1000.0
    };
    println!(
        "{{\"connections\": {connections}, \"messages\": {}, \"seconds\": {elapsed:.1}, \"messages_per_second\": {:.0}, \"ack_ms_p50\": {:.2}, \"ack_ms_p99\": {:.2}, \"ack_ms_max\": {:.2}}}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        percentile(0.50),
        percentile(0.99),
        percentile(1.0)
    );
}
