//! The listing of any action (`action`): page 0 first (it tells `TotalCount`), then every
//! other page concurrently, checked for consistency, de-duplicated by the items' ids
//! (`ImageId`, `InstanceId`, `ModuleId`), assembled in offset order, and restarted from
//! scratch (a bounded number of times) when the pages do not add up.
//!
//! A listing is only returned when it is consistent: the same `TotalCount` on every page,
//! and exactly `TotalCount` distinct items. Anything else is a restart, then an error; never
//! a partial result.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::value::RawValue;

use super::client::Page;
use super::error::FetchError;
use super::retry::{Caller, Transport};
use super::{FetchProgress, MAX_TOTAL_COUNT};

/// A consistent listing.
pub(crate) struct Listing {
    /// Each item as kept (`Action::keep`), de-duplicated, in offset order.
    pub(crate) items: Vec<Box<RawValue>>,
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

/// Lists every item, restarting when the pages are inconsistent.
pub(crate) async fn list<T: Transport>(
    caller: &Caller<'_, T>,
    plan: &Plan,
) -> Result<Listing, FetchError> {
    let mut restarts = 0;
    let mut pages = 0;
    loop {
        match attempt(caller, plan, &mut pages).await? {
            Attempt::Complete(items, total_count) => {
                return Ok(Listing {
                    items,
                    total_count,
                    pages,
                    restarts,
                });
            }
            Attempt::Inconsistent(reason) => {
                if restarts >= plan.max_restarts {
                    return Err(FetchError::Unsettled {
                        action: caller.client.action(),
                        restarts,
                        reason,
                    });
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

async fn attempt<T: Transport>(
    caller: &Caller<'_, T>,
    plan: &Plan,
    pages: &mut u64,
) -> Result<Attempt, FetchError> {
    let first = caller.page(0).await?;
    *pages += 1;
    let total = first.total_count;
    // Bounded by the tool, not the server: nothing proportional to the
    // total is planned or allocated before the total is known to be sane.
    if total > MAX_TOTAL_COUNT {
        return Err(FetchError::TotalTooLarge {
            total,
            limit: MAX_TOTAL_COUNT,
        });
    }
    // A server may hand out fewer items per page than `Limit` asks for while the
    // listing is stable (a lower page cap): page by what the first page held.
    let asked = u64::from(caller.client.page_size().max(1));
    let held = first.items.len() as u64;
    if held > asked {
        return Err(FetchError::PageMismatch {
            offset: 0,
            detail: format!("{held} {} for Limit={asked}", caller.client.action().items),
        });
    }
    let page_size = if held > 0 && held < asked && held < total {
        held
    } else {
        asked
    };
    // Planned lazily: one offset at a time, as the stream asks for it.
    let offsets = (1..)
        .map(move |i: u64| i * page_size)
        .take_while(move |offset| *offset < total);
    let total_pages = total.saturating_sub(1) / page_size + 1;
    let mut items_seen = held;
    (caller.progress)(FetchProgress::Page {
        done: 1,
        total: total_pages,
        images: items_seen,
    });

    let mut by_offset: BTreeMap<u64, Page> = BTreeMap::new();
    by_offset.insert(0, first);
    let mut stream = futures_util::stream::iter(offsets)
        .map(|offset| async move { (offset, caller.page(offset).await) })
        .buffer_unordered(plan.max_in_flight.max(1));
    let mut done = 1;
    while let Some((offset, result)) = stream.next().await {
        // A failure past the retry budget ends the whole fetch; dropping the stream cancels
        // the requests still in flight.
        let page = result?;
        *pages += 1;
        if page.items.len() as u64 > asked {
            return Err(FetchError::PageMismatch {
                offset,
                detail: format!(
                    "{} {} for Limit={asked}",
                    page.items.len(),
                    caller.client.action().items
                ),
            });
        }
        if page.total_count != total {
            return Ok(Attempt::Inconsistent(changed(total, &page, offset)));
        }
        done += 1;
        items_seen += page.items.len() as u64;
        (caller.progress)(FetchProgress::Page {
            done,
            total: total_pages,
            images: items_seen,
        });
        by_offset.insert(offset, page);
    }
    drop(stream);

    // Short pages leave gaps in [0, TotalCount): ask for each gap from where the
    // page before it ended, until the offsets are covered. Bounded: every round
    // either covers more or ends the attempt.
    for _ in 0..=total {
        let Some(gap) = first_gap(&by_offset, total) else {
            break;
        };
        let page = caller.page(gap).await?;
        *pages += 1;
        if page.total_count != total {
            return Ok(Attempt::Inconsistent(changed(total, &page, gap)));
        }
        if page.items.is_empty() {
            return Ok(Attempt::Inconsistent(format!(
                "the page at Offset {gap} is empty although TotalCount is {total}"
            )));
        }
        by_offset.insert(gap, page);
    }

    // Which items are the first with their id (every item has one: the
    // client refuses a page with an item without). The set borrows the ids
    // from the pages and is gone before the items are moved out.
    let first_of_its_id: Vec<bool> = {
        let mut seen: HashSet<&str> = HashSet::with_capacity(total.min(1 << 20) as usize);
        by_offset
            .values()
            .flat_map(|page| &page.items)
            .map(|item| seen.insert(item.id()))
            .collect()
    };
    let mut items = Vec::with_capacity(total.min(1 << 20) as usize);
    let all = by_offset.into_values().flat_map(|page| page.items);
    for (item, fresh) in all.zip(first_of_its_id) {
        if fresh {
            items.push(item.raw);
        }
    }
    if items.len() as u64 != total {
        let action = caller.client.action();
        return Ok(Attempt::Inconsistent(format!(
            "collected {} in {}, but TotalCount is {total}",
            crate::text::count(
                items.len() as u64,
                &format!("distinct {}", action.item),
                &format!("distinct {}", action.items)
            ),
            crate::text::count(*pages, "page", "pages")
        )));
    }
    Ok(Attempt::Complete(items, total))
}

fn changed(total: u64, page: &Page, offset: u64) -> String {
    format!(
        "TotalCount changed from {total} (Offset 0) to {} (Offset {offset})",
        page.total_count
    )
}

/// The first offset below `total` that no page covers, if any.
fn first_gap(by_offset: &BTreeMap<u64, Page>, total: u64) -> Option<u64> {
    let mut covered = 0u64;
    for (offset, page) in by_offset {
        if *offset > covered {
            return Some(covered);
        }
        covered = covered.max(offset + page.items.len() as u64);
    }
    (covered < total).then_some(covered)
}
