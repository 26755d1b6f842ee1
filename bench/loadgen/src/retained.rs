//! `retained`: what connection state recovery costs in memory. One client sends `PACKETS`
//! acked broadcasts to a room nobody is in; a server with recovery on keeps each of them for
//! clients that may come back (Node keeps every broadcast, whoever it reached). The server's
//! resident memory before and after, over the count, is the cost of one kept packet.

use crate::scenarios::{Options, PAYLOAD};
use crate::stats::rss_kb;
use crate::ws::{ack_id, Client, Error};
use serde_json::{json, Value};

/// As many as our default `max_packets` keeps: none is pushed out.
const PACKETS: u64 = 10_000;

pub async fn retained(o: &Options) -> Result<Value, Error> {
    let pid = o.server_pid.ok_or("retained needs --server-pid")?;
    let mut client = Client::connect(&o.addr).await?;
    // A first round trip, so that what the first broadcast allocates once is not counted.
    send_acked(&mut client, 0).await?;
    tokio::time::sleep(o.warmup).await;
    let before = rss_kb(pid).ok_or("cannot read the server's memory")?;
    for id in 1..=PACKETS {
        send_acked(&mut client, id).await?;
    }
    tokio::time::sleep(o.warmup).await;
    let after = rss_kb(pid).ok_or("cannot read the server's memory")?;
    Ok(json!({
        "packets": PACKETS,
        "payload_bytes": PAYLOAD.len(),
        "rss_before_kb": before,
        "rss_after_kb": after,
        "bytes_per_packet": after.saturating_sub(before) as f64 * 1024.0 / PACKETS as f64,
    }))
}

async fn send_acked(client: &mut Client, id: u64) -> Result<(), Error> {
    client
        .send(format!("42{id}[\"broadcast\",\"nobody\",{PAYLOAD}]"))
        .await?;
    loop {
        let packet = client.next().await?;
        if ack_id(&packet) == Some(id) {
            return Ok(());
        }
    }
}
