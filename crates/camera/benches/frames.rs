//! Per-frame cost on this machine, std::time only:
//!   cargo bench -p renshe-camera --bench frames
//! - preview: the simulator's 640×480 scene → 480×360 mirrored preview (what a V4L2 frame
//!   costs after decoding, plus drawing the scene),
//! - assess: the quality check on that preview,
//! - capture: scene → JPEG still (encode included), and its size,
//! - decode: MJPG 640×480 → RGB (the V4L2 path's extra cost per preview frame),
//! - yuyv: YUYV 640×480 → RGB.
//!
//! At 10 fps the preview loop has 100 ms a frame; it should use a small part of one core.

use std::hint::black_box;
use std::time::{Duration, Instant};

use renshe_camera::{
    assess, decode_mjpg, encode_jpeg, preview_of, yuyv_to_rgb, Scenario, SimCamera,
};

const RUNS: u64 = 31;

fn median_ms(mut run: impl FnMut(u64)) -> f64 {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|i| {
            let start = Instant::now();
            run(i);
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scene = median_ms(|i| {
        black_box(SimCamera::scene(Scenario::Face, i));
    });
    let preview = median_ms(|i| {
        let raw = SimCamera::scene(Scenario::Face, i);
        black_box(preview_of(&raw).ok());
    });
    let frame = preview_of(&SimCamera::scene(Scenario::Face, 0))?;
    let quality = assess(&frame);
    let check = median_ms(|_| {
        black_box(assess(black_box(&frame)));
    });
    let raw = SimCamera::scene(Scenario::Face, 0);
    let encode = median_ms(|_| {
        black_box(encode_jpeg(black_box(&raw)).ok());
    });
    let mut sizes = Vec::new();
    for scenario in [
        Scenario::Face,
        Scenario::NoFace,
        Scenario::Dark,
        Scenario::Blurred,
    ] {
        sizes.push((scenario, encode_jpeg(&SimCamera::scene(scenario, 0))?.len()));
    }
    let jpeg = encode_jpeg(&raw)?;
    let decode = median_ms(|_| {
        black_box(decode_mjpg(black_box(jpeg.as_jpeg())).ok());
    });
    let yuyv = vec![128u8; 640 * 480 * 2];
    let convert = median_ms(|_| {
        black_box(yuyv_to_rgb(black_box(&yuyv), 640, 480, 1280).ok());
    });

    println!("median of {RUNS} runs, ms per frame");
    println!("  sim scene 640×480             {scene:7.2}");
    println!("  sim scene → preview 480×360   {preview:7.2}");
    println!("  assess (480×360)              {check:7.2}   ({quality:?})");
    println!("  encode JPEG 640×480 q85       {encode:7.2}");
    println!("  decode MJPG 640×480           {decode:7.2}");
    println!("  YUYV → RGB 640×480            {convert:7.2}");
    println!(
        "  preview loop (sim): preview + assess = {:.2} ms of the 100 ms a frame at 10 fps",
        preview + check
    );
    println!(
        "  V4L2 MJPG estimate: decode + preview − scene + assess = {:.2} ms",
        decode + preview - scene + check
    );
    for (scenario, bytes) in sizes {
        println!("  JPEG still, {scenario:<8} {bytes:>7} bytes");
    }
    Ok(())
}
