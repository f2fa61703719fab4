//! Card read benchmark through real pcscd and the virtual card (vpcd).
//!
//! 1. insert → holder identified, through the reader service (pcscd's presence poll included);
//! 2. the protocol read against its baseline: the sum of raw `transmit` round trips for exactly the
//!    APDUs the read sends, measured in the same run, interleaved. Goal: ratio ≤ 1.2.
//!
//! Without pcscd (and no way to start it) it prints why and exits 0.

use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use renshe_kiosk::card::pcsc::{self, CardEvent, ReaderConfig, ReaderService};
use renshe_kiosk::card::protocol::{self, CardSession, Recorder};
use renshe_kiosk::card::sam::{LocalTestSam, Sam};
use renshe_kiosk::card::sim::{self, CardProfile, SimRig};
use renshe_kiosk::core::identity::{CardGeneration, Pin};

const PCSCD_SOCKET: &str = "/run/pcscd/pcscd.comm";
const INSERTIONS: usize = 20;
const READS: usize = 300;

fn pcscd_available() -> Result<(), String> {
    if Path::new(PCSCD_SOCKET).exists() {
        return Ok(());
    }
    let started = Command::new("sh")
        .args(["-c", "pcscd -f -a </dev/null >/dev/null 2>&1 &"])
        .status()
        .map_err(|error| format!("cannot run sh: {error}"))?;
    if !started.success() {
        return Err("could not start pcscd".into());
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !Path::new(PCSCD_SOCKET).exists() {
        if Instant::now() > deadline {
            return Err(format!(
                "pcscd did not create {PCSCD_SOCKET} (is the pcscd package installed?)"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn wait_event(
    events: &mpsc::Receiver<CardEvent>,
    wanted: impl Fn(&CardEvent) -> bool,
) -> Option<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let event = events
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .ok()?;
        if wanted(&event) {
            return Some(());
        }
    }
}

fn bench_generation(generation: CardGeneration) -> Result<(), String> {
    let mut holder = sim::demo_residents()
        .into_iter()
        .next()
        .ok_or("no demo resident")?;
    holder.generation = generation;
    let third = generation == CardGeneration::Third;
    let rig = SimRig::start(&CardProfile::demo(holder), third);
    let label = format!(
        "{generation}{}",
        if third { " + PSAM in slot 1" } else { "" }
    );

    // 1. insert → identified through the service.
    let (sender, events) = mpsc::channel();
    let sam: Option<Box<dyn Sam>> = third.then(|| Box::new(pcsc::pcsc_psam("sim")) as Box<dyn Sam>);
    let service = ReaderService::spawn(ReaderConfig::new("sim"), sam, move |event| {
        let _ = sender.send(event);
    });
    wait_event(&events, |event| matches!(event, CardEvent::Inserted { .. }))
        .ok_or("card never seen")?;
    let mut to_identified = Vec::new();
    let mut to_event = Vec::new();
    let mut service_reads = Vec::new();
    let mut apdus = 0;
    for _ in 0..INSERTIONS {
        rig.card.remove();
        wait_event(&events, |event| matches!(event, CardEvent::Removed { .. }))
            .ok_or("removal not seen")?;
        let inserted_at = Instant::now();
        rig.card.insert();
        wait_event(&events, |event| matches!(event, CardEvent::Inserted { .. }))
            .ok_or("insertion not seen")?;
        let seen_at = Instant::now();
        let report = service
            .read_holder(Duration::from_secs(10))
            .map_err(|error| error.to_string())?;
        to_identified.push(inserted_at.elapsed());
        to_event.push(seen_at - inserted_at);
        service_reads.push(seen_at.elapsed());
        apdus = report.apdus;
    }
    service.shutdown();

    // 2. protocol read vs raw transmits of the same APDUs, interleaved.
    let mut transport =
        pcsc::connect_reader(sim::SIM_CARD_READER).map_err(|error| error.to_string())?;
    let mut local_sam = LocalTestSam::with_test_key();
    let commands = {
        let mut recorder = Recorder::new(&mut transport);
        let mut session = CardSession::new(&mut recorder);
        session
            .read_holder(third.then_some(&mut local_sam as &mut dyn Sam))
            .map_err(|error| error.to_string())?;
        recorder.commands().to_vec()
    };
    let mut protocol_reads = Vec::new();
    let mut raw_sums = Vec::new();
    for _ in 0..READS {
        let started = Instant::now();
        let mut session = CardSession::new(&mut transport);
        session
            .read_holder(third.then_some(&mut local_sam as &mut dyn Sam))
            .map_err(|error| error.to_string())?;
        protocol_reads.push(started.elapsed());

        // The baseline replays the recorded commands; for a 3rd-gen card the EXTERNAL AUTHENTICATE
        // cryptogram is stale, which costs the card the same work (it answers 6982 instead of 9000).
        let started = Instant::now();
        for command in &commands {
            transport
                .transmit_raw(command)
                .map_err(|error| error.to_string())?;
        }
        raw_sums.push(started.elapsed());
    }
    let protocol = median(&mut protocol_reads);
    let raw = median(&mut raw_sums);
    let service_read = median(&mut service_reads);
    println!("== {label}: {apdus} APDUs per read ==");
    println!(
        "insert → holder identified (service): median {:.2} ms (pcscd noticing the card {:.2} ms, read {:.2} ms), n={INSERTIONS}",
        ms(median(&mut to_identified)),
        ms(median(&mut to_event)),
        ms(service_read),
    );
    println!(
        "protocol read:            median {:.3} ms, n={READS}",
        ms(protocol)
    );
    println!(
        "raw transmits, same APDUs: median {:.3} ms ({:.3} ms per APDU)",
        ms(raw),
        ms(raw) / commands.len() as f64
    );
    println!(
        "overhead ratio protocol/raw: {:.3} (goal ≤ 1.2)",
        protocol.as_secs_f64() / raw.as_secs_f64()
    );
    println!(
        "overhead ratio service read (connect + thread hop)/raw: {:.3}",
        service_read.as_secs_f64() / raw.as_secs_f64()
    );

    // 3. identify + PIN verify (what every query now does first) vs raw transmits of the
    //    same APDUs: the recorder leaves the VERIFY out, the baseline sends it raw.
    let pin = Pin::new(sim::DEMO_PIN).map_err(|error| error.to_string())?;
    let verify = protocol::verify_pin(&pin);
    let commands = {
        let mut recorder = Recorder::new(&mut transport);
        let mut session = CardSession::new(&mut recorder);
        session
            .read_holder(third.then_some(&mut local_sam as &mut dyn Sam))
            .map_err(|error| error.to_string())?;
        session
            .verify_pin(&pin)
            .map_err(|error| error.to_string())?;
        let mut commands = recorder.commands().to_vec();
        commands.push(verify.as_bytes().to_vec());
        commands
    };
    let mut verified = Vec::new();
    let mut raw_sums = Vec::new();
    for _ in 0..READS {
        let started = Instant::now();
        let mut session = CardSession::new(&mut transport);
        session
            .read_holder(third.then_some(&mut local_sam as &mut dyn Sam))
            .map_err(|error| error.to_string())?;
        session
            .verify_pin(&pin)
            .map_err(|error| error.to_string())?;
        verified.push(started.elapsed());
        let started = Instant::now();
        for command in &commands {
            transport
                .transmit_raw(command)
                .map_err(|error| error.to_string())?;
        }
        raw_sums.push(started.elapsed());
    }
    let protocol = median(&mut verified);
    let raw = median(&mut raw_sums);
    println!(
        "identify + PIN verify:    {} APDUs, median {:.3} ms; raw transmits {:.3} ms; ratio {:.3} (goal ≤ 1.05)",
        commands.len(),
        ms(protocol),
        ms(raw),
        protocol.as_secs_f64() / raw.as_secs_f64()
    );
    Ok(())
}

fn main() {
    if let Err(reason) = pcscd_available() {
        println!("card_read benchmark skipped: {reason}");
        return;
    }
    for generation in [CardGeneration::Second, CardGeneration::Third] {
        if let Err(reason) = bench_generation(generation) {
            println!("card_read benchmark for {generation} failed: {reason}");
        }
    }
}
