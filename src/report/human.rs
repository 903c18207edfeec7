//! The human report.
