//! Figures: line charts as SVG (plotters), digit grids as PNG.
//!
//! Text in the SVGs names a font family the report embeds (New Computer
//! Modern), so figures match the body text and render the same everywhere.

pub mod bars;
pub mod grid;
pub mod heatmap;
pub mod line;
pub mod scatter;

pub use bars::bars_svg;
pub use grid::digit_grid_png;
pub use heatmap::confusion_svg;
pub use line::{LineChart, Series};
pub use scatter::{ClassMap, Panel, latent_map_svg, scatter_svg};

/// Font family of all figure text; embedded in the PDF by the report.
pub const FONT: &str = "New Computer Modern";

/// Colour-blind-safe palette (Okabe–Ito), ordered so that the first five
/// differ most (sky blue before orange, which is close to vermillion).
pub const PALETTE: [(u8, u8, u8); 8] = [
    (0, 114, 178),
    (213, 94, 0),
    (0, 158, 115),
    (204, 121, 167),
    (86, 180, 233),
    (230, 159, 0),
    (0, 0, 0),
    (240, 228, 66),
];
