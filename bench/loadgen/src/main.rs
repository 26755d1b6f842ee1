//! The load generator of `bench/run.sh`: one scenario against one server, its figures printed
//! as one JSON line; `report` turns the lines of a run into the README's table.
//!
//! ```text
//! loadgen echo|fanout|idle|polling|retained --addr 127.0.0.1:3000 [--server-pid N]
//!         [--label NAME] [--variant NAME] [--connections N] [--in-flight N] [--warmup SECS]
//!         [--seconds SECS] [--payload-bytes N] [--parser default|msgpack] [--deflate]
//!         [--rate N]
//! loadgen cluster-fanout --addr SENDER_SERVER --receivers-addr OTHER_SERVER [...]
//! loadgen scale --addr 127.0.0.1:3000 --server-pid N [--sizes 1000,5000,15000] [--probes N]
//!         [--seconds SECS] [--warmup SECS]
//! loadgen report results.jsonl
//! loadgen chart results.jsonl out.png
//! ```
//!
//! `scale` connects idle clients in steps (`--sizes`), and at each step reads the server's
//! memory and times broadcasts to all of them (`--probes` single ones, then `--seconds` of
//! them in flight; `--warmup` seconds of settling before each memory reading); see `scale`.
//! `--rate N` paces `echo` (N acked calls a second among all clients) or `fanout` (N
//! broadcasts a second), for latency at equal load (see `paced`).
//! `--payload-bytes` and `--parser` change what `echo` sends: JSON objects of about N bytes
//! (prose-like text, 64 different ones in turn) instead of the small one, and the msgpack parser instead of JSON text.
//! `--deflate` makes `echo`'s clients offer per-message deflate as a browser does, and
//! compress what they send from 1024 bytes up (the server must agree).
//!
//! It runs on one thread, so that pinned to one core it leaves the other to the server; it
//! reports its own CPU use so that a run where it was the bottleneck shows as such.

mod chart;
mod http1;
mod msgpack;
mod paced;
mod polling;
mod report;
mod retained;
mod scale;
mod scenarios;
mod stats;
mod tcp;
mod ws;

use scenarios::Options;
use serde_json::json;
use std::time::Duration;
use ws::Error;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scenario = args
        .first()
        .ok_or("usage: loadgen <scenario> [options]")?
        .clone();
    if scenario == "report" {
        let file = args.get(1).ok_or("usage: loadgen report <results.jsonl>")?;
        return report::print(&std::fs::read_to_string(file)?);
    }
    if scenario == "chart" {
        let usage = "usage: loadgen chart <results.jsonl> <out.png>";
        let (file, out) = (args.get(1).ok_or(usage)?, args.get(2).ok_or(usage)?);
        return chart::draw(&std::fs::read_to_string(file)?, out);
    }
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let number = |name: &str, default: u64| -> Result<u64, Error> {
        flag(name).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| format!("{name}: not a number").into())
        })
    };
    let (connections, in_flight) = match scenario.as_str() {
        "echo" => (100, 4),
        "fanout" | "cluster-fanout" => (1000, 1),
        "idle" => (10_000, 0),
        "polling" => (100, 1),
        "retained" => (1, 1),
        "scale" => (0, 0),
        other => return Err(format!("unknown scenario {other}").into()),
    };
    let mut options = Options {
        addr: flag("--addr").unwrap_or_else(|| "127.0.0.1:3000".into()),
        connections: number("--connections", connections)? as usize,
        in_flight: number("--in-flight", in_flight)? as usize,
        warmup: Duration::from_secs(number("--warmup", 2)?),
        seconds: Duration::from_secs(number("--seconds", 10)?),
        server_pid: flag("--server-pid").and_then(|p| p.parse().ok()),
        receivers_addr: flag("--receivers-addr"),
        payloads: match flag("--payload-bytes") {
            Some(_) => scenarios::payloads_of(number("--payload-bytes", 0)? as usize),
            None => vec![serde_json::from_str(scenarios::PAYLOAD)?],
        },
        speech: ws::Speech {
            msgpack: match flag("--parser").as_deref() {
                None | Some("default") => false,
                Some("msgpack") => true,
                Some(other) => {
                    return Err(format!("--parser: default or msgpack, not {other}").into())
                }
            },
            deflate: args.iter().any(|a| a == "--deflate"),
        },
    };
    let sizes = scale::sizes_of(&flag("--sizes").unwrap_or_else(|| "1000,5000,15000".into()))?;
    let probes = number("--probes", 5)?.max(1) as usize;
    if scenario == "scale" {
        options.connections = sizes.last().copied().unwrap_or(0);
    }
    if scenario == "cluster-fanout" && options.receivers_addr.is_none() {
        return Err("cluster-fanout needs --receivers-addr".into());
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let rate = match flag("--rate") {
        Some(_) => Some(number("--rate", 0)?),
        None => None,
    };
    let figures = local.block_on(&runtime, async {
        match (scenario.as_str(), rate) {
            ("echo", Some(rate)) => paced::echo(&options, rate).await,
            ("fanout", Some(rate)) => paced::fanout(&options, rate).await,
            ("scale", None) => scale::scale(&options, &sizes, probes).await,
            (_, Some(_)) => Err("--rate: echo and fanout only".into()),
            _ => run(&scenario, &options).await,
        }
    })?;
    let line = json!({
        "scenario": scenario,
        "label": flag("--label").unwrap_or_default(),
        // How the server was set up when not as usual: "recovery" (connection state recovery).
        "variant": flag("--variant"),
        "connections": options.connections,
        "in_flight": options.in_flight,
        // Which of bench/run.sh's repeated runs this is (BENCH_RUNS).
        "run": number("--run", 1)?,
    });
    println!("{}", scenarios::with(figures, line));
    Ok(())
}

/// The scenarios that go as fast as the server answers.
async fn run(scenario: &str, options: &Options) -> Result<serde_json::Value, Error> {
    match scenario {
        "echo" => scenarios::echo(options).await,
        "fanout" | "cluster-fanout" => scenarios::fanout(options).await,
        "idle" => scenarios::idle(options).await,
        "retained" => retained::retained(options).await,
        _ => polling::polling(options).await,
    }
}
