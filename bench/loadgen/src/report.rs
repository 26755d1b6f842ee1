//! The README's table from the JSON lines of one run: one row per figure, one column per
//! server, and each server's ratio to Node's.

use crate::ws::Error;
use serde_json::Value;

/// One figure of the table.
struct Row<'a> {
    title: &'a str,
    scenario: &'static str,
    /// Calls in flight, when the scenario is run with several.
    in_flight: Option<u64>,
    /// How the server was set up (`--variant`), when not as usual.
    variant: Option<&'static str>,
    /// The JSON key of the figure, or a figure made from others (see [`figure`]).
    key: &'a str,
    unit: Unit,
}

const ROWS: [Row<'static>; 43] = [
    Row {
        title: "echo: acks/s",
        scenario: "echo",
        in_flight: None,
        variant: None,
        key: "acks_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "echo: server CPU per ack",
        scenario: "echo",
        in_flight: None,
        variant: None,
        key: CPU_PER_ACK,
        unit: Unit::Micros,
    },
    Row {
        title: "echo: instructions per ack (valgrind)",
        scenario: "echo",
        in_flight: None,
        variant: Some("instructions"),
        key: "instructions_per_ack",
        unit: Unit::Count,
    },
    Row {
        title: "fanout: instructions per delivery (valgrind)",
        scenario: "fanout",
        in_flight: None,
        variant: Some("instructions"),
        key: "instructions_per_delivery",
        unit: Unit::Count,
    },
    Row {
        title: "fanout, 4 in flight: server CPU per delivery",
        scenario: "fanout",
        in_flight: Some(4),
        variant: None,
        key: CPU_PER_DELIVERY,
        unit: Unit::Nanos,
    },
    Row {
        title: "echo: p50 latency",
        scenario: "echo",
        in_flight: None,
        variant: None,
        key: "p50_us",
        unit: Unit::Micros,
    },
    Row {
        title: "echo: p99 latency",
        scenario: "echo",
        in_flight: None,
        variant: None,
        key: "p99_us",
        unit: Unit::Micros,
    },
    Row {
        title: "fanout, 1 in flight: deliveries/s",
        scenario: "fanout",
        in_flight: Some(1),
        variant: None,
        key: "deliveries_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "fanout, 1 in flight: p99 latency",
        scenario: "fanout",
        in_flight: Some(1),
        variant: None,
        key: "p99_us",
        unit: Unit::Micros,
    },
    Row {
        title: "fanout, 4 in flight: deliveries/s",
        scenario: "fanout",
        in_flight: Some(4),
        variant: None,
        key: "deliveries_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "fanout, 4 in flight: p99 latency",
        scenario: "fanout",
        in_flight: Some(4),
        variant: None,
        key: "p99_us",
        unit: Unit::Micros,
    },
    Row {
        title: "idle: memory per connection",
        scenario: "idle",
        in_flight: None,
        variant: None,
        key: "kb_per_connection",
        unit: Unit::Kb,
    },
    Row {
        title: "idle: connects/s",
        scenario: "idle",
        in_flight: None,
        variant: None,
        key: "connects_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "polling: acks/s",
        scenario: "polling",
        in_flight: None,
        variant: None,
        key: "acks_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "fanout across 2 servers on Redis, 4 in flight: deliveries/s",
        scenario: "cluster-fanout",
        in_flight: Some(4),
        variant: None,
        key: "deliveries_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "fanout across 2 servers on Redis: p99 latency",
        scenario: "cluster-fanout",
        in_flight: Some(4),
        variant: None,
        key: "p99_us",
        unit: Unit::Micros,
    },
    Row {
        title: "fanout across 2 servers on Redis Streams, 4 in flight: deliveries/s",
        scenario: "cluster-fanout",
        in_flight: Some(4),
        variant: Some("streams"),
        key: "deliveries_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "fanout across 2 servers on Redis Streams: p99 latency",
        scenario: "cluster-fanout",
        in_flight: Some(4),
        variant: Some("streams"),
        key: "p99_us",
        unit: Unit::Micros,
    },
    Row {
        title: "fanout across 2 servers on PostgreSQL, 4 in flight: deliveries/s",
        scenario: "cluster-fanout",
        in_flight: Some(4),
        variant: Some("postgres"),
        key: "deliveries_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "fanout across 2 servers on PostgreSQL: p99 latency",
        scenario: "cluster-fanout",
        in_flight: Some(4),
        variant: Some("postgres"),
        key: "p99_us",
        unit: Unit::Micros,
    },
    Row {
        title: "fanout across 2 servers on sharded Redis, 4 in flight: deliveries/s",
        scenario: "cluster-fanout",
        in_flight: Some(4),
        variant: Some("sharded"),
        key: "deliveries_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "fanout across 2 servers on sharded Redis: p99 latency",
        scenario: "cluster-fanout",
        in_flight: Some(4),
        variant: Some("sharded"),
        key: "p99_us",
        unit: Unit::Micros,
    },
    Row {
        title: "recovery on, echo: acks/s",
        scenario: "echo",
        in_flight: None,
        variant: Some("recovery"),
        key: "acks_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "recovery on, fanout, 4 in flight: deliveries/s",
        scenario: "fanout",
        in_flight: Some(4),
        variant: Some("recovery"),
        key: "deliveries_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "recovery on: memory per kept packet",
        scenario: "retained",
        in_flight: None,
        variant: Some("recovery"),
        key: "bytes_per_packet",
        unit: Unit::Bytes,
    },
    Row {
        title: "echo, 4 KB JSON: acks/s",
        scenario: "echo",
        in_flight: None,
        variant: Some("4kb"),
        key: "acks_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "echo, 4 KB JSON: bytes on the wire per echo",
        scenario: "echo",
        in_flight: None,
        variant: Some("4kb"),
        key: "wire_bytes_per_echo",
        unit: Unit::Bytes,
    },
    Row {
        title: "echo, 4 KB msgpack: acks/s",
        scenario: "echo",
        in_flight: None,
        variant: Some("msgpack-4kb"),
        key: "acks_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "echo, 4 KB msgpack: bytes on the wire per echo",
        scenario: "echo",
        in_flight: None,
        variant: Some("msgpack-4kb"),
        key: "wire_bytes_per_echo",
        unit: Unit::Bytes,
    },
    Row {
        title: "echo, 4 KB JSON, per-message deflate: acks/s",
        scenario: "echo",
        in_flight: None,
        variant: Some("deflate-4kb"),
        key: "acks_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "echo, 4 KB JSON, per-message deflate: bytes on the wire per echo",
        scenario: "echo",
        in_flight: None,
        variant: Some("deflate-4kb"),
        key: "wire_bytes_per_echo",
        unit: Unit::Bytes,
    },
    Row {
        title: "echo, metrics + admin UI (production): acks/s",
        scenario: "echo",
        in_flight: None,
        variant: Some("observed"),
        key: "acks_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "echo, metrics + admin UI (production): server CPU per ack",
        scenario: "echo",
        in_flight: None,
        variant: Some("observed"),
        key: CPU_PER_ACK,
        unit: Unit::Micros,
    },
    Row {
        title: "fanout, 4 in flight, metrics + admin UI (production): deliveries/s",
        scenario: "fanout",
        in_flight: Some(4),
        variant: Some("observed"),
        key: "deliveries_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "fanout, 4 in flight, metrics + admin UI (production): server CPU per delivery",
        scenario: "fanout",
        in_flight: Some(4),
        variant: Some("observed"),
        key: CPU_PER_DELIVERY,
        unit: Unit::Nanos,
    },
    Row {
        title: "echo at 20,000 acked calls/s (all servers alike): acks/s",
        scenario: "echo",
        in_flight: None,
        variant: Some("paced"),
        key: "acks_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "echo at 20,000 acked calls/s: p50 latency",
        scenario: "echo",
        in_flight: None,
        variant: Some("paced"),
        key: "p50_us",
        unit: Unit::Micros,
    },
    Row {
        title: "echo at 20,000 acked calls/s: p99 latency",
        scenario: "echo",
        in_flight: None,
        variant: Some("paced"),
        key: "p99_us",
        unit: Unit::Micros,
    },
    Row {
        title: "echo at 20,000 acked calls/s: p99.9 latency",
        scenario: "echo",
        in_flight: None,
        variant: Some("paced"),
        key: "p999_us",
        unit: Unit::Micros,
    },
    Row {
        title: "fanout at 50 broadcasts/s to 1,000 (all servers alike): deliveries/s",
        scenario: "fanout",
        in_flight: None,
        variant: Some("paced"),
        key: "deliveries_per_s",
        unit: Unit::Rate,
    },
    Row {
        title: "fanout at 50 broadcasts/s to 1,000: p50 latency",
        scenario: "fanout",
        in_flight: None,
        variant: Some("paced"),
        key: "p50_us",
        unit: Unit::Micros,
    },
    Row {
        title: "fanout at 50 broadcasts/s to 1,000: p99 latency",
        scenario: "fanout",
        in_flight: None,
        variant: Some("paced"),
        key: "p99_us",
        unit: Unit::Micros,
    },
    Row {
        title: "fanout at 50 broadcasts/s to 1,000: p99.9 latency",
        scenario: "fanout",
        in_flight: None,
        variant: Some("paced"),
        key: "p999_us",
        unit: Unit::Micros,
    },
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Rate,
    Micros,
    Nanos,
    Kb,
    Bytes,
    Count,
}

const BASELINE: &str = "node";

/// The server's CPU time per acked echo, in µs: what it costs, however busy the load
/// generator was (the server's own CPU counters over the window, by the acks in it).
const CPU_PER_ACK: &str = "cpu_per_ack";
/// The server's CPU time per fanout delivery, in ns.
const CPU_PER_DELIVERY: &str = "cpu_per_delivery";

/// The figure `key` of a line: a field of it, or one of the figures made from two fields.
fn figure(line: &Value, key: &str) -> Option<f64> {
    let cpu = || line["server_cpu"].as_f64();
    match key {
        CPU_PER_ACK => Some(cpu()? * 1e6 / line["acks_per_s"].as_f64()?),
        CPU_PER_DELIVERY => Some(cpu()? * 1e9 / line["deliveries_per_s"].as_f64()?),
        _ => line[key].as_f64(),
    }
}

/// The README's table from a run's lines: each figure's median, and its range over the runs
/// (`run` in each line) when there were several.
pub fn print(jsonl: &str) -> Result<(), Error> {
    let lines: Vec<Value> = jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let mut labels: Vec<&str> = Vec::new();
    for line in &lines {
        let label = line["label"].as_str().unwrap_or("?");
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    let others: Vec<&str> = labels.iter().copied().filter(|l| *l != BASELINE).collect();

    print!("| figure |");
    for label in &labels {
        print!(" {label} |");
    }
    for label in &others {
        print!(" {label} / {BASELINE} |");
    }
    println!();
    println!("|---|{}", "---:|".repeat(labels.len() + others.len()));
    let scale = scale_rows(&lines);
    let scale: Vec<Row> = scale
        .iter()
        .map(|(title, key, unit)| Row {
            title,
            scenario: "scale",
            in_flight: None,
            variant: None,
            key,
            unit: *unit,
        })
        .collect();
    for row in ROWS.iter().chain(&scale) {
        let figures = |label: &str| figures(&lines, row, label);
        // A row no server was run for (socketioxide has no recovery) is left out.
        if labels.iter().all(|label| figures(label).is_empty()) {
            continue;
        }
        let (title, unit) = (row.title, row.unit);
        print!("| {title} |");
        for label in &labels {
            let values: Vec<f64> = figures(label).into_iter().map(|(_, v)| v).collect();
            print!(" {} |", spread(&values, |v| show(v, unit)));
        }
        for label in &others {
            // Each run's ratio, the two servers measured in that run.
            let ratios = ratios(&figures(label), &figures(BASELINE));
            print!(" {} |", spread(&ratios, |r| format!("{r:.2}×")));
        }
        println!();
    }
    // What a unit of work costs, against socketioxide (the efficiency targets).
    for row in ROWS
        .iter()
        .filter(|row| row.unit == Unit::Count || row.key.starts_with("cpu_per_"))
    {
        let ratios = ratios(
            &figures(&lines, row, "socketio-rs"),
            &figures(&lines, row, "socketioxide"),
        );
        if !ratios.is_empty() {
            println!(
                "\nsocketio-rs / socketioxide, {}: {}",
                row.title,
                spread(&ratios, |r| format!("{r:.2}×"))
            );
        }
    }
    // The load generator must not be what limits a run.
    let busiest = lines
        .iter()
        .filter_map(|l| l["loadgen_cpu"].as_f64())
        .fold(0.0, f64::max);
    println!(
        "\nload generator: at most {:.0}% of its core",
        busiest * 100.0
    );
    Ok(())
}

/// The connection counts `scale` lines were measured at, each once, smallest first.
pub(crate) fn scale_sizes<'a>(lines: impl Iterator<Item = &'a Value>) -> Vec<u64> {
    let mut sizes: Vec<u64> = lines
        .filter_map(|l| l["sizes"].as_array())
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// The rows of the `scale` scenario (title, key, unit), for the sizes it was run at: memory
/// per connection, the time until the last receiver has a broadcast and deliveries/s at each.
fn scale_rows(lines: &[Value]) -> Vec<(String, String, Unit)> {
    let sizes = scale_sizes(lines.iter().filter(|l| l["scenario"] == "scale"));
    if sizes.is_empty() {
        return Vec::new();
    }
    let each = |title: &'static str, key: &'static str, unit: Unit| -> Vec<_> {
        sizes
            .iter()
            .map(|&n| {
                (
                    title.replace('N', &thousands(n)),
                    format!("{key}_{n}"),
                    unit,
                )
            })
            .collect()
    };
    let (first, last) = (thousands(sizes[0]), thousands(sizes[sizes.len() - 1]));
    let mut rows: Vec<(String, String, Unit)> = Vec::new();
    rows.extend(each(
        "scale, N idle: memory per connection",
        "kb_per_connection",
        Unit::Kb,
    ));
    rows.push((
        format!("scale: memory per added connection, {first} to {last}"),
        "kb_per_connection_marginal".into(),
        Unit::Kb,
    ));
    rows.push((
        format!("scale: connects/s, 0 to {last}"),
        "connects_per_s".into(),
        Unit::Rate,
    ));
    rows.push((
        "scale: receivers that missed a broadcast".into(),
        "missed_broadcasts".into(),
        Unit::Count,
    ));
    rows.extend(each(
        "scale, one broadcast to N: time until the last receiver has it",
        "broadcast_last_us",
        Unit::Micros,
    ));
    rows.extend(each(
        "scale, broadcasts to N, 4 in flight: deliveries/s",
        "deliveries_per_s",
        Unit::Rate,
    ));
    rows
}

/// 15000 as `15,000`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The row's figure of `label` in each run, in run order.
fn figures(lines: &[Value], row: &Row, label: &str) -> Vec<(u64, f64)> {
    lines
        .iter()
        .filter(|l| {
            l["label"] == label
                && l["scenario"] == row.scenario
                && row.in_flight.is_none_or(|n| l["in_flight"] == n)
                && l["variant"].as_str() == row.variant
        })
        .filter_map(|l| Some((l["run"].as_u64().unwrap_or(1), figure(l, row.key)?)))
        .collect()
}

/// Each run's ratio of `figures` to `base`, the two measured in the same run.
fn ratios(figures: &[(u64, f64)], base: &[(u64, f64)]) -> Vec<f64> {
    figures
        .iter()
        .filter_map(|(run, v)| {
            let (_, b) = base.iter().find(|(r, _)| r == run)?;
            // No ratio to a zero (no receiver missed a broadcast on either side).
            Some(v / b).filter(|r| r.is_finite())
        })
        .collect()
}

/// The median of `values`, and with several, their range: `250k [241k–254k]`.
fn spread(values: &[f64], show: impl Fn(f64) -> String) -> String {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.as_slice() {
        [] => "–".into(),
        [one] => show(*one),
        all => {
            let median = median(all).unwrap_or(f64::NAN);
            let (low, high) = (show(all[0]), show(all[all.len() - 1]));
            if low == high {
                show(median)
            } else {
                format!("{} [{low}–{high}]", show(median))
            }
        }
    }
}

/// The median of values sorted in increasing order.
pub(crate) fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

fn show(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Rate if value >= 10_000.0 => format!("{:.0}k", value / 1000.0),
        Unit::Rate => format!("{value:.0}"),
        Unit::Micros if value >= 1000.0 => format!("{:.1} ms", value / 1000.0),
        Unit::Micros if value < 10.0 => format!("{value:.2} µs"),
        Unit::Micros => format!("{value:.0} µs"),
        Unit::Nanos => format!("{value:.0} ns"),
        Unit::Kb => format!("{value:.1} KB"),
        Unit::Bytes => format!("{value:.0} B"),
        Unit::Count => format!("{value:.0}"),
    }
}
