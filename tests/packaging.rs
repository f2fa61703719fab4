//! What the Debian package ships, checked without building it (`scripts/deb-install-test.sh`
//! builds and installs it): the systemd unit passes `systemd-analyze verify` with no warning
//! and keeps its hardening score, the kiosk's exit status for an unusable configuration is
//! the one the unit does not restart for, and every file `[package.metadata.deb]` names exists.

use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const UNIT: &str = "packaging/systemd/renshe-kiosk.service";

/// The unit as installed, its ExecStart pointed at this build's binary (verify checks that
/// the command exists and is executable), in a folder of its own.
fn unit_here(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(Path::new(ROOT).join(UNIT)).expect("the unit");
    assert!(text.contains("ExecStart=/usr/bin/renshe-kiosk run --config"));
    let text = text.replace("/usr/bin/renshe-kiosk", env!("CARGO_BIN_EXE_renshe-kiosk"));
    let path = dir.join("renshe-kiosk.service");
    std::fs::write(&path, text).expect("write the unit");
    path
}

fn systemd_analyze_runs() -> bool {
    match Command::new("systemd-analyze").arg("--version").output() {
        Ok(output) if output.status.success() => true,
        _ => {
            // It runs without systemd as PID 1; only a machine without it at all lands here.
            eprintln!("SKIPPED: systemd-analyze cannot run here (apt-get install systemd)");
            false
        }
    }
}

#[test]
fn the_unit_verifies_without_a_warning() {
    if !systemd_analyze_runs() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let unit = unit_here(dir.path());
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("systemd-analyze verify");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "verify failed: {stderr}");
    assert!(stderr.trim().is_empty(), "verify warned: {stderr}");

    let text = std::fs::read_to_string(&unit).expect("unit");
    for line in [
        "Type=notify",
        "NotifyAccess=main",
        "Restart=always",
        "StartLimitAction=reboot",
        "RestartPreventExitStatus=78",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "DevicePolicy=closed",
        "UMask=0077",
        "StateDirectory=renshe-kiosk",
        "StateDirectoryMode=0700",
        "User=kiosk",
    ] {
        assert!(text.lines().any(|l| l == line), "the unit lost {line}");
    }
    let devices: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("DeviceAllow="))
        .collect();
    assert_eq!(
        devices,
        [
            "char-ttyS rw",
            "char-ttyUSB rw",
            "char-ttyACM rw",
            "char-drm rw",
            "char-input rw",
            "char-video4linux rw",
            "char-alsa rw"
        ],
        "only serial, DRM, input, video and sound devices"
    );
}

#[test]
fn the_units_exposure_stays_low() {
    if !systemd_analyze_runs() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let unit = unit_here(dir.path());
    let output = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze security");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure level in {stdout}"));
    let score: f64 = line
        .split(": ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no score in {line}"));
    // systemd's scale: 0 (locked down) to 10 (unprotected); a plain service scores 9.6.
    println!("systemd-analyze security exposure: {score} (a plain service: 9.6)");
    assert!(score <= 2.0, "the unit's exposure rose to {score}");
}

#[test]
fn an_unusable_configuration_exits_with_ex_config() {
    let output = Command::new(env!("CARGO_BIN_EXE_renshe-kiosk"))
        .args(["run", "--config", "/nonexistent/terminal.toml"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(78), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/terminal.toml"));
}

#[test]
fn every_file_the_package_names_is_in_the_repository() {
    let manifest: toml::Table = std::fs::read_to_string(Path::new(ROOT).join("Cargo.toml"))
        .expect("Cargo.toml")
        .parse()
        .expect("Cargo.toml parses");
    let deb = &manifest["package"]["metadata"]["deb"];
    let assets = deb["assets"].as_array().expect("assets");
    let mut installed = Vec::new();
    for asset in assets {
        let asset = asset.as_array().expect("[source, destination, mode]");
        let source = asset[0].as_str().expect("source");
        let destination = asset[1].as_str().expect("destination");
        if !source.starts_with("target/") {
            assert!(
                Path::new(ROOT).join(source).is_file(),
                "{source} is not in the repository"
            );
        }
        installed.push(if destination.ends_with('/') {
            let name = Path::new(source).file_name().expect("name");
            format!("/{destination}{}", name.to_string_lossy())
        } else {
            format!("/{destination}")
        });
    }
    for conffile in deb["conf-files"].as_array().expect("conf-files") {
        let conffile = conffile.as_str().expect("path");
        assert!(
            installed.iter().any(|path| path == conffile),
            "conffile {conffile} is not installed: {installed:?}"
        );
    }
    assert_eq!(deb["default-features"].as_bool(), Some(false), "no demo");
    let scripts = deb["maintainer-scripts"]
        .as_str()
        .expect("maintainer-scripts");
    for script in ["postinst", "prerm", "postrm"] {
        let path = Path::new(ROOT).join(scripts).join(script);
        let status = Command::new("sh")
            .arg("-n")
            .arg(&path)
            .status()
            .expect("sh");
        assert!(status.success(), "{} does not parse", path.display());
    }
}
