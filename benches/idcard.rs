//! ID card read time over a serial link: `find → select → read` through the real serial
//! adapter against the virtual reader on a pseudo-terminal, which carries bytes in both
//! directions no faster than 8N1 at the configured baud (a pty itself does not enforce baud).
//! Reported: bytes on the wire per read, the median time per read, the wire limit
//! bytes × 10 / baud, and their ratio. Goal ≤ 1.1×.

use std::time::{Duration, Instant};

use renshe_kiosk::idcard::{demo_id_cards, IdCardReader, ReaderSettings, VirtualIdReader};

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let baud = 115_200;
    let runs = 15;
    let card = demo_id_cards().into_iter().next().expect("a demo card");
    let sim = VirtualIdReader::with_card(card).expect("virtual reader");
    sim.pace_at_baud(Some(baud));
    let mut reader = IdCardReader::new(ReaderSettings::new(sim.path(), baud));
    // The first exchange opens the port; measure reads, not the open.
    reader.sam_status().expect("the reader answers");
    let mut times = Vec::new();
    let mut wire_bytes = 0;
    for _ in 0..runs {
        sim.clear_log();
        let started = Instant::now();
        let read = reader.read_once().expect("reads");
        times.push(started.elapsed());
        drop(read);
        let (bytes_in, bytes_out) = sim.bytes_on_wire();
        wire_bytes = bytes_in + bytes_out;
    }
    times.sort();
    let median = times[times.len() / 2];
    let wire = Duration::from_secs_f64(wire_bytes as f64 * 10.0 / f64::from(baud));
    let ratio = median.as_secs_f64() / wire.as_secs_f64();
    println!(
        "idcard read at {baud} baud: {wire_bytes} B on the wire (find 10+15, select 10+19, read 10+1295) | median {:.2} ms over {runs} runs (min {:.2}, max {:.2}) | wire limit {:.2} ms | ratio {ratio:.3} (goal <= 1.1) {}",
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        wire.as_secs_f64() * 1e3,
        if ratio <= 1.1 { "OK" } else { "MISSED" }
    );
}
