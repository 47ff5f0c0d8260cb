//! Scatter plots of 2-D embeddings coloured by class, one or more panels
//! side by side. Points are opaque (semi-transparent points bloat the PDF).

use anyhow::{Result, anyhow, ensure};
use plotters::prelude::*;

use super::FONT;

/// Ten distinguishable colours for the classes 0–9 (matplotlib's tab10).
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

/// The points' bounding box with a 5% margin on each side.
pub fn bounds(points: &[(f64, f64)]) -> ((f64, f64), (f64, f64)) {
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

/// Width of the legend column for `classes`' names (about 9 px a
/// character at its font size).
fn legend_width(classes: &[String]) -> u32 {
    let longest = classes.iter().map(|c| c.chars().count()).max().unwrap_or(1);
    (40 + 9 * longest as u32).max(70)
}

/// A column of the ten class colours with the classes' names.
fn class_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    classes: &[String],
) -> Result<()> {
    let text = (FONT, 16).into_font().color(&BLACK);
    for (d, &(r, g, b)) in DIGIT_COLORS.iter().enumerate() {
        let y = 60 + d as i32 * 28;
        area.draw(&Circle::new((14, y), 6, RGBColor(r, g, b).filled()))
            .map_err(|e| anyhow!("{e:?}"))?;
        let name = classes.get(d).cloned().unwrap_or_else(|| d.to_string());
        area.draw(&Text::new(name, (26, y - 8), text.clone()))
            .map_err(|e| anyhow!("{e:?}"))?;
    }
    Ok(())
}

/// Panels side by side, each with its own axes, and a legend of the
/// classes' names.
pub fn scatter_svg(
    panels: &[Panel],
    axis_labels: (&str, &str),
    classes: &[String],
) -> Result<String> {
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
    let legend_w = legend_width(classes);
    let width = 420 * panels.len() as u32 + legend_w;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let (plots, legend) = root.split_horizontally(width - legend_w);
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
        class_legend(&legend, classes)?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(svg)
}

/// A classifier's view of a rectangle of the plane: on a `resolution`²
/// grid of cell centres (row 0 at the bottom), the predicted class and its
/// probability.
pub struct ClassMap {
    pub x: (f64, f64),
    pub y: (f64, f64),
    pub resolution: usize,
    pub classes: Vec<u8>,
    pub probabilities: Vec<f32>,
}

/// Levels the background's probability is shown in; equal neighbouring
/// cells merge into one rectangle, which keeps the SVG (and PDF) small.
const SHADES: f32 = 5.0;

fn tint((r, g, b): (u8, u8, u8), p: f32) -> RGBColor {
    // From almost white (p = 0.1, chance) to a light tint of the class
    // colour (p = 1), light enough that the points stay visible on it.
    let level = ((p - 0.1) / 0.9).clamp(0.0, 1.0);
    let level = (level * SHADES).round() / SHADES;
    let w = 0.12 + 0.43 * level as f64;
    let mix = |c: u8| (255.0 * (1.0 - w) + c as f64 * w).round() as u8;
    RGBColor(mix(r), mix(g), mix(b))
}

/// Points coloured by class over the classifier's background: the hue is
/// the predicted class, the depth of the tint its probability.
pub fn latent_map_svg(
    points: &[(f64, f64)],
    labels: &[u8],
    map: &ClassMap,
    axis_labels: (&str, &str),
    classes: &[String],
) -> Result<String> {
    ensure!(
        points.len() == labels.len(),
        "points and labels differ in length"
    );
    let r = map.resolution;
    ensure!(
        map.classes.len() == r * r && map.probabilities.len() == r * r,
        "the class map must have resolution² cells"
    );
    let mut svg = String::new();
    {
        let legend_w = legend_width(classes);
        let root = SVGBackend::with_string(&mut svg, (550 + legend_w, 540)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let (plot, legend) = root.split_horizontally(550);
        let text = |size| (FONT, size).into_font().color(&BLACK);
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(50)
            .build_cartesian_2d(map.x.0..map.x.1, map.y.0..map.y.1)
            .map_err(|e| anyhow!("{e}"))?;
        let (cw, ch) = (
            (map.x.1 - map.x.0) / r as f64,
            (map.y.1 - map.y.0) / r as f64,
        );
        let mut cells = Vec::new();
        for row in 0..r {
            let mut start = 0;
            while start < r {
                let key = |c: usize| {
                    let i = row * r + c;
                    let color = tint(
                        DIGIT_COLORS[map.classes[i] as usize % 10],
                        map.probabilities[i],
                    );
                    (color.0, color.1, color.2)
                };
                let k = key(start);
                let mut end = start + 1;
                while end < r && key(end) == k {
                    end += 1;
                }
                let y0 = map.y.0 + row as f64 * ch;
                cells.push(Rectangle::new(
                    [
                        (map.x.0 + start as f64 * cw, y0),
                        (map.x.0 + end as f64 * cw, y0 + ch),
                    ],
                    RGBColor(k.0, k.1, k.2).filled(),
                ));
                start = end;
            }
        }
        chart.draw_series(cells).map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .x_desc(axis_labels.0)
            .y_desc(axis_labels.1)
            .label_style(text(13))
            .axis_desc_style(text(14))
            .disable_mesh()
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .draw_series(points.iter().zip(labels).map(|(&p, &l)| {
                let (r, g, b) = DIGIT_COLORS[l as usize % 10];
                Circle::new(p, 2, RGBColor(r, g, b).filled())
            }))
            .map_err(|e| anyhow!("{e}"))?;
        class_legend(&legend, classes)?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(svg)
}
