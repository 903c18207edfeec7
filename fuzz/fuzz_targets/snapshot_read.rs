//! Snapshot reading on arbitrary bytes, in memory and streamed: both must
//! agree on accepting or refusing, and neither may panic.
#![no_main]

use ecmguard::source::snapshot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let in_memory = snapshot::read("fuzz.json", bytes);
    let streamed = snapshot::read_from("fuzz.json", bytes);
    assert_eq!(
        in_memory
            .as_ref()
            .map(|s| s.images.len())
            .map_err(|f| f.exit),
        streamed
            .as_ref()
            .map(|s| s.images.len())
            .map_err(|f| f.exit),
    );
    if let Ok(snapshot) = in_memory {
        // Whatever was accepted must serialise back.
        for image in &snapshot.images {
            let _ = serde_json::to_vec(image);
        }
    }
});
