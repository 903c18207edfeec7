//! `ecmguard completions SHELL` and `ecmguard man`: made from the clap
//! definitions (`cli::Cli`) at run time, so they always match `--help` of
//! the binary that prints them and cannot go stale.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use super::{Io, done, file_failed, to_reader};
use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::diag::{Code, Diag, did_you_mean};
use crate::fs::write::AtomicFile;
use crate::outcome::{Error, Outcome};

pub(super) fn completions(args: &CompletionsArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "ecmguard", &mut script);
    to_reader(io.stdout.write_all(&script))?;
    done()
}

/// The commands with a page of their own, built (so each knows its full
/// name, `ecmguard-check`), without clap's `help`.
fn root() -> clap::Command {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    root
}

/// One page: `ecmguard(1)` or `ecmguard-COMMAND(1)`.
fn page(command: clap::Command) -> Vec<u8> {
    let mut roff = Vec::new();
    // Every page names the program, not the command (`check 0.1.0`).
    let man = clap_mangen::Man::new(command).source(format!("ecmguard {}", crate::VERSION));
    // Rendering into memory cannot fail.
    let _ = man.render(&mut roff);
    roff
}

pub(super) fn man(args: &ManArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let root = root();
    if let Some(dir) = &args.out_dir {
        return every_page(root, dir, io);
    }
    let command = match &args.command {
        None => root,
        Some(name) => match root.find_subcommand(name) {
            Some(command) => command.clone(),
            None => {
                let names: Vec<&str> = root.get_subcommands().map(|c| c.get_name()).collect();
                return Err(Error::usage(
                    Diag::error(
                        Code::InvalidArgument,
                        format!("ecmguard has no command `{name}`"),
                    )
                    .with_help(format!("the commands are: {}", names.join(", ")))
                    .suggest(did_you_mean(name, names.iter().copied())),
                ));
            }
        },
    };
    to_reader(io.stdout.write_all(&page(command)))?;
    done()
}

/// `ecmguard.1` and one `ecmguard-COMMAND.1` per command into `dir`, each
/// written whole or not at all.
fn every_page(root: clap::Command, dir: &Path, io: &mut Io<'_>) -> Result<Outcome, Error> {
    fn with_subcommands(command: clap::Command, pages: &mut Vec<clap::Command>) {
        let subcommands: Vec<clap::Command> = command.get_subcommands().cloned().collect();
        pages.push(command);
        for sub in subcommands {
            with_subcommands(sub, pages);
        }
    }
    let mut pages = Vec::new();
    with_subcommands(root, &mut pages);
    std::fs::create_dir_all(dir).map_err(|e| file_failed(dir, &e))?;
    for command in pages {
        let name = clap_mangen::Man::new(command.clone()).get_filename();
        let path = dir.join(&name);
        let mut file = AtomicFile::create(&path).map_err(|e| file_failed(&path, &e))?;
        file.write_all(&page(command))
            .map_err(|e| file_failed(&path, &e))?;
        file.commit().map_err(|e| file_failed(&path, &e))?;
        to_reader(writeln!(io.stdout, "wrote {}", path.display()))?;
    }
    done()
}
