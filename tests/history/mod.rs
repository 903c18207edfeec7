//! Compliance history (docs/history.md): the same cases against SQLite and a
//! real PostgreSQL server (`cases`), first-seen times in every report format
//! (`reports`), and `grace` in the policy language and policy tests (`grace`).

/// Each case once against SQLite and once against PostgreSQL: `both!(a, b)`
/// makes `sqlite::a`, `postgres::a`, … calling `a(&Db)` of the module it is in.
macro_rules! both {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $case() { super::$case(&super::Db::sqlite()) } )*
        }
        mod postgres {
            $( #[test] fn $case() {
                // Skipped, with a note on stderr, where there is no server.
                if let Some(db) = super::Db::postgres() { super::$case(&db) }
            } )*
        }
    };
}

/// For the other suites that run a case on both backends (`apply --history`).
pub(crate) use both;

mod cases;
pub(crate) mod db;
mod grace;
mod greener;
mod reports;
mod server;
