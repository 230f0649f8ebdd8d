//! `bench --plot FILE.svg`: the measured rates against the thread count, one line per kernel,
//! and the openssl reference (× threads) when it was measured.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use super::bench::Measurement;

/// Draws `measurements` (rates in MH/s over threads) into the SVG file at `path`.
pub fn draw(path: &Path, measurements: &[Measurement], reference: Option<f64>) -> Result<()> {
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for m in measurements {
        let name = format!("{} {}", m.backend, m.kernel);
        let point = (m.threads as f64, m.hashrate / 1e6);
        match series.iter_mut().find(|(n, _)| *n == name) {
            Some((_, points)) => points.push(point),
            None => series.push((name, vec![point])),
        }
    }
    let max_threads = measurements.iter().map(|m| m.threads).max().unwrap_or(1) as f64;
    let reference_line = reference.map(|r| {
        (1..=max_threads as usize)
            .map(|t| (t as f64, r * t as f64 / 1e6))
            .collect::<Vec<_>>()
    });
    let top = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(_, y)| y))
        .chain(reference_line.iter().flatten().map(|&(_, y)| y))
        .fold(1.0f64, f64::max)
        * 1.1;

    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    let fail = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("hashforge bench: {}", cpu_model()),
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.5..max_threads + 0.5, 0.0..top)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("threads")
        .y_desc("MH/s")
        .x_labels(max_threads as usize + 2)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()
        .map_err(|e| fail(&e))?;
    for (i, (name, points)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(|e| fail(&e))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))
            .map_err(|e| fail(&e))?;
    }
    if let Some(points) = reference_line {
        chart
            .draw_series(LineSeries::new(points, BLACK.stroke_width(1)))
            .map_err(|e| fail(&e))?
            .label("openssl reference × threads")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], BLACK));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))
}

/// The CPU's model name, for the chart's title (Linux; elsewhere a placeholder).
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "this CPU".to_string())
}
