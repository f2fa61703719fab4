//! The `renshe-kiosk` binary as a technician meets it.

use std::process::Command;

fn kiosk() -> Command {
    Command::new(env!("CARGO_BIN_EXE_renshe-kiosk"))
}

#[test]
fn config_check_passes_the_example_and_locates_every_problem_in_a_broken_file() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/kiosk-config/terminal.example.toml"
    );
    let output = kiosk()
        .args(["config", "check", example])
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("terminal.toml");
    let text = std::fs::read_to_string(example)
        .expect("example")
        .replace("baud = 115200", "baud = 115201")
        .replace("warning_seconds = 30", "warning_seconds = 10");
    std::fs::write(&broken, &text).expect("write");
    let output = kiosk()
        .args(["config", "check"])
        .arg(&broken)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.starts_with(needle))
            .map(|i| i + 1)
            .expect("line")
    };
    assert!(
        stderr.contains(&format!(
            "terminal.toml:{}: `idle.warning_seconds`",
            line_of("warning_seconds")
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "terminal.toml:{}: `devices.printer.baud`",
            line_of("baud")
        )),
        "{stderr}"
    );
    assert!(stderr.contains("2 problem(s)"), "{stderr}");
}

#[test]
fn config_check_names_a_missing_file() {
    let output = kiosk()
        .args(["config", "check", "/nonexistent/terminal.toml"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr)
        .contains("/nonexistent/terminal.toml: cannot read the file"));
}

#[test]
fn screenshot_writes_a_png_and_rejects_an_unknown_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("help.png");
    let output = kiosk()
        .args([
            "screenshot",
            "--page",
            "help",
            "--lang",
            "en-US",
            "--elderly",
            "-o",
        ])
        .arg(&out)
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bytes = std::fs::read(&out).expect("png written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");

    let output = kiosk()
        .args(["screenshot", "--page", "nosuch", "-o"])
        .arg(dir.path().join("x.png"))
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr)
        .contains("valid pages: attract, attract-offline, home"));
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let output = kiosk().arg("--version").output().expect("run");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    let commit = regex::Regex::new(
        r"^renshe-kiosk \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)\n$",
    )
    .expect("pattern");
    assert!(commit.is_match(&text), "{text:?}");
    // In this checkout git is there: the commit is known.
    assert!(!text.contains("unknown"), "{text:?}");
}
