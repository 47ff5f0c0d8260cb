//! Horizontal bar charts (accuracies of several models) as SVG.

use anyhow::{Result, anyhow, ensure};
use plotters::prelude::*;

use super::{FONT, PALETTE};

/// One bar per `(label, value, group)`; bars of a group share a colour.
pub fn bars_svg(
    bars: &[(String, f64, usize)],
    x_label: &str,
    x_range: (f64, f64),
) -> Result<String> {
    ensure!(!bars.is_empty(), "a bar chart needs bars");
    ensure!(bars.iter().all(|b| b.1.is_finite()), "non-finite bar value");
    let height = 60 + 26 * bars.len() as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (680, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let text = |size| (FONT, size).into_font().color(&BLACK);
        let n = bars.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(250)
            .build_cartesian_2d(x_range.0..x_range.1, 0f64..n)
            .map_err(|e| anyhow!("{e}"))?;
        let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(225, 225, 225))
            .x_desc(x_label)
            .y_labels(bars.len() * 2 + 1)
            .y_label_formatter(&|y| {
                let i = (n - y - 0.5).round();
                if (n - y - 0.5 - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
                    labels[i as usize].clone()
                } else {
                    String::new()
                }
            })
            .label_style(text(14))
            .axis_desc_style(text(15))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        for (i, (_, v, group)) in bars.iter().enumerate() {
            let (r, g, b) = PALETTE[group % PALETTE.len()];
            let y = n - i as f64;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x_range.0, y - 0.8), (v.max(x_range.0), y - 0.2)],
                    RGBColor(r, g, b).filled(),
                )))
                .map_err(|e| anyhow!("{e}"))?;
        }
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(svg)
}
