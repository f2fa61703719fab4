//! The machine: free space under the data directory, the records' file modes, the clock.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::selftest::{Check, Part};
use crate::store::KeySource;

/// Free space below which the disk check warns or fails. The journal needs little (a day's
/// records are a few MB), but SQLite needs room for its WAL and a full disk stops the
/// terminal (the out-of-service page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskThresholds {
    pub warning_bytes: u64,
    pub failure_bytes: u64,
}

impl Default for DiskThresholds {
    fn default() -> Self {
        DiskThresholds {
            warning_bytes: 1 << 30,
            failure_bytes: 100 << 20,
        }
    }
}

/// Free space of the file system holding `directory` (or its nearest existing ancestor,
/// before the first start has made it).
pub fn disk(directory: &Path, thresholds: DiskThresholds) -> Check {
    let target = directory.display().to_string();
    let existing = directory.ancestors().find(|dir| dir.exists());
    let Some(existing) = existing else {
        return Check::failure(
            Part::Disk,
            target,
            "no part of the path exists",
            "check data.directory",
        );
    };
    let (free, total) = match free_space(existing) {
        Ok(space) => space,
        Err(error) => {
            return Check::warning(
                Part::Disk,
                target,
                format!("free space unknown ({error})"),
                "check the file system with df",
            )
        }
    };
    let detail = format!("{} free of {}", human_bytes(free), human_bytes(total));
    let check = if free < thresholds.failure_bytes {
        Check::failure(
            Part::Disk,
            target,
            format!("nearly full: {detail}"),
            "free space now (old logs, saved receipts): a full disk stops the terminal",
        )
    } else if free < thresholds.warning_bytes {
        Check::warning(
            Part::Disk,
            target,
            format!("low: {detail}"),
            "free space soon (old logs, saved receipts)",
        )
    } else {
        Check::ok(Part::Disk, target, detail)
    };
    check
        .with("free_bytes", free.min(i64::MAX as u64) as i64)
        .with("total_bytes", total.min(i64::MAX as u64) as i64)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
// statvfs's field types differ between targets (u32 on some 32-bit ones).
#[allow(clippy::unnecessary_cast)]
fn free_space(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `name` is a NUL-terminated path; statvfs fills `stats` on success only, and
    // it is read only then.
    let result = unsafe { libc::statvfs(name.as_ptr(), stats.as_mut_ptr()) };
    if result != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it wrote the whole struct.
    let stats = unsafe { stats.assume_init() };
    let block = stats.f_frsize as u64;
    Ok((
        (stats.f_bavail as u64).saturating_mul(block),
        (stats.f_blocks as u64).saturating_mul(block),
    ))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn free_space(_path: &Path) -> std::io::Result<(u64, u64)> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

fn human_bytes(bytes: u64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    if bytes as f64 >= GIB {
        format!("{:.1} GiB", bytes as f64 / GIB)
    } else {
        format!("{:.0} MiB", bytes as f64 / MIB)
    }
}

/// The records rules: the data directory (and the folders in it) 0700, every file in it and
/// the records key 0600 — nothing open to other users. Reports what is not, with the
/// `chmod` that fixes it.
pub fn file_modes(directory: &Path, key: &KeySource) -> Vec<Check> {
    use std::os::unix::fs::PermissionsExt;
    let target = directory.display().to_string();
    if !directory.exists() {
        return vec![Check::ok(
            Part::Records,
            target,
            "no data directory yet (the first start makes it, 0700)",
        )];
    }
    let mut exposed: Vec<(PathBuf, u32, bool)> = Vec::new();
    let mut looked = 0usize;
    let mut look = |path: &Path| {
        if let Ok(metadata) = std::fs::symlink_metadata(path) {
            looked += 1;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                exposed.push((path.to_path_buf(), mode, metadata.is_dir()));
            }
        }
    };
    look(directory);
    // The database, its -wal, -shm and lock files, the key, and folders such as
    // `receipts/` (what is inside a 0700 folder is out of others' reach already).
    if let Ok(entries) = std::fs::read_dir(directory) {
        for entry in entries.flatten() {
            look(&entry.path());
        }
    }
    if let KeySource::File(path) = key {
        if !path.starts_with(directory) {
            look(path);
        }
    }
    if exposed.is_empty() {
        return vec![Check::ok(
            Part::Records,
            target,
            format!("file modes: the directory 0700, {looked} entries private"),
        )];
    }
    let listed: Vec<String> = exposed
        .iter()
        .map(|(path, mode, _)| format!("{} is {mode:o}", path.display()))
        .collect();
    let fixes: Vec<String> = exposed
        .iter()
        .map(|(path, _, dir)| {
            format!(
                "chmod {} {}",
                if *dir { "700" } else { "600" },
                path.display()
            )
        })
        .collect();
    vec![Check::failure(
        Part::Records,
        target,
        format!("open to other users: {}", listed.join(", ")),
        fixes.join("; "),
    )
    .with("exposed", exposed.len() as i64)]
}

/// What `timedatectl` says of NTP: synchronized or not, `None` where it cannot say (no
/// systemd, as in containers).
pub fn ntp_synchronized() -> Option<bool> {
    let mut child = std::process::Command::new("timedatectl")
        .args(["show", "--property=NTPSynchronized", "--value"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    // Without a reachable timedated it fails at once; never wait long for it.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(_)) | Err(_) => return None,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let mut text = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut()?, &mut text).ok()?;
    match text.trim() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// The system clock is plausible (not before 2025: a lost RTC says 1970 or 2000, and every
/// receipt, certificate check and journal time would be wrong), and NTP keeps it so.
pub fn clock(now: SystemTime, ntp: Option<bool>) -> Check {
    let at = chrono::DateTime::<chrono::Utc>::from(now);
    let shown = at.format("%Y-%m-%d %H:%M UTC").to_string();
    use chrono::Datelike;
    if at.year() < 2025 {
        return Check::failure(
            Part::Clock,
            "",
            format!("the system clock says {shown}"),
            "set the time (timedatectl set-time) and check NTP and the RTC battery",
        );
    }
    match ntp {
        Some(true) => Check::ok(Part::Clock, "", format!("{shown}, NTP synchronized")),
        Some(false) => Check::warning(
            Part::Clock,
            "",
            format!("{shown}, not synchronized by NTP"),
            "check NTP (timedatectl timesync-status) and that the time servers are reachable",
        ),
        None => Check::ok(
            Part::Clock,
            "",
            format!("{shown}; NTP state unknown (no timedatectl answer)"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_before_2025_fails_and_ntp_out_of_sync_warns() {
        use crate::selftest::Status;
        let epoch = SystemTime::UNIX_EPOCH;
        let stopped = clock(epoch, Some(true));
        assert_eq!(stopped.status, Status::Failure);
        assert!(stopped.detail.contains("1970-01-01"), "{stopped}");
        let now = epoch + Duration::from_secs(1_796_083_200); // 2026-12-01
        assert_eq!(clock(now, Some(true)).status, Status::Ok);
        assert_eq!(clock(now, Some(false)).status, Status::Warning);
        assert_eq!(clock(now, None).status, Status::Ok);
    }

    #[test]
    fn the_disk_check_uses_the_thresholds() {
        use crate::selftest::Status;
        let dir = tempfile::tempdir().expect("tempdir");
        let huge = DiskThresholds {
            warning_bytes: u64::MAX,
            failure_bytes: u64::MAX,
        };
        let roomy = DiskThresholds {
            warning_bytes: 0,
            failure_bytes: 0,
        };
        let tight = DiskThresholds {
            warning_bytes: u64::MAX,
            failure_bytes: 0,
        };
        assert_eq!(disk(dir.path(), huge).status, Status::Failure);
        assert_eq!(disk(dir.path(), roomy).status, Status::Ok);
        assert_eq!(disk(dir.path(), tight).status, Status::Warning);
        // Before the first start the directory is not there: its parent is measured.
        let later = dir.path().join("not/yet");
        assert!(disk(&later, roomy).figures["free_bytes"] > 0);
    }

    #[test]
    fn files_open_to_others_are_named_with_their_chmod() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        crate::store::private_directory(&data).expect("dir");
        let db = data.join("kiosk.db");
        std::fs::write(&db, b"").expect("write");
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let checks = file_modes(&data, &KeySource::BesideDatabase);
        assert_eq!(
            checks[0].status,
            crate::selftest::Status::Ok,
            "{}",
            checks[0]
        );
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let checks = file_modes(&data, &KeySource::BesideDatabase);
        assert_eq!(checks[0].status, crate::selftest::Status::Failure);
        assert_eq!(
            checks[0].fix.as_deref(),
            Some(format!("chmod 600 {}", db.display()).as_str())
        );
    }
}
