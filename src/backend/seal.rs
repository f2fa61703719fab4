//! The demo back end's 电子印章: a red ring, a five-pointed star and "演示专用" (demo only),
//! drawn in code as an RGBA PNG. Never a real seal, and never read from or written to disk.

use ab_glyph::{Font, PxScale, ScaleFont};

const SIDE: u32 = 240;
const RED: [u8; 3] = [0xD0, 0x10, 0x10];

/// The seal as PNG bytes; `None` only if the encoder fails.
pub fn demo_seal_png() -> Option<Vec<u8>> {
    let side = SIDE as usize;
    let mut alpha = vec![0u8; side * side];
    let c = SIDE as f32 / 2.0;
    for y in 0..side {
        for x in 0..side {
            let (dx, dy) = (x as f32 + 0.5 - c, y as f32 + 0.5 - c);
            let r = (dx * dx + dy * dy).sqrt();
            // The ring, with a soft edge.
            let ring = 1.0 - ((r - 108.0).abs() - 6.0).clamp(0.0, 1.0);
            let star = if in_star(dx, dy + 8.0, 40.0) {
                1.0
            } else {
                0.0
            };
            let a = (ring.max(star) * 235.0) as u8;
            alpha[y * side + x] = a;
        }
    }
    draw_text(&mut alpha, "演示专用", c, 178.0, 28.0);
    draw_text(&mut alpha, "DEMO", c, 62.0, 22.0);
    let mut rgba = Vec::with_capacity(side * side * 4);
    for a in alpha {
        rgba.extend_from_slice(&RED);
        rgba.push(a);
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, SIDE, SIDE);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().ok()?;
        writer.write_image_data(&rgba).ok()?;
    }
    Some(out)
}

/// Inside a five-pointed star of outer radius `outer`, point up, centred at the origin.
fn in_star(x: f32, y: f32, outer: f32) -> bool {
    let inner = outer * 0.382;
    let points: Vec<(f32, f32)> = (0..10)
        .map(|i| {
            let angle = std::f32::consts::PI * (i as f32) / 5.0 - std::f32::consts::FRAC_PI_2;
            let r = if i % 2 == 0 { outer } else { inner };
            (r * angle.cos(), r * angle.sin())
        })
        .collect();
    // Even-odd ray casting over the star's ten edges.
    let mut inside = false;
    for i in 0..points.len() {
        let (x1, y1) = points[i];
        let (x2, y2) = points[(i + 1) % points.len()];
        if (y1 > y) != (y2 > y) && x < (x2 - x1) * (y - y1) / (y2 - y1) + x1 {
            inside = !inside;
        }
    }
    inside
}

/// Centred text at `baseline`, in the printer sim's CJK font when there is one (else none:
/// the ring and star still make a seal).
fn draw_text(alpha: &mut [u8], text: &str, centre: f32, baseline: f32, size: f32) {
    let Ok(font) = crate::printer::sim::cjk_font() else {
        return;
    };
    let scale = PxScale::from(size);
    let scaled = font.as_scaled(scale);
    let width: f32 = text
        .chars()
        .map(|ch| scaled.h_advance(font.glyph_id(ch)))
        .sum();
    let mut x = centre - width / 2.0;
    let side = SIDE as i64;
    for ch in text.chars() {
        let id = font.glyph_id(ch);
        let glyph = id.with_scale_and_position(scale, ab_glyph::point(x, baseline));
        x += scaled.h_advance(id);
        let Some(outlined) = font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outlined.px_bounds();
        outlined.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + i64::from(gx);
            let py = bounds.min.y as i64 + i64::from(gy);
            if (0..side).contains(&px) && (0..side).contains(&py) {
                let i = (py * side + px) as usize;
                let a = (coverage.clamp(0.0, 1.0) * 235.0) as u8;
                alpha[i] = alpha[i].max(a);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seal_is_a_png_with_a_red_star_in_the_middle() {
        let png = demo_seal_png().expect("encodes");
        assert!(png.starts_with(b"\x89PNG"));
        assert!(in_star(0.0, 0.0, 40.0) && !in_star(39.0, 39.0, 40.0));
    }
}
