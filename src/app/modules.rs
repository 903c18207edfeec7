//! `check --module MODULE_ID`: the modules a pre-deployment check is about, found live
//! (`DescribeModule` by `module-id`) or in a snapshot's usage, and the images they deploy
//! (their `DefaultImage`), which the check then judges as a narrowed selection.

use crate::diag::{Code, Diag};
use crate::outcome::Error;
use crate::usage::Module;

/// An account with at most this many modules is listed whole when a `--module` id matches
/// none of them; a larger one is only counted.
const FEW_MODULES: usize = 10;

/// The modules asked for, found.
#[derive(Debug, Default)]
pub(super) struct Resolved {
    /// `(ModuleId, its default ImageId)` in the order asked (`None`: it deploys nothing).
    pub(super) modules: Vec<(String, Option<String>)>,
    /// A warning for each module without a default image: nothing is checked for it.
    pub(super) warnings: Vec<Diag>,
}

impl Resolved {
    /// The images to check for the modules, each once, in the order asked.
    pub(super) fn images(&self) -> Vec<String> {
        let mut images: Vec<String> = Vec::new();
        for image in self.modules.iter().filter_map(|(_, image)| image.as_ref()) {
            if !images.contains(image) {
                images.push(image.clone());
            }
        }
        images
    }

    /// `--module em-1 (img-a), em-2 (no default image)`: how the selection is described.
    pub(super) fn describe(&self) -> String {
        let each: Vec<String> = self
            .modules
            .iter()
            .map(|(module, image)| match image {
                Some(image) => format!("{module} ({image})"),
                None => format!("{module} (no default image)"),
            })
            .collect();
        format!("--module {}", each.join(", "))
    }
}

/// The modules `asked` among those `found`. An id that matches none is exit 2
/// (`module-not-found`), naming the modules that exist when there are few (`all` lists
/// them, only then).
pub(super) fn resolve(
    asked: &[String],
    found: &[Module],
    all: impl FnOnce() -> Result<Vec<Module>, Error>,
) -> Result<Resolved, Error> {
    let find = |id: &str| found.iter().find(|m| m.id.as_deref() == Some(id));
    let unknown: Vec<&str> = asked
        .iter()
        .map(String::as_str)
        .filter(|id| find(id).is_none())
        .collect();
    if !unknown.is_empty() {
        return Err(not_found(&unknown, &all()?));
    }
    let mut resolved = Resolved::default();
    for id in asked {
        let module = find(id);
        let image = module.and_then(|m| m.image_id()).map(str::to_owned);
        if image.is_none() {
            let name = module
                .and_then(|m| m.name.as_deref())
                .filter(|n| !n.is_empty())
                .map(|n| format!(" ({})", crate::text::escape(n)))
                .unwrap_or_default();
            resolved.warnings.push(
                Diag::warning(
                    Code::ModuleWithoutImage,
                    format!(
                        "module {}{name} has no default image: it deploys no image, so nothing is checked for it",
                        crate::text::escape(id)
                    ),
                )
                .with_help("give the module a default image (or deploy it with an explicit ImageId and check that image with --image)"),
            );
        }
        resolved.modules.push((id.clone(), image));
    }
    Ok(resolved)
}

fn not_found(unknown: &[&str], all: &[Module]) -> Error {
    let ids: Vec<String> = unknown
        .iter()
        .map(|id| crate::text::escape(id).into_owned())
        .collect();
    let help = if all.is_empty() {
        "the account has no module; check the endpoint and the credentials' account".to_owned()
    } else if all.len() <= FEW_MODULES {
        let each: Vec<String> = all
            .iter()
            .map(|m| {
                let id = crate::text::escape(m.id.as_deref().unwrap_or("")).into_owned();
                match m.name.as_deref().filter(|n| !n.is_empty()) {
                    Some(name) => format!("{id} ({})", crate::text::escape(name)),
                    None => id,
                }
            })
            .collect();
        format!(
            "the account has {}: {}",
            crate::text::count(all.len() as u64, "module", "modules"),
            each.join(", ")
        )
    } else {
        format!(
            "the account has {}; list them with `tccli ecm DescribeModule`",
            crate::text::count(all.len() as u64, "module", "modules")
        )
    };
    Error::usage(
        Diag::error(
            Code::ModuleNotFound,
            format!(
                "--module: no module {} (DescribeModule lists none with {})",
                ids.join(", "),
                if ids.len() == 1 {
                    "this id"
                } else {
                    "these ids"
                }
            ),
        )
        .with_help(help),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(id: &str, name: &str, image: Option<&str>) -> Module {
        Module {
            name: Some(name.into()),
            ..Module::new(id, image)
        }
    }

    #[test]
    fn modules_resolve_to_their_default_images_once_each() {
        let found = [
            module("em-1", "web", Some("img-a")),
            module("em-2", "batch", None),
            module("em-3", "api", Some("img-a")),
        ];
        let asked = ["em-3", "em-2", "em-1"].map(String::from);
        let resolved = resolve(&asked, &found, || unreachable!("all found")).unwrap();
        assert_eq!(resolved.images(), ["img-a"]);
        assert_eq!(
            resolved.describe(),
            "--module em-3 (img-a), em-2 (no default image), em-1 (img-a)"
        );
        assert_eq!(resolved.warnings.len(), 1);
        assert!(
            resolved.warnings[0]
                .message
                .starts_with("module em-2 (batch) has no default image")
        );
    }

    #[test]
    fn an_unknown_module_names_the_few_that_exist() {
        let all = vec![module("em-1", "web", None), module("em-2", "", None)];
        let err = resolve(&["em-9".into()], &[], || Ok(all)).unwrap_err();
        let diag = err.into_diagnostics().remove(0);
        assert_eq!(diag.code, Code::ModuleNotFound);
        assert_eq!(
            diag.help.as_deref(),
            Some("the account has 2 modules: em-1 (web), em-2")
        );
        let many: Vec<Module> = (0..11)
            .map(|i| module(&format!("em-{i}"), "m", None))
            .collect();
        let err = resolve(&["em-x".into()], &[], || Ok(many)).unwrap_err();
        let diag = err.into_diagnostics().remove(0);
        assert!(
            diag.help
                .unwrap()
                .starts_with("the account has 11 modules; list them")
        );
    }
}
