//! Which account is behind a run, without storing a secret, and whether a
//! run may continue a label's streaks (docs/history.md, "One label, one
//! account").
//!
//! A private image's `ImageOwner` is the UIN of the account that owns it,
//! in a live listing and in a snapshot alike, so the owner of most of a
//! run's private images identifies the account of snapshot runs (which have no credentials) and survives key rotation
//! (several SecretIds can belong to one account). What is stored is not the
//! UIN but a hash of it under a fixed, documented key: enough to tell two
//! accounts apart, nothing a reader of the database learns the UIN from at
//! a glance. (A UIN is an identifier, not a secret; the hash keeps it out of
//! shared databases and reports all the same.)

use std::collections::{BTreeSet, HashMap};

use sha2::{Digest, Sha256};

use super::store::{ErrorKind, StoreError};
use crate::image::{Field, ImageSet, Value};

/// The fixed key the owners are hashed under: a fingerprint means the same
/// in every database and every version.
const KEY: &[u8] = b"ecmguard/account-owner/v1\0";

/// Hex digits kept of each owner's hash: 64 bits, no two accounts alike in
/// practice.
const HEX_DIGITS: usize = 16;

/// Who the account behind runs is: the hashed owners. A run has at most
/// one — the owner of most of its private images (an account's own private
/// images are all its own; an image shared into it from another account
/// does not change who it is) — and a label has every owner its recorded
/// runs have had. Public images (owner 0) say nothing about the account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint {
    owners: BTreeSet<String>,
}

impl Fingerprint {
    /// The owner of most of `images`' private images (the smallest UIN
    /// among equals, so the same images always give the same owner).
    pub fn of_images(images: &ImageSet) -> Fingerprint {
        let mut counts: HashMap<i64, usize> = HashMap::new();
        for image in images.images() {
            if let Value::Int(owner) = image.get(Field::ImageOwner)
                && owner != 0
            {
                *counts.entry(owner).or_default() += 1;
            }
        }
        let owner = counts
            .into_iter()
            .max_by(|(a, n), (b, m)| n.cmp(m).then(b.cmp(a)))
            .map(|(owner, _)| owner);
        Fingerprint {
            owners: owner.into_iter().map(owner_hash).collect(),
        }
    }

    /// As stored: `None` when no image said who owns it.
    pub fn to_stored(&self) -> Option<String> {
        (!self.owners.is_empty()).then(|| self.owners.iter().cloned().collect::<Vec<_>>().join(","))
    }

    /// Add a stored fingerprint's owners (the label's account is every
    /// owner its runs have had).
    pub(crate) fn add_stored(&mut self, stored: &str) {
        self.owners.extend(
            stored
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
    }

    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }

    /// For messages: the hashes, never a UIN.
    fn shown(&self) -> String {
        self.owners.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

fn owner_hash(owner: i64) -> String {
    let mut hasher = Sha256::new();
    hasher.update(KEY);
    hasher.update(owner.to_string().as_bytes());
    let mut hex = hex::encode(hasher.finalize());
    hex.truncate(HEX_DIGITS);
    hex
}

/// Whether a run of `label` whose images have the owners `run` may be
/// recorded and continue the label's streaks, given `known`, every owner of
/// the label's earlier runs. A label with no known owner takes any run. A
/// run may not bring an owner the label has not had; and a whole-account run
/// whose account cannot be told (no private image) cannot vouch that it is
/// the label's account, since it would end every streak of images it does
/// not have. A narrowed run without private images (a pre-deployment check
/// of a public image) only touches the streaks of the images it checked,
/// which are the same images whoever looks at them.
pub fn admit(
    label: &str,
    known: &Fingerprint,
    run: &Fingerprint,
    whole_account: bool,
) -> Result<(), StoreError> {
    if known.is_empty() {
        return Ok(());
    }
    let foreign: Vec<&String> = run.owners.difference(&known.owners).collect();
    let problem = if !foreign.is_empty() {
        format!(
            "this run's images belong to another account (owner fingerprint {}) than the runs recorded under the label `{}` (owner fingerprint {}): continuing their streaks would mix two accounts",
            foreign
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            crate::text::escape(label),
            known.shown()
        )
    } else if whole_account && run.is_empty() {
        format!(
            "this run's account cannot be identified (no private image with an ImageOwner), and the label `{}` belongs to the account with owner fingerprint {}: a run of another account would end its streaks",
            crate::text::escape(label),
            known.shown()
        )
    } else {
        return Ok(());
    };
    Err(StoreError::of(ErrorKind::OtherAccount, problem).with_help(
        "record each account under its own label: --account NAME (or `account:` in ecmguard.yaml); nothing of this run was recorded",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(owners: &[i64]) -> Fingerprint {
        Fingerprint {
            owners: owners.iter().map(|o| owner_hash(*o)).collect(),
        }
    }

    #[test]
    fn owners_are_hashed_and_stored_sorted() {
        let f = fingerprint(&[222_222_222, 111_111_111]);
        let stored = f.to_stored().expect("stored");
        assert!(!stored.contains("111111111") && !stored.contains("222222222"));
        let mut back = Fingerprint::default();
        back.add_stored(&stored);
        assert_eq!(back, f);
        assert_eq!(Fingerprint::default().to_stored(), None);
        assert_eq!(owner_hash(111).len(), HEX_DIGITS);
        assert_eq!(owner_hash(111), owner_hash(111));
        assert_ne!(owner_hash(111), owner_hash(112));
    }

    #[test]
    fn a_label_takes_only_its_own_account() {
        let prod = fingerprint(&[111]);
        let none = Fingerprint::default();
        assert!(admit("l", &none, &fingerprint(&[222]), true).is_ok());
        assert!(admit("l", &prod, &prod, true).is_ok());
        assert!(admit("l", &prod, &none, false).is_ok());
        let other = admit("l", &prod, &fingerprint(&[222_222_222]), false).unwrap_err();
        assert_eq!(other.kind, ErrorKind::OtherAccount);
        assert!(!other.message.contains("222222222"));
        assert!(admit("l", &prod, &fingerprint(&[111, 222]), true).is_err());
        assert!(admit("l", &prod, &none, true).is_err());
    }
}
