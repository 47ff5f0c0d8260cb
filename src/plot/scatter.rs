//! Scatter plots of 2-D embeddings coloured by digit, one or more panels
//! side by side. Points are opaque (semi-transparent points bloat the PDF).

use anyhow::{Result, anyhow, ensure};
use plotters::prelude::*;

use super::FONT;

/// Ten distinguishable colours for the digits 0–9 (matplotlib's tab10).
pub const DIGIT_COLORS: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

pub struct Panel {
    pub title: String,
    pub points: Vec<(f64, f64)>,
    pub labels: Vec<u8>,
}

fn bounds(points: &[(f64, f64)]) -> ((f64, f64), (f64, f64)) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let px = ((x1 - x0) * 0.05).max(1e-6);
    let py = ((y1 - y0) * 0.05).max(1e-6);
    ((x0 - px, x1 + px), (y0 - py, y1 + py))
}

/// Panels side by side, each with its own axes, and a digit legend.
pub fn scatter_svg(panels: &[Panel], axis_labels: (&str, &str)) -> Result<String> {
    ensure!(!panels.is_empty(), "a scatter plot needs a panel");
    for p in panels {
        ensure!(
            p.points.len() == p.labels.len(),
            "panel `{}`: points and labels differ in length",
            p.title
        );
        ensure!(
            p.points.iter().all(|(x, y)| x.is_finite() && y.is_finite()),
            "panel `{}` has non-finite points",
            p.title
        );
    }
    let width = 420 * panels.len() as u32 + 70;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let (plots, legend) = root.split_horizontally(width - 70);
        let areas = plots.split_evenly((1, panels.len()));
        let text = |size| (FONT, size).into_font().color(&BLACK);
        for (area, panel) in areas.iter().zip(panels) {
            let ((x0, x1), (y0, y1)) = bounds(&panel.points);
            let mut chart = ChartBuilder::on(area)
                .caption(&panel.title, text(18))
                .margin(8)
                .x_label_area_size(34)
                .y_label_area_size(48)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| anyhow!("{e}"))?;
            chart
                .configure_mesh()
                .x_desc(axis_labels.0)
                .y_desc(axis_labels.1)
                .label_style(text(13))
                .axis_desc_style(text(14))
                .light_line_style(TRANSPARENT)
                .bold_line_style(RGBColor(230, 230, 230))
                .x_label_formatter(&|v| {
                    format!("{v:.3}")
                        .trim_end_matches('0')
                        .trim_end_matches('.')
                        .to_string()
                })
                .y_label_formatter(&|v| {
                    format!("{v:.3}")
                        .trim_end_matches('0')
                        .trim_end_matches('.')
                        .to_string()
                })
                .draw()
                .map_err(|e| anyhow!("{e}"))?;
            chart
                .draw_series(panel.points.iter().zip(&panel.labels).map(|(&p, &l)| {
                    let (r, g, b) = DIGIT_COLORS[l as usize % 10];
                    Circle::new(p, 2, RGBColor(r, g, b).filled())
                }))
                .map_err(|e| anyhow!("{e}"))?;
        }
        for (d, &(r, g, b)) in DIGIT_COLORS.iter().enumerate() {
            let y = 60 + d as i32 * 28;
            legend
                .draw(&Circle::new((14, y), 6, RGBColor(r, g, b).filled()))
                .map_err(|e| anyhow!("{e}"))?;
            legend
                .draw(&Text::new(d.to_string(), (26, y - 8), text(16)))
                .map_err(|e| anyhow!("{e}"))?;
        }
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(svg)
}
