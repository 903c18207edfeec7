//! The write actions: `DeleteImage` (`ImageIDSet`) and `ModifyImageAttribute` (`ImageId`,
//! `ImageName`, `ImageDescription`), performed on the emulator's data so that later
//! `DescribeImage`, `DescribeInstances` and `DescribeModule` answers see the change; and
//! [`Change`], the changes a test makes to the data between a plan and its apply (through
//! `Handle::change`, or a fault script's `change` fault at a chosen request).
//!
//! What the emulator answers (the documented codes of each action where one fits; where the
//! documentation names none, the choice is written here):
//!
//! | request | answer |
//! |---|---|
//! | body not a JSON object, a member of the wrong type | `InvalidParameter.InvalidDataFormat` (DeleteImage), `InvalidParameter` (ModifyImageAttribute) |
//! | a member the action does not take | `UnknownParameter` |
//! | no `ImageIDSet` / an empty one; no `ImageId` | `MissingParameter.MissingImageParameter` |
//! | more than [`MAX_DELETE_IDS`] ids (no documented maximum; the emulator's) | `InvalidParameterValue.ParameterValueTooLarge` |
//! | an id that is not `img-` and lowercase letters or digits | `InvalidParameterValue.InvalidImageID` |
//! | an id the account does not have (never existed, or deleted) | `ResourceNotFound` (the service answers this or `InvalidImageID`; a client must confirm with `DescribeImage` either way) |
//! | delete of an image an instance runs or a module deploys by default | `FailedOperation.ImageInUse` (the emulator counts module defaults as uses) |
//! | delete of a public image | `UnauthorizedOperation.ForbiddenOperation` (an account may not delete what it does not own; the documented list has no closer code) |
//! | modify of a public image | `FailedOperation.OperationNotAllow` |
//! | neither `ImageName` nor `ImageDescription` | `MissingParameter` |
//! | a name empty or over [`MAX_NAME_CHARS`] characters, a description over [`MAX_DESCRIPTION_CHARS`] | `InvalidParameterValue` |
//! | a name another image has | `InvalidParameterValue.ImageNameDuplicate` |
//!
//! A `DeleteImage` of several ids is checked whole before anything is deleted: one bad id
//! refuses the request and deletes nothing. Lengths are counted in characters, not bytes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ApiErr;
use crate::usage::{Instance, Module, synthetic_instance, synthetic_module};

/// `DeleteImage`.
pub const DELETE_IMAGE: &str = "DeleteImage";
/// `ModifyImageAttribute`.
pub const MODIFY_IMAGE_ATTRIBUTE: &str = "ModifyImageAttribute";
/// The documented maximum length of `ImageName`, in characters.
pub const MAX_NAME_CHARS: usize = 20;
/// The documented maximum length of `ImageDescription`, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 60;
/// The most ids one `DeleteImage` takes in the emulator (the service documents none).
pub const MAX_DELETE_IDS: usize = 100;

/// Whether `action` is one of the two write actions.
pub(crate) fn is_write_action(action: &str) -> bool {
    action == DELETE_IMAGE || action == MODIFY_IMAGE_ATTRIBUTE
}

/// A write request, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Write {
    Delete(Vec<String>),
    Modify {
        image_id: String,
        name: Option<String>,
        description: Option<String>,
    },
}

/// Reads a write action's parameters from a POST JSON body, or a GET query string
/// (`ImageIDSet.0=…`).
pub(crate) fn parse(action: &str, get_query: Option<&str>, body: &[u8]) -> Result<Write, ApiErr> {
    let format_error = |message: &str| {
        if action == DELETE_IMAGE {
            ApiErr::new("InvalidParameter.InvalidDataFormat", message)
        } else {
            ApiErr::new("InvalidParameter", message)
        }
    };
    let map = match get_query {
        Some(query) => query_members(query),
        None if body.iter().all(u8::is_ascii_whitespace) => Map::new(),
        None => match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(format_error("The request body must be a JSON object.")),
            Err(_) => return Err(format_error("The request body is not valid JSON.")),
        },
    };
    let text = |value: &Value, name: &str| {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format_error(&format!("{name} must be a string.")))
    };
    let missing = |name: &str| {
        ApiErr::new(
            "MissingParameter.MissingImageParameter",
            &format!("The parameter {name} is required."),
        )
    };
    let unknown = |key: &str| {
        ApiErr::new(
            "UnknownParameter",
            &format!("The parameter `{key}` is not recognized."),
        )
    };
    if action == DELETE_IMAGE {
        let mut ids = None;
        for (key, value) in &map {
            match key.as_str() {
                "ImageIDSet" => {
                    let Value::Array(items) = value else {
                        return Err(format_error("ImageIDSet must be an array of strings."));
                    };
                    ids = Some(
                        items
                            .iter()
                            .map(|v| text(v, "Each ImageIDSet element"))
                            .collect::<Result<Vec<_>, _>>()?,
                    );
                }
                other => return Err(unknown(other)),
            }
        }
        let ids = ids
            .filter(|ids| !ids.is_empty())
            .ok_or_else(|| missing("ImageIDSet"))?;
        if ids.len() > MAX_DELETE_IDS {
            return Err(ApiErr::new(
                "InvalidParameterValue.ParameterValueTooLarge",
                &format!(
                    "ImageIDSet holds {} ids; at most {MAX_DELETE_IDS} are accepted.",
                    ids.len()
                ),
            ));
        }
        for id in &ids {
            check_id(id)?;
        }
        return Ok(Write::Delete(ids));
    }
    let (mut image_id, mut name, mut description) = (None, None, None);
    for (key, value) in &map {
        match key.as_str() {
            "ImageId" => image_id = Some(text(value, "ImageId")?),
            "ImageName" => name = Some(text(value, "ImageName")?),
            "ImageDescription" => description = Some(text(value, "ImageDescription")?),
            other => return Err(unknown(other)),
        }
    }
    let image_id = image_id.ok_or_else(|| missing("ImageId"))?;
    check_id(&image_id)?;
    if name.is_none() && description.is_none() {
        return Err(ApiErr::new(
            "MissingParameter",
            "Nothing to modify: give ImageName or ImageDescription.",
        ));
    }
    if let Some(name) = &name {
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS {
            return Err(ApiErr::new(
                "InvalidParameterValue",
                &format!("ImageName must be 1 to {MAX_NAME_CHARS} characters long, got {chars}."),
            ));
        }
    }
    if let Some(description) = &description {
        let chars = description.chars().count();
        if chars > MAX_DESCRIPTION_CHARS {
            return Err(ApiErr::new(
                "InvalidParameterValue",
                &format!(
                    "ImageDescription must be at most {MAX_DESCRIPTION_CHARS} characters long, got {chars}."
                ),
            ));
        }
    }
    Ok(Write::Modify {
        image_id,
        name,
        description,
    })
}

/// A GET query's members as the JSON body would hold them: `ImageIDSet.N` gathered into
/// an array in index order, the others as strings.
fn query_members(query: &str) -> Map<String, Value> {
    let mut map = Map::new();
    let mut set: Vec<(usize, String)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (crate::data::form_decode(k), crate::data::form_decode(v));
        match k.split_once('.') {
            Some(("ImageIDSet", index)) => match index.parse::<usize>() {
                Ok(index) => set.push((index, v)),
                Err(_) => {
                    map.insert(k, Value::String(v));
                }
            },
            _ => {
                map.insert(k, Value::String(v));
            }
        }
    }
    if !set.is_empty() {
        set.sort_by_key(|(i, _)| *i);
        map.insert(
            "ImageIDSet".into(),
            Value::Array(set.into_iter().map(|(_, v)| Value::String(v)).collect()),
        );
    }
    map
}

/// `img-` and lowercase letters or digits, as the service's ids are.
fn check_id(id: &str) -> Result<(), ApiErr> {
    let well_formed = id.strip_prefix("img-").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if well_formed {
        Ok(())
    } else {
        Err(ApiErr::new(
            "InvalidParameterValue.InvalidImageID",
            &format!("The image id `{id}` is not valid."),
        ))
    }
}

fn position(images: &[Value], id: &str) -> Option<usize> {
    images
        .iter()
        .position(|image| image.get("ImageId").and_then(Value::as_str) == Some(id))
}

fn not_found(id: &str) -> ApiErr {
    ApiErr::new(
        "ResourceNotFound",
        &format!("The image `{id}` does not exist."),
    )
}

fn is_public(image: &Value) -> bool {
    image.get("ImageType").and_then(Value::as_str) != Some("PRIVATE_IMAGE")
}

/// What uses `id`: instances running it and modules deploying it by default.
fn in_use(id: &str, instances: &[Instance], modules: &[Module]) -> bool {
    instances.iter().any(|i| i.image.as_deref() == Some(id))
        || modules
            .iter()
            .any(|m| m.default_image.as_deref() == Some(id))
}

/// Performs a checked write on the data, or refuses it whole (nothing changed).
pub(crate) fn perform(
    write: &Write,
    images: &mut Vec<Value>,
    instances: &[Instance],
    modules: &[Module],
) -> Result<(), ApiErr> {
    match write {
        Write::Delete(ids) => {
            let mut doomed = Vec::with_capacity(ids.len());
            for id in ids {
                let at = position(images, id).ok_or_else(|| not_found(id))?;
                if is_public(&images[at]) {
                    return Err(ApiErr::new(
                        "UnauthorizedOperation.ForbiddenOperation",
                        &format!("The image `{id}` is not a private image of this account."),
                    ));
                }
                if in_use(id, instances, modules) {
                    return Err(ApiErr::new(
                        "FailedOperation.ImageInUse",
                        &format!("The image `{id}` is in use."),
                    ));
                }
                doomed.push(id.as_str());
            }
            images.retain(|image| {
                image
                    .get("ImageId")
                    .and_then(Value::as_str)
                    .is_none_or(|id| !doomed.contains(&id))
            });
            Ok(())
        }
        Write::Modify {
            image_id,
            name,
            description,
        } => {
            let at = position(images, image_id).ok_or_else(|| not_found(image_id))?;
            if is_public(&images[at]) {
                return Err(ApiErr::new(
                    "FailedOperation.OperationNotAllow",
                    &format!("The image `{image_id}` is not a private image of this account."),
                ));
            }
            if let Some(name) = name {
                let taken = images.iter().enumerate().any(|(i, image)| {
                    i != at && image.get("ImageName").and_then(Value::as_str) == Some(name)
                });
                if taken {
                    return Err(ApiErr::new(
                        "InvalidParameterValue.ImageNameDuplicate",
                        &format!("Another image is already named `{name}`."),
                    ));
                }
            }
            if let Some(Value::Object(image)) = images.get_mut(at) {
                if let Some(name) = name {
                    image.insert("ImageName".into(), Value::String(name.clone()));
                }
                if let Some(description) = description {
                    image.insert(
                        "ImageDescription".into(),
                        Value::String(description.clone()),
                    );
                }
            }
            Ok(())
        }
    }
}

/// A change to the data, as another person or system would make it while a plan waits to be
/// applied. Written in fault scripts as `{kind: change, change: {kind: rename, image: …,
/// name: …}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    /// The image gets another name.
    Rename {
        /// Its `ImageId`.
        image: String,
        /// The new `ImageName`.
        name: String,
    },
    /// The image gets another description.
    Describe {
        /// Its `ImageId`.
        image: String,
        /// The new `ImageDescription`.
        description: String,
    },
    /// The image is deleted (whatever uses it).
    Delete {
        /// Its `ImageId`.
        image: String,
    },
    /// The image becomes a public image.
    MakePublic {
        /// Its `ImageId`.
        image: String,
    },
    /// A new instance (`RUNNING`) runs the image.
    UseByInstance {
        /// Its `ImageId`.
        image: String,
    },
    /// A new module deploys the image by default.
    UseByModule {
        /// Its `ImageId`.
        image: String,
    },
}

impl Change {
    /// The image the change is about.
    pub fn image(&self) -> &str {
        match self {
            Change::Rename { image, .. }
            | Change::Describe { image, .. }
            | Change::Delete { image }
            | Change::MakePublic { image }
            | Change::UseByInstance { image }
            | Change::UseByModule { image } => image,
        }
    }
}

/// Makes `change` on the data; `n` numbers a new instance or module (unique per emulator).
/// A change about an image the data does not hold changes nothing, except a new use (an
/// instance may run an image the account cannot see).
pub(crate) fn change(
    change: &Change,
    n: usize,
    images: &mut Vec<Value>,
    instances: &mut Vec<Instance>,
    modules: &mut Vec<Module>,
) {
    let set = |images: &mut Vec<Value>, id: &str, key: &str, value: &str| {
        if let Some(Value::Object(image)) = position(images, id).and_then(|at| images.get_mut(at)) {
            image.insert(key.into(), Value::String(value.to_owned()));
        }
    };
    match change {
        Change::Rename { image, name } => set(images, image, "ImageName", name),
        Change::Describe { image, description } => {
            set(images, image, "ImageDescription", description)
        }
        Change::MakePublic { image } => set(images, image, "ImageType", "PUBLIC_IMAGE"),
        Change::Delete { image } => {
            images.retain(|i| i.get("ImageId").and_then(Value::as_str) != Some(image.as_str()))
        }
        Change::UseByInstance { image } => {
            let mut instance = synthetic_instance(n, Some(image.clone()));
            instance.state = "RUNNING".to_owned();
            instances.push(instance);
        }
        Change::UseByModule { image } => modules.push(synthetic_module(n, Some(image.clone()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn image(id: &str, name: &str, kind: &str) -> Value {
        json!({"ImageId": id, "ImageName": name, "ImageType": kind, "ImageDescription": "d"})
    }

    fn data() -> Vec<Value> {
        vec![
            image("img-aaaaaaa1", "one", "PRIVATE_IMAGE"),
            image("img-aaaaaaa2", "two", "PRIVATE_IMAGE"),
            image("img-aaaaaaa3", "three", "PUBLIC_IMAGE"),
            image("img-aaaaaaa4", "four", "PRIVATE_IMAGE"),
        ]
    }

    fn code(result: Result<impl std::fmt::Debug, ApiErr>) -> String {
        result.unwrap_err().code
    }

    fn delete(ids: &[&str]) -> Write {
        Write::Delete(ids.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn parameters_are_read_with_the_documented_codes() {
        let p = |action: &str, body: &str| parse(action, None, body.as_bytes());
        assert_eq!(
            p(DELETE_IMAGE, r#"{"ImageIDSet": ["img-abc12345"]}"#).unwrap(),
            delete(&["img-abc12345"])
        );
        assert_eq!(
            parse(
                DELETE_IMAGE,
                Some("ImageIDSet.1=img-b&ImageIDSet.0=img-a"),
                b""
            )
            .unwrap(),
            delete(&["img-a", "img-b"])
        );
        assert_eq!(
            code(p(DELETE_IMAGE, "{}")),
            "MissingParameter.MissingImageParameter"
        );
        assert_eq!(
            code(p(DELETE_IMAGE, r#"{"ImageIDSet": []}"#)),
            "MissingParameter.MissingImageParameter"
        );
        assert_eq!(
            code(p(DELETE_IMAGE, r#"{"ImageIDSet": "img-a"}"#)),
            "InvalidParameter.InvalidDataFormat"
        );
        assert_eq!(
            code(p(DELETE_IMAGE, r#"{"ImageIDSet": ["IMG-A"]}"#)),
            "InvalidParameterValue.InvalidImageID"
        );
        assert_eq!(
            code(p(DELETE_IMAGE, r#"{"ImageIds": ["img-a"]}"#)),
            "UnknownParameter"
        );
        let many: Vec<String> = (0..=MAX_DELETE_IDS).map(|i| format!("img-{i}")).collect();
        assert_eq!(
            code(p(DELETE_IMAGE, &json!({ "ImageIDSet": many }).to_string())),
            "InvalidParameterValue.ParameterValueTooLarge"
        );
        assert_eq!(
            code(p(DELETE_IMAGE, "[1]")),
            "InvalidParameter.InvalidDataFormat"
        );

        assert_eq!(
            p(
                MODIFY_IMAGE_ATTRIBUTE,
                r#"{"ImageId": "img-a", "ImageName": "新名字"}"#
            )
            .unwrap(),
            Write::Modify {
                image_id: "img-a".into(),
                name: Some("新名字".into()),
                description: None
            }
        );
        assert_eq!(
            code(p(MODIFY_IMAGE_ATTRIBUTE, r#"{"ImageName": "x"}"#)),
            "MissingParameter.MissingImageParameter"
        );
        assert_eq!(
            code(p(MODIFY_IMAGE_ATTRIBUTE, r#"{"ImageId": "img-a"}"#)),
            "MissingParameter"
        );
        assert_eq!(
            code(p(MODIFY_IMAGE_ATTRIBUTE, r#"{"ImageId": 5}"#)),
            "InvalidParameter"
        );
        // 20 characters (not bytes) are accepted, 21 are not.
        let twenty = "名".repeat(20);
        assert!(
            p(
                MODIFY_IMAGE_ATTRIBUTE,
                &json!({"ImageId": "img-a", "ImageName": twenty}).to_string()
            )
            .is_ok()
        );
        let long = "a".repeat(21);
        assert_eq!(
            code(p(
                MODIFY_IMAGE_ATTRIBUTE,
                &json!({"ImageId": "img-a", "ImageName": long}).to_string()
            )),
            "InvalidParameterValue"
        );
        assert_eq!(
            code(p(
                MODIFY_IMAGE_ATTRIBUTE,
                r#"{"ImageId": "img-a", "ImageName": ""}"#
            )),
            "InvalidParameterValue"
        );
        let sixty_one = "d".repeat(61);
        assert_eq!(
            code(p(
                MODIFY_IMAGE_ATTRIBUTE,
                &json!({"ImageId": "img-a", "ImageDescription": sixty_one}).to_string()
            )),
            "InvalidParameterValue"
        );
    }

    #[test]
    fn deletes_refuse_unknown_public_and_used_images_and_change_nothing_then() {
        let instances = vec![synthetic_instance(1, Some("img-aaaaaaa2".into()))];
        let modules = vec![synthetic_module(1, Some("img-aaaaaaa4".into()))];
        let mut images = data();
        let mut run = |w: Write| perform(&w, &mut images, &instances, &modules);
        assert_eq!(code(run(delete(&["img-zzzzzzzz"]))), "ResourceNotFound");
        assert_eq!(
            code(run(delete(&["img-aaaaaaa3"]))),
            "UnauthorizedOperation.ForbiddenOperation"
        );
        assert_eq!(
            code(run(delete(&["img-aaaaaaa1", "img-aaaaaaa2"]))),
            "FailedOperation.ImageInUse"
        );
        assert_eq!(
            code(run(delete(&["img-aaaaaaa4"]))),
            "FailedOperation.ImageInUse"
        );
        assert_eq!(images.len(), 4, "a refused request deletes nothing");
        let mut run = |w: Write| perform(&w, &mut images, &instances, &modules);
        run(delete(&["img-aaaaaaa1"])).unwrap();
        assert_eq!(code(run(delete(&["img-aaaaaaa1"]))), "ResourceNotFound");
        assert_eq!(images.len(), 3);
    }

    #[test]
    fn modifies_refuse_public_images_and_duplicate_names() {
        let mut images = data();
        let modify = |id: &str, name: Option<&str>, description: Option<&str>| Write::Modify {
            image_id: id.into(),
            name: name.map(str::to_owned),
            description: description.map(str::to_owned),
        };
        let mut run = |w: Write| perform(&w, &mut images, &[], &[]);
        assert_eq!(
            code(run(modify("img-aaaaaaa1", Some("two"), None))),
            "InvalidParameterValue.ImageNameDuplicate"
        );
        assert_eq!(
            code(run(modify("img-aaaaaaa3", Some("x"), None))),
            "FailedOperation.OperationNotAllow"
        );
        assert_eq!(
            code(run(modify("img-zzzzzzzz", Some("x"), None))),
            "ResourceNotFound"
        );
        // Its own name again is no duplicate.
        run(modify("img-aaaaaaa1", Some("one"), Some("new"))).unwrap();
        run(modify("img-aaaaaaa2", Some("deux"), None)).unwrap();
        assert_eq!(images[0]["ImageDescription"], "new");
        assert_eq!(images[1]["ImageName"], "deux");
        assert_eq!(images[1]["ImageDescription"], "d");
    }

    #[test]
    fn changes_act_on_the_data() {
        let (mut images, mut instances, mut modules) = (data(), Vec::new(), Vec::new());
        let mut apply = |c: Change, n| change(&c, n, &mut images, &mut instances, &mut modules);
        apply(
            Change::Rename {
                image: "img-aaaaaaa1".into(),
                name: "uno".into(),
            },
            0,
        );
        apply(
            Change::MakePublic {
                image: "img-aaaaaaa2".into(),
            },
            0,
        );
        apply(
            Change::Delete {
                image: "img-aaaaaaa4".into(),
            },
            0,
        );
        apply(
            Change::UseByInstance {
                image: "img-aaaaaaa1".into(),
            },
            7,
        );
        apply(
            Change::UseByModule {
                image: "img-aaaaaaa1".into(),
            },
            8,
        );
        assert_eq!(images[0]["ImageName"], "uno");
        assert_eq!(images[1]["ImageType"], "PUBLIC_IMAGE");
        assert_eq!(images.len(), 3);
        assert_eq!(instances[0].image.as_deref(), Some("img-aaaaaaa1"));
        assert_eq!(instances[0].state, "RUNNING");
        assert_eq!(modules[0].default_image.as_deref(), Some("img-aaaaaaa1"));
        let parsed: Change =
            serde_json::from_str(r#"{"kind": "use_by_module", "image": "img-x"}"#).unwrap();
        assert_eq!(parsed.image(), "img-x");
    }
}
