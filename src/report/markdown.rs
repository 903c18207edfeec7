//! The markdown report (in progress).

use std::io::Write;

use crate::report::Report;

pub fn render(_report: &Report<'_>, _out: &mut dyn Write) -> std::io::Result<()> {
    Ok(())
}
