//! Faults as a property: for seeded random fault scripts (throttling, API and HTTP errors,
//! delays past the timeout, truncation, `ImageSet: null`, `TotalCount` drift, inserts and
//! deletes while paging, duplicates, overlaps — once, a few times or forever), a fetch either
//! returns exactly the emulator's data set or fails with exit 3. Never a verdict on wrong data.
//!
//! The scripts come from a fixed seed, so every run checks the same cases.

use std::time::Duration;

use ecm_emulator::{Fault, FaultRule, FaultScript};
use ecmguard::exit::ExitCode;
use ecmguard::source::live::fetch_all;

use super::support::{emulator, emulator_ids, fast_config, ids};

/// splitmix64: small, deterministic, good enough to spread test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn random_fault(rng: &mut Rng, images: u64) -> Fault {
    match rng.below(13) {
        0 => Fault::Throttle,
        1 => Fault::InternalError,
        2 => Fault::ApiError {
            code: "ServiceUnavailable".into(),
            message: None,
        },
        3 => Fault::ApiError {
            code: "FailedOperation.InternalOperationFailure".into(),
            message: None,
        },
        4 => Fault::Http {
            status: [502, 503, 504, 500][rng.below(4) as usize],
            body: None,
        },
        5 => Fault::Delay { ms: 400 },
        6 => Fault::Truncate,
        7 => Fault::NullImageSet,
        8 => Fault::TotalCountDelta {
            delta: [1, -1, 5, -7][rng.below(4) as usize],
        },
        9 => Fault::Insert {
            count: 1 + rng.below(5),
            at: rng.below(images + 1),
        },
        10 => Fault::Delete {
            count: 1 + rng.below(5),
            at: rng.below(images.max(1)),
        },
        11 => Fault::Duplicate {
            count: 1 + rng.below(10),
        },
        _ => Fault::Overlap {
            count: 1 + rng.below(10),
        },
    }
}

fn random_script(rng: &mut Rng, images: u64) -> FaultScript {
    let rules = (0..1 + rng.below(4))
        .map(|_| {
            let mut rule = FaultRule::once(random_fault(rng, images));
            if rng.chance(60) {
                let pages = images.div_ceil(100).max(1);
                rule = rule.at_offset(rng.below(pages) * 100);
            }
            if rng.chance(15) {
                rule = rule.forever();
            } else {
                rule = rule.times(1 + rng.below(3));
            }
            if rng.chance(30) {
                rule = rule.after(rng.below(3));
            }
            rule
        })
        .collect();
    FaultScript::new(rules)
}

#[tokio::test]
async fn every_fault_script_gives_the_exact_set_or_exit_3() {
    let mut rng = Rng(0x5EED_2026_1127);
    let (mut complete, mut refused) = (0, 0);
    for case in 0..48 {
        let images = rng.below(460);
        let script = random_script(&mut rng, images);
        let em = emulator(images as usize, script.clone()).await;
        let mut cfg = fast_config(&em);
        cfg.timeout = Duration::from_millis(200);
        match fetch_all(&cfg, &|_| {}).await {
            Ok(fetched) => {
                complete += 1;
                assert_eq!(
                    ids(&fetched.images),
                    emulator_ids(&em),
                    "case {case}: wrong data for {script:?}"
                );
                assert_eq!(
                    fetched.total_count,
                    fetched.images.len() as u64,
                    "case {case}"
                );
            }
            Err(error) => {
                refused += 1;
                assert_eq!(
                    ecmguard::exit::ExitCode::of_fetch_error(&error),
                    ExitCode::Incomplete,
                    "case {case}: {error} for {script:?}"
                );
            }
        }
        em.shutdown().await;
    }
    // Both outcomes must actually occur, or the property says little.
    assert!(
        complete > 10 && refused > 2,
        "complete {complete}, refused {refused}"
    );
}
