//! SHA-256 identities and the seeds derived from them.

use sha2::{Digest, Sha256};

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A seed for one experiment, derived from a base seed and the
/// experiment's name, so adding an experiment never shifts another's.
pub fn derive_seed(base: u64, experiment: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(base.to_le_bytes());
    h.update(experiment.as_bytes());
    let d = h.finalize();
    u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_per_experiment_and_base() {
        let a = derive_seed(1, "autoencoder/conv-ae");
        assert_eq!(a, derive_seed(1, "autoencoder/conv-ae"));
        assert_ne!(a, derive_seed(2, "autoencoder/conv-ae"));
        assert_ne!(a, derive_seed(1, "latent/d2"));
    }

    #[test]
    fn sha256_of_empty_input() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
