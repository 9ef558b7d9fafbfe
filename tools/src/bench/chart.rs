//! The chart: bench/chart.svg, one log-scale bar panel per figure.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::figures::{Figures, Stats};
use super::format::{MS, US, si, thousands, whole};
use super::peers::Peer;
use super::plan::ORPHANS;
use super::report::Report;

/// Draws the report's figures into `path`.
pub(super) fn write(report: &Report, path: &Path) -> Result<()> {
    let bars = |bar: &dyn Fn(&Peer, &Figures) -> Bar| -> Vec<Bar> {
        report.rows().map(|(p, f)| bar(p, f)).collect()
    };
    let mut exec = bars(&|p, f| Bar::time(p.name, p.ours, f.exec, US));
    exec.push(Bar::time("floor (exit only)", false, report.floor, US));
    let panels = [
        Panel {
            title: "file bytes".into(),
            bars: bars(&|p, f| Bar::count(p, f.exact.file_bytes)),
        },
        Panel {
            title: "syscalls from execve to blocking".into(),
            bars: bars(&|p, f| Bar::count(p, f.exact.syscalls as u64)),
        },
        Panel {
            title: "VmRSS while idle, kB (median; min to max)".into(),
            bars: bars(&|p, f| Bar::kb(p, f.idle.rss_kb)),
        },
        Panel {
            title: "page tables (VmPTE) while idle, kB (median; min to max)".into(),
            bars: bars(&|p, f| Bar::kb(p, f.idle.pte_kb)),
        },
        Panel {
            title: format!(
                "pod cgroup charge, idle ({}), kB (median; min to max)",
                report.cgroups.name()
            ),
            bars: bars(&|p, f| match f.pod {
                Some(pod) => Bar::kb(p, pod.charge),
                None => Bar {
                    value: None,
                    text: "not run alone in a pod".into(),
                    ..Bar::count(p, 0)
                },
            }),
        },
        Panel {
            title: "exec to exit, µs (median; line: min to max)".into(),
            bars: exec,
        },
        Panel {
            title: "SIGTERM to exit, µs (median; min to max)".into(),
            bars: bars(&|p, f| Bar::time(p.name, p.ours, f.idle.term, US)),
        },
        Panel {
            title: format!(
                "reap {} orphans as PID 1, ms (median; min to max)",
                thousands(ORPHANS as u64)
            ),
            bars: bars(&|p, f| match f.pid1.reaped {
                Ok(stats) => Bar::time(p.name, p.ours, stats, MS),
                Err(_) => Bar {
                    value: None,
                    text: "never reaps".into(),
                    ..Bar::count(p, 0)
                },
            }),
        },
    ];
    let title = format!(
        "pause against its peers (log scales; {}, {} cores, {})",
        report.machine.cpu,
        report.machine.cores,
        &report.machine.date[..10]
    );
    draw(path, &title, &panels)
}

struct Panel {
    title: String,
    bars: Vec<Bar>,
}

struct Bar {
    label: String,
    /// None: nothing to draw, only `text`.
    value: Option<f64>,
    text: String,
    /// min and max, drawn as a line through the bar.
    range: Option<(f64, f64)>,
    ours: bool,
}

impl Bar {
    fn count(peer: &Peer, n: u64) -> Bar {
        Bar {
            label: peer.name.into(),
            value: Some(n as f64),
            text: thousands(n),
            range: None,
            ours: peer.ours,
        }
    }

    /// The median as the bar, min to max as the line.
    fn kb(peer: &Peer, stats: Stats<u64>) -> Bar {
        Bar {
            range: Some((stats.min as f64, stats.max as f64)),
            ..Bar::count(peer, stats.median)
        }
    }

    /// The median as the bar, min to max as the line, in `unit`s.
    fn time(label: &str, ours: bool, stats: Stats, unit: Duration) -> Bar {
        let units = |d: Duration| d.as_secs_f64() / unit.as_secs_f64();
        Bar {
            label: label.into(),
            value: Some(units(stats.median)),
            text: whole(stats.median, unit),
            range: Some((units(stats.min), units(stats.max))),
            ours,
        }
    }
}

const OURS: RGBColor = RGBColor(217, 95, 2);
const PEER: RGBColor = RGBColor(117, 140, 168);

fn draw(path: &Path, title: &str, panels: &[Panel]) -> Result<()> {
    let root = SVGBackend::new(path, (1200, 1280)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let (head, body) = root.split_vertically(40);
    head.titled(title, ("sans-serif", 20)).map_err(plot_error)?;
    for (area, panel) in body.split_evenly((4, 2)).iter().zip(panels) {
        draw_panel(area, panel)?;
    }
    root.present().map_err(plot_error)?;
    Ok(())
}

fn draw_panel(area: &DrawingArea<SVGBackend, plotters::coord::Shift>, panel: &Panel) -> Result<()> {
    let n = panel.bars.len();
    let values = panel.bars.iter().flat_map(|b| {
        let range = b.range.into_iter().flat_map(|(min, max)| [min, max]);
        b.value.into_iter().chain(range)
    });
    // With every bar text only, any range will do.
    let (lo, hi) = values
        .fold(None, |seen: Option<(f64, f64)>, v| {
            let (lo, hi) = seen.unwrap_or((v, v));
            Some((lo.min(v), hi.max(v)))
        })
        .unwrap_or((1.0, 1.0));
    // Whole decades, with room right of the longest bar for its figure.
    let low = 10f64.powf(lo.max(1.0).log10().floor());
    let high = 10f64.powf((hi * 8.0).log10().ceil());
    // Row 0 is drawn at the bottom: list the first peer at the top.
    let row = |i: usize| n - 1 - i;
    let labels: Vec<&str> = panel.bars.iter().map(|b| b.label.as_str()).collect();

    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 16))
        .margin(8)
        .margin_right(24)
        .x_label_area_size(24)
        .y_label_area_size(130)
        .build_cartesian_2d((low..high).log_scale(), (0..n - 1).into_segmented())
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) if *i < n => labels[row(*i)].to_string(),
            _ => String::new(),
        })
        .x_label_formatter(&|v| si(*v))
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(plot_error)?;

    let text =
        TextStyle::from(("sans-serif", 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, b) in panel.bars.iter().enumerate() {
        let y = row(i);
        let color = if b.ours { OURS } else { PEER };
        let end = match b.value {
            Some(v) => {
                let mut rect = Rectangle::new(
                    [
                        (low, SegmentValue::Exact(y)),
                        (v, SegmentValue::Exact(y + 1)),
                    ],
                    color.filled(),
                );
                rect.set_margin(4, 4, 0, 0);
                chart.draw_series([rect]).map_err(plot_error)?;
                v
            }
            None => low,
        };
        let mut text_at = end;
        if let Some((min, max)) = b.range {
            chart
                .draw_series([PathElement::new(
                    [
                        (min, SegmentValue::CenterOf(y)),
                        (max, SegmentValue::CenterOf(y)),
                    ],
                    BLACK.stroke_width(1),
                )])
                .map_err(plot_error)?;
            text_at = text_at.max(max);
        }
        chart
            .draw_series([Text::new(
                b.text.clone(),
                (text_at * 1.15, SegmentValue::CenterOf(y)),
                text.clone(),
            )])
            .map_err(plot_error)?;
    }
    Ok(())
}

fn plot_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart: {e}")
}
