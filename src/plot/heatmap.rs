//! Confusion matrices as annotated heat maps (SVG).

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use super::FONT;

/// `counts[true][predicted]`; cells are shaded by the row-normalised value
/// and annotated with the count. Rows are labelled with the classes' names;
/// columns too when the names are short, else with the labels 0–9 (the
/// figure's caption says which name each has).
pub fn confusion_svg(
    counts: &[[u64; 10]; 10],
    classes: &[String],
    class_noun: &str,
) -> Result<String> {
    let longest = classes.iter().map(|c| c.chars().count()).max().unwrap_or(1);
    let names_on_columns = longest <= 2;
    let y_area = (30 + 8 * longest as u32).max(46);
    let name = |v: &f64| -> String {
        let r = v.round();
        if (v - r).abs() < 1e-6 && (0.0..10.0).contains(&r) {
            classes
                .get(r as usize)
                .cloned()
                .unwrap_or_else(|| (r as i32).to_string())
        } else {
            String::new()
        }
    };
    let (x_desc, y_desc) = if names_on_columns {
        (
            format!("predicted {class_noun}"),
            format!("true {class_noun}"),
        )
    } else {
        (
            format!("predicted {class_noun} (by label)"),
            format!("true {class_noun}"),
        )
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (474 + y_area, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let text = |size| (FONT, size).into_font().color(&BLACK);
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(y_area)
            .build_cartesian_2d(-0.5f64..9.5f64, 9.5f64..-0.5f64)
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style(text(14))
            .axis_desc_style(text(15))
            .x_labels(10)
            .y_labels(10)
            .x_label_formatter(&|v| {
                if names_on_columns {
                    name(v)
                } else {
                    label_tick(v)
                }
            })
            .y_label_formatter(&name)
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        for (t, row) in counts.iter().enumerate() {
            let total: u64 = row.iter().sum::<u64>().max(1);
            for (p, &c) in row.iter().enumerate() {
                let share = c as f64 / total as f64;
                // White → dark blue, with a square-root ramp so small confusions show.
                let s = share.sqrt();
                let color = RGBColor(
                    (255.0 - s * 247.0) as u8,
                    (255.0 - s * 207.0) as u8,
                    (255.0 - s * 148.0) as u8,
                );
                let (x, y) = (p as f64, t as f64);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                        color.filled(),
                    )))
                    .map_err(|e| anyhow!("{e}"))?;
                if c > 0 {
                    let fg = if s > 0.6 { WHITE } else { BLACK };
                    let style = (FONT, 13).into_font().color(&fg).pos(
                        plotters::style::text_anchor::Pos::new(
                            plotters::style::text_anchor::HPos::Center,
                            plotters::style::text_anchor::VPos::Center,
                        ),
                    );
                    chart
                        .draw_series(std::iter::once(Text::new(c.to_string(), (x, y), style)))
                        .map_err(|e| anyhow!("{e}"))?;
                }
            }
        }
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(svg)
}

/// Cells are centred on whole numbers; label those with their label.
fn label_tick(v: &f64) -> String {
    let r = v.round();
    if (v - r).abs() < 1e-6 && (0.0..10.0).contains(&r) {
        format!("{}", r as i32)
    } else {
        String::new()
    }
}
