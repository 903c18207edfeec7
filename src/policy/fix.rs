//! A rule's `fix` (docs/remediation.md): `fix: delete`, `fix: {rename:
//! TEMPLATE}` or `fix: {describe: TEMPLATE}`, checked when the policy loads.
//! A fix acts on one image, so a set-level rule cannot have one; the
//! templates are message templates (same placeholders, same renderer).

use crate::diag::Code;
use crate::policy::context::Cx;
use crate::policy::model::Fix;
use crate::policy::read::Read;
use crate::policy::template;
use crate::policy::yaml::Node;

/// The help every malformed `fix` gets: the three forms.
const FORMS: &str = "a fix is `fix: delete`, `fix: {rename: TEMPLATE}` or `fix: {describe: TEMPLATE}` (templates as in `message`, e.g. \"{ImageName}-old\")";

/// Compile the `fix` of a rule; `set_level`: the rule is an `expect` rule.
pub(crate) fn compile(cx: &mut Cx<'_>, node: &Node, set_level: bool) -> Option<Fix> {
    let fix = read(cx, node)?;
    if set_level {
        let diag = cx
            .err(
                Code::FixOnSetLevel,
                node.span,
                "a set-level rule (`expect`) cannot have a `fix`: its findings name no single image to act on",
                "on a set-level rule",
            )
            .with_help("put the fix on a per-image rule (`assert`), or remove it");
        cx.push(diag);
        return None;
    }
    Some(fix)
}

fn read(cx: &mut Cx<'_>, node: &Node) -> Option<Fix> {
    if let Some(text) = node.as_str() {
        let name = cx.choose(text, &Fix::NAMES, |cx| unknown(cx, node, text))?;
        if name == "delete" {
            return Some(Fix::Delete);
        }
        let diag = cx
            .err(
                Code::UnknownFix,
                node.span,
                format!("`fix: {name}` needs the new value: `fix: {{{name}: TEMPLATE}}`"),
                "without its template",
            )
            .with_help(FORMS);
        cx.push(diag);
        return None;
    }
    let Some(entries) = node.as_map() else {
        cx.wrong_type(
            node,
            "`fix`",
            "`delete`, or a mapping `{rename: …}` / `{describe: …}`",
        );
        return None;
    };
    let [(key, value)] = entries else {
        let diag = cx
            .err(
                Code::UnknownFix,
                node.span,
                format!(
                    "`fix` takes one action, found {}",
                    crate::text::count(entries.len() as u64, "entry", "entries")
                ),
                "one action per rule",
            )
            .with_help(FORMS);
        cx.push(diag);
        return None;
    };
    let Some(text) = key.as_str() else {
        cx.wrong_type(key, "the action of `fix`", "rename or describe");
        return None;
    };
    let name = cx.choose(text, &["rename", "describe"], |cx| unknown(cx, key, text))?;
    let template = template::compile_as(cx, value, false, &format!("fix `{name}`"))?;
    Some(match name {
        "rename" => Fix::Rename(template),
        _ => Fix::Describe(template),
    })
}

fn unknown(cx: &Cx<'_>, node: &Node, text: &str) -> crate::diag::Diag {
    cx.err(
        Code::UnknownFix,
        node.span,
        format!("unknown fix `{}`", crate::text::escape(text)),
        "not a fix",
    )
    .with_help(FORMS)
}
