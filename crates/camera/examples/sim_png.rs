//! Draws the simulator's preview for each scenario to PNG files, with the guide oval the
//! screen would draw, to look at the scenes by eye:
//!   cargo run -p renshe-camera --example sim_png -- /tmp/camera-png
//! Simulated faces only: a real camera's frames never go to disk.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use renshe_camera::{measure, Camera, Frame, Scenario, SimCamera, GUIDE_OVAL};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/tmp/camera-png".into()),
    );
    std::fs::create_dir_all(&dir)?;
    for scenario in [
        Scenario::Face,
        Scenario::NoFace,
        Scenario::Dark,
        Scenario::Blurred,
    ] {
        let mut camera = SimCamera::new(scenario);
        camera.start_preview()?;
        let frame = camera.next_frame()?;
        let measures = measure(&frame);
        println!("{scenario}: {:?} {measures:?}", measures.quality());
        let path = dir.join(format!("{scenario}.png"));
        write_png(&path, &with_guide(&frame))?;
        println!("  → {}", path.display());
    }
    Ok(())
}

/// The frame with the guide's outline in white, as the face page overlays it.
fn with_guide(frame: &Frame) -> Vec<u8> {
    let (w, h) = (frame.width(), frame.height());
    let mut rgb = frame.as_rgb().to_vec();
    for y in 0..h {
        for x in 0..w {
            let inside = GUIDE_OVAL.contains(x, y, w, h);
            let edge = x + 1 < w && GUIDE_OVAL.contains(x + 1, y, w, h) != inside
                || y + 1 < h && GUIDE_OVAL.contains(x, y + 1, w, h) != inside;
            if edge {
                let at = (y as usize * w as usize + x as usize) * 3;
                rgb[at..at + 3].copy_from_slice(&[255, 255, 255]);
            }
        }
    }
    rgb
}

fn write_png(path: &std::path::Path, rgb: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    let mut encoder = png::Encoder::new(BufWriter::new(File::create(path)?), 480, 360);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(rgb)?;
    Ok(())
}
