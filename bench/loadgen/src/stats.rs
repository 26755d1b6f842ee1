//! What a scenario measures: a latency histogram and a count inside the measuring window, and
//! the CPU time and memory of a process, read from /proc.

use hdrhistogram::Histogram;
use serde_json::Value;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// The part of a run that counts: after the warm-up, until the end.
#[derive(Clone, Copy)]
pub struct Window {
    pub origin: Instant,
    pub start: Instant,
    pub end: Instant,
}

impl Window {
    pub fn after(warmup: Duration, length: Duration) -> Self {
        let origin = Instant::now();
        Self {
            origin,
            start: origin + warmup,
            end: origin + warmup + length,
        }
    }

    pub fn contains(&self, t: Instant) -> bool {
        t >= self.start && t < self.end
    }

    /// Microseconds since the run began: the clock stamped into broadcast payloads.
    pub fn micros(&self, t: Instant) -> u64 {
        t.duration_since(self.origin).as_micros() as u64
    }

    pub fn seconds(&self) -> f64 {
        (self.end - self.start).as_secs_f64()
    }
}

/// Events and their latencies, shared by the tasks of one thread.
#[derive(Clone)]
pub struct Recorder(Rc<RefCell<Recorded>>);

pub struct Recorded {
    pub count: u64,
    pub latency_us: Histogram<u64>,
}

impl Recorder {
    pub fn new() -> Self {
        let latency_us = Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
        Self(Rc::new(RefCell::new(Recorded {
            count: 0,
            latency_us,
        })))
    }

    pub fn record(&self, latency: Duration) {
        let mut r = self.0.borrow_mut();
        r.count += 1;
        r.latency_us
            .saturating_record(latency.as_micros().max(1) as u64);
    }

    pub fn count(&self) -> u64 {
        self.0.borrow().count
    }

    pub fn quantile_us(&self, q: f64) -> u64 {
        self.0.borrow().latency_us.value_at_quantile(q)
    }
}

/// CPU seconds (user + system) a process has used so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0) // USER_HZ is 100 on Linux
}

/// Resident memory of a process, in KiB.
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU use of a process over a span, as a fraction of one core.
pub struct CpuMeter {
    pid: u32,
    at: Instant,
    seconds: f64,
}

impl CpuMeter {
    pub fn start(pid: u32) -> Option<Self> {
        Some(Self {
            pid,
            at: Instant::now(),
            seconds: cpu_seconds(pid)?,
        })
    }

    pub fn load(&self) -> Option<f64> {
        let used = cpu_seconds(self.pid)? - self.seconds;
        Some(used / self.at.elapsed().as_secs_f64())
    }
}

/// The CPU use of this process and of the server (as fractions of one core) over `window`,
/// measured by a task that sleeps until the window opens.
pub fn cpu_during(window: Window, server_pid: Option<u32>) -> tokio::task::JoinHandle<Value> {
    tokio::task::spawn_local(async move {
        tokio::time::sleep_until(window.start.into()).await;
        let own = CpuMeter::start(std::process::id());
        let server = server_pid.and_then(CpuMeter::start);
        tokio::time::sleep_until(window.end.into()).await;
        serde_json::json!({
            "loadgen_cpu": own.and_then(|m| m.load()),
            "server_cpu": server.and_then(|m| m.load()),
        })
    })
}
