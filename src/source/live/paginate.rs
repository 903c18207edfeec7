//! The listing: page 0 first (it tells `TotalCount`), then every other page concurrently,
//! checked for consistency, de-duplicated by `ImageId`, assembled in offset order, and
//! restarted from scratch (a bounded number of times) when the pages do not add up.
//!
//! A listing is only returned when it is consistent: the same `TotalCount` on every page,
//! and exactly `TotalCount` distinct images. Anything else is a restart, then an error; never
//! a partial result.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::value::RawValue;

use super::FetchProgress;
use super::client::Page;
use super::error::FetchError;
use super::retry::Caller;

/// A consistent listing.
pub(crate) struct Listing {
    pub(crate) images: Vec<Box<RawValue>>,
    pub(crate) total_count: u64,
    pub(crate) pages: u64,
    pub(crate) restarts: u32,
}

/// How to run the listing.
pub(crate) struct Plan {
    pub(crate) max_restarts: u32,
    pub(crate) restart_delay: Duration,
    pub(crate) max_in_flight: usize,
}

enum Attempt {
    Complete(Vec<Box<RawValue>>, u64),
    Inconsistent(String),
}

/// Lists every image, restarting when the pages are inconsistent.
pub(crate) async fn list(caller: &Caller<'_>, plan: &Plan) -> Result<Listing, FetchError> {
    let mut restarts = 0;
    let mut pages = 0;
    loop {
        match attempt(caller, plan, &mut pages).await? {
            Attempt::Complete(images, total_count) => {
                return Ok(Listing {
                    images,
                    total_count,
                    pages,
                    restarts,
                });
            }
            Attempt::Inconsistent(reason) => {
                if restarts >= plan.max_restarts {
                    return Err(FetchError::Unsettled { restarts, reason });
                }
                restarts += 1;
                (caller.progress)(FetchProgress::Restart {
                    restart: restarts,
                    max_restarts: plan.max_restarts,
                    reason,
                });
                // The data is changing under us: give it a moment, longer each time.
                tokio::time::sleep(plan.restart_delay * restarts).await;
            }
        }
    }
}

async fn attempt(caller: &Caller<'_>, plan: &Plan, pages: &mut u64) -> Result<Attempt, FetchError> {
    let first = caller.page(0).await?;
    *pages += 1;
    let total = first.total_count;
    let page_size = u64::from(caller.client.page_size().max(1));
    let offsets: Vec<u64> = (1..)
        .map(|i| i * page_size)
        .take_while(|offset| *offset < total)
        .collect();
    let total_pages = offsets.len() as u64 + 1;
    let mut images_seen = first.images.len() as u64;
    (caller.progress)(FetchProgress::Page {
        done: 1,
        total: total_pages,
        images: images_seen,
    });

    let mut rest: Vec<Option<Page>> = Vec::new();
    rest.resize_with(offsets.len(), || None);
    let mut stream = futures_util::stream::iter(offsets.iter().copied().enumerate())
        .map(|(i, offset)| async move { (i, offset, caller.page(offset).await) })
        .buffer_unordered(plan.max_in_flight.max(1));
    let mut done = 1;
    while let Some((i, offset, result)) = stream.next().await {
        // A failure past the retry budget ends the whole fetch; dropping the stream cancels
        // the requests still in flight.
        let page = result?;
        *pages += 1;
        if page.total_count != total {
            return Ok(Attempt::Inconsistent(format!(
                "TotalCount changed from {total} (Offset 0) to {} (Offset {offset})",
                page.total_count
            )));
        }
        done += 1;
        images_seen += page.images.len() as u64;
        (caller.progress)(FetchProgress::Page {
            done,
            total: total_pages,
            images: images_seen,
        });
        if let Some(slot) = rest.get_mut(i) {
            *slot = Some(page);
        }
    }
    drop(stream);

    let mut seen: HashSet<String> = HashSet::with_capacity(total.min(1 << 20) as usize);
    let mut images = Vec::with_capacity(total.min(1 << 20) as usize);
    for page in std::iter::once(first).chain(rest.into_iter().flatten()) {
        for image in page.images {
            // An image without an ImageId cannot be matched against others; it is kept
            // (every field is optional) and still counts towards TotalCount.
            let fresh = image.id.is_none_or(|id| seen.insert(id));
            if fresh {
                images.push(image.raw);
            }
        }
    }
    if images.len() as u64 != total {
        return Ok(Attempt::Inconsistent(format!(
            "collected {} distinct images in {total_pages} pages, but TotalCount is {total}",
            images.len()
        )));
    }
    Ok(Attempt::Complete(images, total))
}
