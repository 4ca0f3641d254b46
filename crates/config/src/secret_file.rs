//! Secrets kept in files (signing keys, seed-sealing keys, the pseudonym key): read them, and in
//! dev mode create them on first start. One implementation for every key, so each gets the same
//! care: owner-only permissions, never overwritten, safe when two processes start together.

use std::io::Write;
use std::path::Path;

use crate::ConfigError;

/// Writes a new secret file, readable by its owner only. Fails if the file exists: a key is never
/// overwritten (rotation keeps the old one aside, see docs/security/).
pub fn create_new(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Whether [`read_or_create`] found the secret or made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Existing,
    Created,
}

/// Reads the secret at `path`. When it is missing and `create` is allowed (dev mode), first
/// writes the text `make` returns. If another process creates the file at the same moment, both
/// use the one written first.
pub fn read_or_create(
    path: &Path,
    create: bool,
    make: impl FnOnce() -> Result<String, String>,
) -> Result<(String, Origin), ConfigError> {
    let read_error = |message: String| ConfigError::Read {
        path: path.to_owned(),
        message,
    };
    let mut origin = Origin::Existing;
    if create && !path.exists() {
        let text = make().map_err(read_error)?;
        match create_new(path, &text) {
            Ok(()) => origin = Origin::Created,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(read_error(e.to_string())),
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| read_error(e.to_string()))?;
    Ok((text.trim().to_owned(), origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_read_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/k");
        assert!(matches!(
            read_or_create(&path, false, || Ok("x".into())),
            Err(ConfigError::Read { .. })
        ));
        assert!(
            !path.exists(),
            "nothing created when creation is not allowed"
        );
        let (text, origin) = read_or_create(&path, true, || Ok("first\n".into())).unwrap();
        assert_eq!((text.as_str(), origin), ("first", Origin::Created));
        let (text, origin) = read_or_create(&path, true, || Ok("second".into())).unwrap();
        assert_eq!((text.as_str(), origin), ("first", Origin::Existing));
        assert!(create_new(&path, "third").is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
