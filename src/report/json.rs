//! The JSON report (`ecmguard/report/v1`), documented in `docs/report-json.md`.
