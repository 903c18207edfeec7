//! A PNG screenshot read back (the `png` crate), and the figures the HTML
//! checks look at: size, pixels, distinct colours, the share of the commonest one.

use std::collections::HashMap;
use std::io::BufReader;
use std::path::Path;

pub struct Screenshot {
    pub width: u32,
    pub height: u32,
    /// RGB, row by row (an alpha channel is dropped).
    pixels: Vec<[u8; 3]>,
}

impl Screenshot {
    #[track_caller]
    pub fn read(path: &Path) -> Self {
        let file = std::fs::File::open(path)
            .unwrap_or_else(|e| panic!("no screenshot at {}: {e}", path.display()));
        let mut decoder = png::Decoder::new(BufReader::new(file));
        // Palettes expanded, 16 bits cut to 8: one of four 8-bit layouts below.
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder
            .read_info()
            .unwrap_or_else(|e| panic!("{} is not a PNG: {e}", path.display()));
        let mut buffer = vec![0; reader.output_buffer_size().expect("a PNG of sane size")];
        let info = reader
            .next_frame(&mut buffer)
            .unwrap_or_else(|e| panic!("{} does not decode: {e}", path.display()));
        let bytes = &buffer[..info.buffer_size()];
        let pixels = match info.color_type {
            png::ColorType::Rgb => bytes.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect(),
            png::ColorType::Rgba => bytes.chunks_exact(4).map(|p| [p[0], p[1], p[2]]).collect(),
            png::ColorType::Grayscale => bytes.iter().map(|&g| [g, g, g]).collect(),
            png::ColorType::GrayscaleAlpha => {
                bytes.chunks_exact(2).map(|p| [p[0], p[0], p[0]]).collect()
            }
            png::ColorType::Indexed => unreachable!("palettes are expanded"),
        };
        Screenshot {
            width: info.width,
            height: info.height,
            pixels,
        }
    }

    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        self.pixels[(y * self.width + x) as usize]
    }

    /// How many distinct colours, and the share of the page in the commonest
    /// one (1.0: blank).
    pub fn colours(&self) -> (usize, f64) {
        let mut counts: HashMap<[u8; 3], usize> = HashMap::new();
        for pixel in &self.pixels {
            *counts.entry(*pixel).or_insert(0) += 1;
        }
        let top = counts.values().copied().max().unwrap_or(0);
        (counts.len(), top as f64 / self.pixels.len().max(1) as f64)
    }
}
