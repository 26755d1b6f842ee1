//! `loadgen chart results.jsonl out.png`: the `scale` scenario's curves as one PNG, a panel
//! per figure (memory per connection, time until the last receiver has a broadcast,
//! deliveries/s with several in flight) against the number of connections, a line per server.
//! Each point is the median over the runs of the file. The text is drawn with a font embedded
//! in the binary (an ASCII subset of DejaVu Sans, fonts/), so that the chart looks the same on
//! any machine and needs no system font.

use crate::report::{median, scale_sizes, thousands};
use crate::ws::Error;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use serde_json::Value;

const FONT: &[u8] = include_bytes!("../fonts/DejaVuSans-ascii.ttf");

/// One panel: its title, the key prefix of its figure in the `scale` line (`<key>_<size>`),
/// the unit on its axis and how a value is scaled to it.
struct Panel {
    title: &'static str,
    key: &'static str,
    axis: &'static str,
    scale: f64,
}

const PANELS: [Panel; 3] = [
    Panel {
        title: "Memory per idle connection",
        key: "kb_per_connection",
        axis: "KB per connection (server RSS)",
        scale: 1.0,
    },
    Panel {
        title: "One broadcast to all: time to the last receiver",
        key: "broadcast_last_us",
        axis: "ms",
        scale: 1e-3,
    },
    Panel {
        title: "Broadcasts to all, 4 in flight",
        key: "deliveries_per_s",
        axis: "thousand deliveries/s",
        scale: 1e-3,
    },
];

/// A server's colour: the same in every panel, ours the warmest.
fn colour(label: &str, index: usize) -> RGBColor {
    match label {
        "socketio-rs" => RGBColor(214, 96, 30),
        "node" => RGBColor(60, 140, 60),
        "socketioxide" => RGBColor(50, 100, 190),
        _ => {
            let (r, g, b) = Palette99::pick(index).to_rgba().rgb();
            RGBColor(r, g, b)
        }
    }
}

/// Each server's points of `panel`: (connections, median over the runs).
fn series(lines: &[&Value], panel: &Panel) -> Vec<(String, Vec<(f64, f64)>)> {
    let mut labels: Vec<&str> = Vec::new();
    for line in lines {
        let label = line["label"].as_str().unwrap_or("?");
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    labels
        .into_iter()
        .map(|label| {
            let ours: Vec<&&Value> = lines.iter().filter(|l| l["label"] == label).collect();
            let sizes = scale_sizes(ours.iter().map(|l| **l));
            let points = sizes
                .into_iter()
                .filter_map(|size| {
                    let mut values: Vec<f64> = ours
                        .iter()
                        .filter_map(|l| l[format!("{}_{size}", panel.key)].as_f64())
                        .collect();
                    values.sort_by(f64::total_cmp);
                    Some((size as f64, median(&values)? * panel.scale))
                })
                .collect();
            (label.to_string(), points)
        })
        .collect()
}

/// Draws the chart of the `scale` lines of `jsonl` into the PNG file `out`.
pub fn draw(jsonl: &str, out: &str) -> Result<(), Error> {
    register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| "the embedded font does not load")?;
    let lines: Vec<Value> = jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let scale: Vec<&Value> = lines.iter().filter(|l| l["scenario"] == "scale").collect();
    if scale.is_empty() {
        return Err("no scale lines in this file (BENCH_ONLY=scale bench/run.sh)".into());
    }
    let runs = scale
        .iter()
        .filter_map(|l| l["run"].as_u64())
        .max()
        .unwrap_or(1);

    let root = BitMapBackend::new(out, (1650, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(44);
    let heading = format!(
        "Idle connections and broadcasts to all of them, one server core (median of {runs} run{})",
        if runs == 1 { "" } else { "s" }
    );
    top.draw_text(
        &heading,
        &("sans-serif", 22).into_text_style(&top),
        (16, 14),
    )?;
    // One legend for the three panels, on the heading's line: inside a panel it would hide
    // the top of some curve.
    let mut labels: Vec<&str> = Vec::new();
    for line in &scale {
        let label = line["label"].as_str().unwrap_or("?");
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    let legend = ("sans-serif", 18).into_text_style(&top);
    let mut x = 1650 - 170 * labels.len() as i32;
    for (index, label) in labels.iter().enumerate() {
        let colour = colour(label, index);
        top.draw(&PathElement::new(
            vec![(x, 25), (x + 28, 25)],
            colour.stroke_width(4),
        ))?;
        top.draw_text(label, &legend, (x + 36, 15))?;
        x += 170;
    }
    for (area, panel) in body.split_evenly((1, PANELS.len())).iter().zip(&PANELS) {
        let series = series(&scale, panel);
        let points = series.iter().flat_map(|(_, p)| p);
        let x_max = points.clone().map(|p| p.0).fold(0.0, f64::max) * 1.05;
        let y_max = points.map(|p| p.1).fold(0.0, f64::max) * 1.15;
        let mut chart = ChartBuilder::on(area)
            .caption(panel.title, ("sans-serif", 18))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..x_max.max(1.0), 0.0..y_max.max(1.0))?;
        chart
            .configure_mesh()
            .x_desc("connections (receivers)")
            .y_desc(panel.axis)
            .x_label_formatter(&|x| thousands(*x as u64))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for (label, points) in &series {
            let index = labels.iter().position(|l| l == label).unwrap_or(0);
            let colour = colour(label, index);
            chart.draw_series(LineSeries::new(points.clone(), colour.stroke_width(3)))?;
            chart.draw_series(
                points
                    .iter()
                    .map(|&point| Circle::new(point, 4, colour.filled())),
            )?;
        }
    }
    root.present()?;
    Ok(())
}
