//! The one integration test binary (`autotests = false`): every module below
//! shares the support code and is compiled once.

mod support;

mod apply;
mod cli;
mod cli_face;
mod consumers;
mod evaluation;
mod fail_closed;
mod generated;
mod governance;
mod hardening;
mod history;
mod human;
mod inputs;
mod integrity;
mod live;
mod live_cli;
mod output;
mod plan;
mod properties;
mod reports;
mod schema;
mod self_contained;
mod snapshot_input;
mod timezones;
mod usage;
mod validation;
