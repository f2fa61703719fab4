//! The terminal's records key: what keeps residents' data in `kiosk.db` unreadable to anyone
//! who copies the file, and what makes the journal's chain a keyed one.
//!
//! One 256-bit master key lives in a key file readable only by the kiosk's user (on a
//! terminal with a TPM, a systemd credential sealed to it: see the README). Four keys are
//! derived from it with HKDF-SHA256, one per use, so no key serves two purposes:
//! - payloads (a mutation's parameters, its answer, an outbox body) are sealed with
//!   AES-256-GCM under a fresh random nonce, bound to their row by the associated data;
//! - a payload's MAC (HMAC-SHA256) stays in the hash-chained row after the payload is purged;
//! - the chain itself is an HMAC, so rows cannot be rewritten and re-chained without the key;
//! - the mark of the last verified head (HMAC-SHA256), so the start-up check can go on from
//!   there and nobody without the key can move it past rows they changed.

use std::fmt;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Bytes of the random nonce stored beside each sealed payload.
pub const NONCE_LEN: usize = 12;

type HmacSha256 = Hmac<Sha256>;

/// Why the key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the records key {path} can be read by other users (mode {mode:o}): \
         `chmod 600 {path}`, owned by the kiosk's user"
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error(
        "the records key {path} does not exist; a terminal configured with `store.key_file` \
         must have it installed (see the README, \"The records key\")"
    )]
    Missing { path: PathBuf },
    #[error(
        "the records key {path} is not 64 hexadecimal digits (a 256-bit key); \
         restore it from the terminal's backup or see the README, \"The records key\""
    )]
    Malformed { path: PathBuf },
    #[error("cannot read or create the records key {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The keys derived from the terminal's records key, made ready once per process: the
/// cipher's key schedule and the two HMACs' keyed states are built with the ring, not per
/// payload (an append seals and MACs on every resident's path). Debug prints nothing of
/// them. The derived keys are zeroized as soon as the ring is built, the cipher's key
/// schedule and GHASH key when it is dropped (the `zeroize` features of `aes` and `ghash`);
/// the HMACs' keyed states, which `hmac` cannot zeroize, live as long as the ring.
pub struct KeyRing {
    aead: Aes256Gcm,
    mac: HmacSha256,
    chain: HmacSha256,
    mark: HmacSha256,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyRing(<redacted>)")
    }
}

/// Where the records key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `<database>.key` beside the database, created on first start. For demo mode, tests
    /// and terminals without a sealed credential.
    BesideDatabase,
    /// A configured file (`store.key_file`) that must already exist, e.g. the systemd
    /// credential the TPM unseals at start.
    File(PathBuf),
}

impl KeySource {
    /// The key file for the database at `database`.
    pub fn path_for(&self, database: &Path) -> PathBuf {
        match self {
            KeySource::BesideDatabase => database.with_extension("key"),
            KeySource::File(path) => path.clone(),
        }
    }
}

impl KeyRing {
    /// Reads the key of `source` for `database`; creates it (0600) only where the source
    /// allows. A key file others can read is refused.
    pub fn load(source: &KeySource, database: &Path) -> Result<KeyRing, KeyError> {
        Self::read(source, database, *source == KeySource::BesideDatabase)
    }

    /// Reads the existing key of `source` for `database`, never creating one: for looking
    /// at a database without changing anything (`diag`).
    pub fn load_existing(source: &KeySource, database: &Path) -> Result<KeyRing, KeyError> {
        Self::read(source, database, false)
    }

    fn read(source: &KeySource, database: &Path, create: bool) -> Result<KeyRing, KeyError> {
        let path = source.path_for(database);
        let io = |source| KeyError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::metadata(&path) {
            Ok(metadata) => {
                use std::os::unix::fs::PermissionsExt;
                let mode = metadata.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(KeyError::Exposed { path, mode });
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                if !create {
                    return Err(KeyError::Missing { path });
                }
                create_key_file(&path).map_err(io)?;
            }
            Err(error) => return Err(io(error)),
        }
        let text = Zeroizing::new(std::fs::read_to_string(&path).map_err(io)?);
        let master = parse_hex_key(text.trim()).ok_or(KeyError::Malformed { path })?;
        Ok(KeyRing::from_master(&master))
    }

    /// Derives the ring from a master key (tests and the migration's checks use fixed ones).
    pub fn from_master(master: &[u8; 32]) -> KeyRing {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"renshe-kiosk records"), master);
        let derive = |info: &[u8]| {
            let mut key = Zeroizing::new([0u8; 32]);
            // 32 bytes is far below HKDF-SHA256's limit of 8160: expand cannot fail.
            let _ = hk.expand(info, key.as_mut());
            key
        };
        let aead = derive(b"payload aead v1");
        KeyRing {
            aead: Aes256Gcm::new(aead.as_ref().into()),
            mac: keyed(&derive(b"payload mac v1")),
            chain: keyed(&derive(b"journal chain v1")),
            mark: keyed(&derive(b"journal verified mark v1")),
        }
    }

    /// Seals `plaintext` bound to `context` (which row it belongs to): returns the nonce and
    /// the ciphertext with its tag.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> ([u8; NONCE_LEN], Vec<u8>) {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // Encryption with a valid key and a 12-byte nonce fails only past 64 GiB.
        let sealed = self
            .aead
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .unwrap_or_default();
        (nonce.into(), sealed)
    }

    /// Opens what [`KeyRing::seal`] sealed for the same `context`; `None` if the key, the
    /// context or a byte differs.
    pub fn open(&self, context: &[u8], nonce: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if nonce.len() != NONCE_LEN {
            return None;
        }
        self.aead
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: context,
                },
            )
            .ok()
            .map(Zeroizing::new)
    }

    /// The keyed MAC of a payload, kept in the chained row for good.
    pub fn payload_mac(&self, context: &[u8], plaintext: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(&(context.len() as u64).to_be_bytes());
        mac.update(context);
        mac.update(plaintext);
        mac.finalize().into_bytes().into()
    }

    /// The keyed mark of the journal's last verified head, kept in settings so the start-up
    /// check can go on from there: without the key, it cannot be moved forward.
    pub fn verified_mark(&self, seq: i64, hash: &[u8; 32]) -> [u8; 32] {
        let mut mac = self.mark.clone();
        mac.update(&seq.to_be_bytes());
        mac.update(hash);
        mac.finalize().into_bytes().into()
    }

    /// A fresh HMAC for one link of the journal's chain.
    pub fn chain_link(&self) -> HmacSha256 {
        self.chain.clone()
    }
}

fn keyed(key: &[u8; 32]) -> HmacSha256 {
    // HMAC takes a key of any length: new_from_slice cannot fail.
    <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

fn parse_hex_key(text: &str) -> Option<Zeroizing<[u8; 32]>> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut key = Zeroizing::new([0u8; 32]);
    for (i, pair) in bytes.chunks(2).enumerate() {
        let digit = |b: u8| (b as char).to_digit(16);
        key[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(key)
}

/// Writes a new random key, 0600 from its first byte.
fn create_key_file(path: &Path) -> std::io::Result<()> {
    use aes_gcm::aead::rand_core::RngCore;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut master = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(master.as_mut());
    let mut text = Zeroizing::new(String::with_capacity(65));
    for byte in master.iter() {
        text.push_str(&format!("{byte:02x}"));
    }
    text.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "created the records key");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_payload_opens_only_with_its_key_and_context() {
        let ring = KeyRing::from_master(&[7; 32]);
        let (nonce, sealed) = ring.seal(b"row 1", b"500101195801300170");
        assert!(
            !sealed.windows(6).any(|w| w == b"500101"),
            "no plaintext in the ciphertext"
        );
        let opened = ring.open(b"row 1", &nonce, &sealed).expect("opens");
        assert_eq!(opened.as_slice(), b"500101195801300170");
        assert!(ring.open(b"row 2", &nonce, &sealed).is_none(), "moved row");
        let other = KeyRing::from_master(&[8; 32]);
        assert!(other.open(b"row 1", &nonce, &sealed).is_none(), "other key");
        let mut flipped = sealed.clone();
        flipped[0] ^= 1;
        assert!(
            ring.open(b"row 1", &nonce, &flipped).is_none(),
            "flipped bit"
        );
    }

    #[test]
    fn the_key_file_is_created_private_and_refused_when_others_can_read_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("kiosk.db");
        let first = KeyRing::load(&KeySource::BesideDatabase, &db).expect("created");
        let key = dir.path().join("kiosk.key");
        let mode = std::fs::metadata(&key).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = KeyRing::load(&KeySource::BesideDatabase, &db).expect("read back");
        assert_eq!(first.payload_mac(b"c", b"x"), again.payload_mac(b"c", b"x"));
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let error = KeyRing::load(&KeySource::BesideDatabase, &db).expect_err("exposed");
        let message = error.to_string();
        assert!(
            message.contains("kiosk.key") && message.contains("chmod 600"),
            "{message}"
        );
    }

    #[test]
    fn a_configured_key_must_exist_and_be_well_formed() {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("kiosk.db");
        let path = dir.path().join("credential");
        let source = KeySource::File(path.clone());
        assert!(matches!(
            KeyRing::load(&source, &db),
            Err(KeyError::Missing { .. })
        ));
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .expect("create");
        std::fs::write(&path, "not a key\n").expect("write");
        assert!(matches!(
            KeyRing::load(&source, &db),
            Err(KeyError::Malformed { .. })
        ));
        std::fs::write(&path, format!("{}\n", "ab".repeat(32))).expect("write");
        assert!(KeyRing::load(&source, &db).is_ok());
    }
}
