//! Line charts (loss curves and the like) as SVG.

use anyhow::{Result, anyhow, ensure};
use plotters::prelude::*;

use super::{FONT, PALETTE};

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    /// Dashed lines mark references (baselines), not measurements over x.
    pub dashed: bool,
}

impl Series {
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            label: label.into(),
            points,
            dashed: false,
        }
    }

    /// A horizontal reference line at `y` across `[x0, x1]`.
    pub fn reference(label: impl Into<String>, y: f64, x0: f64, x1: f64) -> Self {
        Self {
            label: label.into(),
            points: vec![(x0, y), (x1, y)],
            dashed: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LineChart {
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Show y on a log scale (losses spanning decades).
    pub log_y: bool,
    /// Label only whole numbers on x (epochs).
    pub integer_x: bool,
    /// Put the legend in the lower right corner (rising curves), not the
    /// upper right.
    pub legend_low: bool,
    pub size: (u32, u32),
}

impl LineChart {
    pub fn new(x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        Self {
            x_label: x_label.into(),
            y_label: y_label.into(),
            series: Vec::new(),
            log_y: false,
            integer_x: false,
            legend_low: false,
            size: (640, 380),
        }
    }

    pub fn series(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }

    pub fn integer_x(mut self, integer_x: bool) -> Self {
        self.integer_x = integer_x;
        self
    }

    /// The legend in the lower right corner, out of the way of curves that
    /// rise to the upper right (accuracies).
    pub fn legend_low(mut self) -> Self {
        self.legend_low = true;
        self
    }

    pub fn log_y(mut self, log_y: bool) -> Self {
        self.log_y = log_y;
        self
    }

    fn bounds(&self) -> Result<((f64, f64), (f64, f64))> {
        let pts = self.series.iter().flat_map(|s| s.points.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in pts {
            ensure!(
                x.is_finite() && y.is_finite(),
                "chart `{}` has a non-finite point ({x}, {y})",
                self.y_label
            );
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        ensure!(x0 <= x1, "chart `{}` has no points", self.y_label);
        if x0 == x1 {
            x0 -= 0.5;
            x1 += 0.5;
        }
        if self.log_y {
            ensure!(y0 > 0.0, "log-scale chart `{}` needs y > 0", self.y_label);
            Ok(((x0, x1), (y0 / 1.15, y1 * 1.15)))
        } else {
            let pad = ((y1 - y0) * 0.08).max(1e-9);
            Ok(((x0, x1), (y0 - pad, y1 + pad)))
        }
    }

    /// Renders the chart as an SVG document.
    pub fn to_svg(&self) -> Result<String> {
        let ((x0, x1), (y0, y1)) = self.bounds()?;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, self.size).into_drawing_area();
            root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
            let mut builder = ChartBuilder::on(&root);
            builder
                .margin(12)
                .x_label_area_size(42)
                .y_label_area_size(64);
            if self.log_y {
                let mut chart = builder
                    .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
                    .map_err(|e| anyhow!("{e}"))?;
                self.draw(&mut chart)?;
            } else {
                let mut chart = builder
                    .build_cartesian_2d(x0..x1, y0..y1)
                    .map_err(|e| anyhow!("{e}"))?;
                self.draw(&mut chart)?;
            }
            root.present().map_err(|e| anyhow!("{e}"))?;
        }
        Ok(svg)
    }

    fn draw<'a, Y>(
        &self,
        chart: &mut ChartContext<
            'a,
            SVGBackend<'a>,
            Cartesian2d<plotters::coord::types::RangedCoordf64, Y>,
        >,
    ) -> Result<()>
    where
        Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    {
        let text = |size| (FONT, size).into_font().color(&BLACK);
        let integer_x = self.integer_x;
        let x_format = move |x: &f64| {
            if integer_x && (x - x.round()).abs() > 1e-9 {
                String::new()
            } else {
                trim_number(*x)
            }
        };
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style(text(17))
            .axis_desc_style(text(19))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(225, 225, 225))
            .x_label_formatter(&x_format)
            .y_label_formatter(&|y| trim_number(*y))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        for (i, s) in self.series.iter().enumerate() {
            let (r, g, b) = PALETTE[i % PALETTE.len()];
            let color = RGBColor(r, g, b);
            let style = color.stroke_width(2);
            let anno = if s.dashed {
                chart
                    .draw_series(DashedLineSeries::new(s.points.iter().copied(), 6, 4, style))
                    .map_err(|e| anyhow!("{e}"))?
            } else {
                chart
                    .draw_series(LineSeries::new(s.points.iter().copied(), style))
                    .map_err(|e| anyhow!("{e}"))?;
                // Markers show where the measurements are.
                chart
                    .draw_series(s.points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(|e| anyhow!("{e}"))?
            };
            anno.label(&s.label).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        }
        chart
            .configure_series_labels()
            .position(if self.legend_low {
                SeriesLabelPosition::LowerRight
            } else {
                SeriesLabelPosition::UpperRight
            })
            .label_font(text(16))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(190, 190, 190))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        Ok(())
    }
}

/// Axis numbers without trailing zeros: 0.05, 2, 1000.
fn trim_number(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_an_svg_with_labels_and_legend() {
        let svg = LineChart::new("epoch", "test L1")
            .series(Series::new("conv AE", vec![(1.0, 0.1), (2.0, 0.05)]))
            .series(Series::reference("all black", 0.13, 1.0, 2.0))
            .to_svg()
            .unwrap();
        assert!(svg.starts_with("<svg"));
        for needle in ["epoch", "test L1", "conv AE", "all black", FONT] {
            assert!(svg.contains(needle), "missing {needle}");
        }
    }

    #[test]
    fn non_finite_points_are_an_error() {
        let e = LineChart::new("x", "y")
            .series(Series::new("a", vec![(1.0, f64::NAN)]))
            .to_svg();
        assert!(e.is_err());
    }

    #[test]
    fn numbers_are_trimmed() {
        assert_eq!(trim_number(0.05), "0.05");
        assert_eq!(trim_number(2.0), "2");
        assert_eq!(trim_number(-0.0), "0");
    }
}
