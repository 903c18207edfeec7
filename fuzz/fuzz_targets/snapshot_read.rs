//! Snapshot reading on arbitrary bytes, in memory and streamed: both must
//! agree on accepting or refusing, the fast path for files must agree with
//! them on what it accepts, every accepted image must serialise and read
//! back the same, and none may panic.
#![no_main]

use ecmguard::source::snapshot::{self, SnapshotError};
use libfuzzer_sys::fuzz_target;

/// How a read failed: its kind (and so its exit code) and its code.
fn failure(e: &SnapshotError) -> (std::mem::Discriminant<SnapshotError>, ecmguard::diag::Code) {
    (std::mem::discriminant(e), e.diag().code)
}

fuzz_target!(|bytes: &[u8]| {
    let in_memory = snapshot::read("fuzz.json", bytes);
    let streamed = snapshot::read_from("fuzz.json", bytes);
    assert_eq!(
        in_memory.as_ref().map(|s| s.images.len()).map_err(failure),
        streamed.as_ref().map(|s| s.images.len()).map_err(failure),
    );
    // The fast path for files: whatever it accepts, the exact parser reads
    // the same way.
    if let Ok(Some(fast)) = snapshot::read_fast("fuzz.json", bytes) {
        let exact = match &in_memory {
            Ok(exact) => exact,
            Err(_) => panic!("the fast path accepted an input the exact parser refuses"),
        };
        assert_eq!(fast.shape, exact.shape);
        assert_eq!(fast.total_count, exact.total_count);
        assert_eq!(fast.filters, exact.filters);
        assert_eq!(fast.pages, exact.pages);
        assert_eq!(
            serde_json::to_string(&fast.images).ok(),
            serde_json::to_string(&exact.images).ok()
        );
    }
    if let Ok(snapshot) = in_memory {
        // Whatever was accepted must serialise back (reports write every
        // image), and read again as the same image.
        for image in &snapshot.images {
            let written = match serde_json::to_vec(image) {
                Ok(written) => written,
                Err(e) => panic!("an accepted image does not serialise: {e}"),
            };
            let again: ecmguard::image::Image = match serde_json::from_slice(&written) {
                Ok(again) => again,
                Err(e) => panic!("an accepted image does not read back: {e}"),
            };
            // The same value in every field: a writer that loses or changes a value
            // would still write the same bytes twice, so compare the values too.
            for field in ecmguard::image::Field::ALL {
                assert_eq!(
                    image.get(*field),
                    again.get(*field),
                    "{} reads back differently",
                    field.path()
                );
            }
            assert_eq!(
                serde_json::to_vec(&again).ok().as_deref(),
                Some(written.as_slice()),
                "an image reads back differently"
            );
        }
    }
});
