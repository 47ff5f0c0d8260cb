//! Digit grids: rows of 28×28 greyscale images, written as PNG at native
//! resolution. The report scales them up with `scaling: "pixelated"`, so
//! they stay sharp at any size.

use anyhow::{Context, Result, ensure};

/// Grey level of the lines between images.
const GAP: u8 = 200;

/// `rows[r][c]` is one image of `side × side` bytes (0 = black). Images are
/// separated by `gap` light-grey pixels, so an empty (all-black) image still
/// shows as a cell. Digits are drawn dark on white, as on paper.
pub fn digit_grid_png(rows: &[Vec<Vec<u8>>], side: usize, gap: usize) -> Result<Vec<u8>> {
    ensure!(!rows.is_empty(), "a digit grid needs at least one row");
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    ensure!(cols > 0, "a digit grid needs at least one image");
    let width = cols * side + (cols + 1) * gap;
    let height = rows.len() * side + (rows.len() + 1) * gap;
    let mut pixels = vec![GAP; width * height];
    for (r, row) in rows.iter().enumerate() {
        for (c, img) in row.iter().enumerate() {
            ensure!(
                img.len() == side * side,
                "image {r},{c} has {} pixels, expected {}",
                img.len(),
                side * side
            );
            let (x0, y0) = (gap + c * (side + gap), gap + r * (side + gap));
            for y in 0..side {
                for x in 0..side {
                    pixels[(y0 + y) * width + x0 + x] = 255 - img[y * side + x];
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().context("writing PNG header")?;
        writer
            .write_image_data(&pixels)
            .context("writing PNG data")?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_has_the_expected_size_and_inverts_pixels() {
        let img = vec![255u8; 4];
        let png_bytes = digit_grid_png(&[vec![img.clone(), img.clone()], vec![img]], 2, 1).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (2 * 2 + 3, 2 * 2 + 3));
        assert_eq!(buf[0], GAP, "gap is grey");
        assert_eq!(
            buf[info.width as usize + 1],
            0,
            "a white digit pixel is drawn black"
        );
    }

    #[test]
    fn wrong_image_size_is_an_error() {
        assert!(digit_grid_png(&[vec![vec![0u8; 3]]], 2, 1).is_err());
        assert!(digit_grid_png(&[], 2, 1).is_err());
    }
}
