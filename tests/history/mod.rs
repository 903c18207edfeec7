//! Compliance history (docs/history.md): the same cases against SQLite and a
//! real PostgreSQL server (`cases`), first-seen times in every report format
//! (`reports`), and `grace` in the policy language and policy tests (`grace`).

mod cases;
mod db;
mod grace;
mod reports;
mod server;
