//! `pause-tools keygen --key PATH --passphrase-env NAME`: the release signing key pair, in
//! cosign's format, made offline: `PATH` the ECDSA P-256 private key as cosign's encrypted PEM
//! (`ENCRYPTED SIGSTORE PRIVATE KEY`: scrypt, then NaCl secretbox), mode 0600, and beside it
//! `PATH` with the extension `.pub`, the public key as PKIX PEM, which a `policy.json` or
//! `cosign verify --key` names. The passphrase is the value of the environment variable
//! `NAME` (the Justfile names it, and where the key lives), never a file. It never
//! overwrites a key.
//!
//! The key format and its cryptography are the `sigstore` crate's (sigstore-rs), not ours:
//! the same functions that write the key read it back in `decrypt`, which `just release`
//! runs before it pushes anything, so that a wrong passphrase stops it there.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use sigstore::crypto::SigningScheme;
use sigstore::crypto::signing_key::{
    COSIGN_PRIVATE_KEY_PEM_LABEL, SIGSTORE_PRIVATE_KEY_PEM_LABEL, SigStoreKeyPair,
};

/// The options both `keygen` and `release` take: where the private key is, and the name of
/// the variable that holds its passphrase.
pub struct KeyOptions {
    pub key: PathBuf,
    pub passphrase_env: String,
}

impl KeyOptions {
    /// `--key PATH --passphrase-env NAME` out of `args`; the rest, in order.
    pub fn parse(args: &[String]) -> Result<(KeyOptions, Vec<String>)> {
        let (mut key, mut passphrase_env, mut rest) = (None, None, Vec::new());
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--key" => key = Some(args.next().context("--key needs a path")?.into()),
                "--passphrase-env" => {
                    passphrase_env = Some(args.next().context("--passphrase-env needs a name")?)
                }
                _ => rest.push(arg.clone()),
            }
        }
        let options = KeyOptions {
            key: key.context("--key PATH: the private key (`just` passes it)")?,
            passphrase_env: passphrase_env
                .context("--passphrase-env NAME: its passphrase's variable (`just` passes it)")?
                .clone(),
        };
        Ok((options, rest))
    }

    /// The passphrase: the variable's value, which must be set and not empty.
    pub fn passphrase(&self) -> Result<String> {
        let name = &self.passphrase_env;
        match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(value),
            _ => bail!("{name} is not set: it must hold the passphrase of the signing key"),
        }
    }

    /// The passphrase, once it is known to decrypt the key: what `release` checks before it
    /// pushes anything.
    pub fn unlock(&self) -> Result<String> {
        let key = &self.key;
        ensure!(
            key.is_file(),
            "no signing key at {}: make one with `just keygen`",
            key.display()
        );
        let pem =
            std::fs::read_to_string(key).with_context(|| format!("reading {}", key.display()))?;
        let encrypted = [COSIGN_PRIVATE_KEY_PEM_LABEL, SIGSTORE_PRIVATE_KEY_PEM_LABEL]
            .iter()
            .any(|label| {
                pem.trim_start()
                    .starts_with(&format!("-----BEGIN {label}-----"))
            });
        ensure!(
            encrypted,
            "{} is not a cosign encrypted private key (`just keygen` makes one)",
            key.display()
        );
        let passphrase = self.passphrase()?;
        match SigStoreKeyPair::from_encrypted_pem(pem.as_bytes(), passphrase.as_bytes()) {
            Ok(_) => Ok(passphrase),
            Err(_) => bail!(
                "the passphrase in {} does not decrypt {}",
                self.passphrase_env,
                key.display()
            ),
        }
    }
}

/// The public key's path: the private key's with the extension `.pub` (cosign's own pair is
/// `cosign.key` and `cosign.pub`).
pub fn public_key_path(key: &Path) -> PathBuf {
    key.with_extension("pub")
}

pub fn main(args: &[String]) -> Result<()> {
    let (options, rest) = KeyOptions::parse(args)?;
    ensure!(
        rest.is_empty(),
        "usage: pause-tools keygen --key PATH --passphrase-env NAME"
    );
    let passphrase = options.passphrase()?;
    let public = public_key_path(&options.key);
    for path in [&options.key, &public] {
        ensure!(
            !path.exists(),
            "{} exists: keygen never overwrites a key",
            path.display()
        );
    }
    if let Some(dir) = options.key.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let signer = SigningScheme::ECDSA_P256_SHA256_ASN1.create_signer()?;
    let pair = signer.to_sigstore_keypair()?;
    let private = pair.private_key_to_encrypted_pem(passphrase.as_bytes())?;
    write_new(&options.key, private.as_bytes(), 0o600)?;
    write_new(&public, pair.public_key_to_pem()?.as_bytes(), 0o644)?;
    // What was written must read back with the same passphrase, as release will read it.
    options.unlock()?;
    println!(
        "wrote {} (encrypted with ${})",
        options.key.display(),
        options.passphrase_env
    );
    println!("wrote {}", public.display());
    Ok(())
}

/// Creates `path` (never over an existing file) with `mode` and `bytes`.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}
