//! One writer per database: the process that opens `kiosk.db` first holds an exclusive lock
//! on `kiosk.db.lock` until it exits; any other process (a second kiosk, a technician's `soak`
//! or `outbox flush`) is refused with the holder's pid. Two recoveries on one journal would
//! each resolve and re-send the same operations.
//!
//! Within the process the lock is shared: the catalogue sync opens its own connection beside
//! the engine's, and SQLite serializes the two.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use super::StoreError;

/// Held while any `Store` of this process has the database open.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
}

fn held() -> &'static Mutex<HashMap<PathBuf, Weak<WriterLock>>> {
    static HELD: OnceLock<Mutex<HashMap<PathBuf, Weak<WriterLock>>>> = OnceLock::new();
    HELD.get_or_init(Default::default)
}

/// Takes (or shares, within this process) the writer lock of `database`.
pub fn acquire(database: &Path) -> Result<Arc<WriterLock>, StoreError> {
    let lock_path = lock_path(database);
    let key = std::fs::canonicalize(database).unwrap_or_else(|_| database.to_path_buf());
    let mut held = match held().lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(lock) = held.get(&key).and_then(Weak::upgrade) {
        return Ok(lock);
    }
    let io = |source| StoreError::Lock {
        path: lock_path.clone(),
        source,
    };
    let mut file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(io)?
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(StoreError::Busy {
                path: database.to_path_buf(),
                holder: text.trim().parse().ok(),
            });
        }
        Err(std::fs::TryLockError::Error(source)) => return Err(io(source)),
    }
    // The holder's pid, for the refusal a second process prints.
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    let lock = Arc::new(WriterLock { _file: file });
    held.retain(|_, weak| weak.strong_count() > 0);
    held.insert(key, Arc::downgrade(&lock));
    Ok(lock)
}

/// The process holding `database`'s writer lock now, from the kernel's list of file locks
/// (`/proc/locks`): nothing is locked or written to find out, so a kiosk starting meanwhile
/// is never refused. `None` when nobody (else) holds it.
pub fn holder(database: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(lock_path(database)).ok()?;
    let dev = metadata.dev();
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let file = format!("{major:02x}:{minor:02x}:{}", metadata.ino());
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    // "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF"
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (kind, pid, id) = (fields.get(1)?, fields.get(4)?, fields.get(5)?);
        let pid: u32 = pid.parse().ok()?;
        (*kind == "FLOCK" && *id == file && pid != std::process::id()).then_some(pid)
    })
}

fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}
