//! The README's table from the JSON lines of one run: one row per figure, one column per
//! server, and each server's ratio to Node's.

use crate::ws::Error;
use serde_json::Value;

/// The figures in the table: title, scenario, calls in flight (when the scenario is run with
/// several), the JSON key, and how to print it.
const ROWS: [(&str, &str, Option<u64>, &str, Unit); 12] = [
    ("echo: acks/s", "echo", None, "acks_per_s", Unit::Rate),
    ("echo: p50 latency", "echo", None, "p50_us", Unit::Micros),
    ("echo: p99 latency", "echo", None, "p99_us", Unit::Micros),
    (
        "fanout, 1 in flight: deliveries/s",
        "fanout",
        Some(1),
        "deliveries_per_s",
        Unit::Rate,
    ),
    (
        "fanout, 1 in flight: p99 latency",
        "fanout",
        Some(1),
        "p99_us",
        Unit::Micros,
    ),
    (
        "fanout, 4 in flight: deliveries/s",
        "fanout",
        Some(4),
        "deliveries_per_s",
        Unit::Rate,
    ),
    (
        "fanout, 4 in flight: p99 latency",
        "fanout",
        Some(4),
        "p99_us",
        Unit::Micros,
    ),
    (
        "idle: memory per connection",
        "idle",
        None,
        "kb_per_connection",
        Unit::Kb,
    ),
    (
        "idle: connects/s",
        "idle",
        None,
        "connects_per_s",
        Unit::Rate,
    ),
    ("polling: acks/s", "polling", None, "acks_per_s", Unit::Rate),
    (
        "fanout across 2 servers on Redis, 4 in flight: deliveries/s",
        "cluster-fanout",
        Some(4),
        "deliveries_per_s",
        Unit::Rate,
    ),
    (
        "fanout across 2 servers on Redis: p99 latency",
        "cluster-fanout",
        Some(4),
        "p99_us",
        Unit::Micros,
    ),
];

#[derive(Clone, Copy)]
enum Unit {
    Rate,
    Micros,
    Kb,
}

const BASELINE: &str = "node";

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
    for (title, scenario, in_flight, key, unit) in ROWS {
        let figure = |label: &str| {
            lines
                .iter()
                .find(|l| {
                    l["label"] == label
                        && l["scenario"] == scenario
                        && in_flight.is_none_or(|n| l["in_flight"] == n)
                })
                .and_then(|l| l[key].as_f64())
        };
        print!("| {title} |");
        for label in &labels {
            print!(" {} |", figure(label).map_or("–".into(), |v| show(v, unit)));
        }
        for label in &others {
            let ratio = figure(label)
                .zip(figure(BASELINE))
                .map(|(v, base)| v / base);
            print!(" {} |", ratio.map_or("–".into(), |r| format!("{r:.2}×")));
        }
        println!();
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

fn show(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Rate if value >= 10_000.0 => format!("{:.0}k", value / 1000.0),
        Unit::Rate => format!("{value:.0}"),
        Unit::Micros if value >= 1000.0 => format!("{:.1} ms", value / 1000.0),
        Unit::Micros => format!("{value:.0} µs"),
        Unit::Kb => format!("{value:.1} KB"),
    }
}
