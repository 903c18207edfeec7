//! Command-line behaviour: exit codes 0, 1 and 2, policy discovery, stdin.
