//! The emulated data: reading request parameters (`Offset`, `Limit`, `Filters`) with the
//! documented limits and error codes, matching images against filters, and making image sets.
//! (Image sets from files are read by ecmguard's own snapshot reader, in the
//! `ecm_emulator` example, so the emulator takes every shape `--snapshot` takes.)

use serde_json::{Map, Value};

use crate::ApiErr;

/// Documented default and maximum `Limit`.
pub const DEFAULT_LIMIT: i64 = 20;
/// Documented maximum `Limit`.
pub const MAX_LIMIT: i64 = 100;
/// Documented maximum number of `Filters`.
pub const MAX_FILTERS: usize = 10;
/// The documented filter names.
pub const FILTER_NAMES: [&str; 5] = [
    "image-id",
    "image-type",
    "instance-type",
    "image-name",
    "image-os",
];

/// Key of emulator-only metadata inside an image object; stripped from every answer.
/// `{"_emulator": {"InstanceTypes": ["SN3ne.2XLARGE16"]}}` limits the instance types an
/// image supports (for the `instance-type` filter); without it an image supports all.
pub const META_KEY: &str = "_emulator";

/// Parsed DescribeImage parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Params {
    pub offset: i64,
    pub limit: i64,
    pub filters: Vec<(String, Vec<String>)>,
}

fn invalid_param(message: &str) -> ApiErr {
    ApiErr::new("InvalidParameter", message)
}

/// Reads `DescribeImage` parameters from a POST JSON body.
#[cfg(test)]
fn params_from_json(body: &[u8]) -> Result<Params, ApiErr> {
    let params = parse_json(body)?;
    check(&params)?;
    Ok(params)
}

/// Reads parameters from a POST JSON body, without checking the filters against an
/// action's documented names (`check`, or the usage actions' own check).
pub(crate) fn parse_json(body: &[u8]) -> Result<Params, ApiErr> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body).map_err(|_| {
            ApiErr::new(
                "InvalidParameter.InvalidDataFormat",
                "The request body is not valid JSON.",
            )
        })?
    };
    let Value::Object(map) = value else {
        return Err(ApiErr::new(
            "InvalidParameter.InvalidDataFormat",
            "The request body must be a JSON object.",
        ));
    };
    let mut params = Params {
        offset: 0,
        limit: DEFAULT_LIMIT,
        filters: Vec::new(),
    };
    for (key, value) in map {
        match key.as_str() {
            "Offset" => params.offset = integer(&value, "Offset")?,
            "Limit" => params.limit = integer(&value, "Limit")?,
            "Filters" => {
                let Value::Array(items) = value else {
                    return Err(invalid_param("Filters must be an array."));
                };
                for item in items {
                    let name = item
                        .get("Name")
                        .and_then(Value::as_str)
                        .ok_or_else(|| invalid_param("Each filter needs a string Name."))?;
                    let values = item
                        .get("Values")
                        .and_then(Value::as_array)
                        .ok_or_else(|| invalid_param("Each filter needs an array of Values."))?
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .map(str::to_owned)
                                .ok_or_else(|| invalid_param("Filter Values must be strings."))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    params.filters.push((name.to_owned(), values));
                }
            }
            other => {
                return Err(ApiErr::new(
                    "UnknownParameter",
                    &format!("The parameter `{other}` is not recognized."),
                ));
            }
        }
    }
    Ok(params)
}

fn integer(value: &Value, name: &str) -> Result<i64, ApiErr> {
    value
        .as_i64()
        .ok_or_else(|| invalid_param(&format!("{name} must be an integer.")))
}

/// Reads `DescribeImage` parameters from a GET query string
/// (`Filters.0.Values.0=…&Filters.0.Name=…`).
#[cfg(test)]
fn params_from_query(query: &str) -> Result<Params, ApiErr> {
    let params = parse_query(query)?;
    check(&params)?;
    Ok(params)
}

/// Reads parameters from a GET query string, without checking the filters (see
/// [`parse_json`]).
pub(crate) fn parse_query(query: &str) -> Result<Params, ApiErr> {
    let mut params = Params {
        offset: 0,
        limit: DEFAULT_LIMIT,
        filters: Vec::new(),
    };
    let mut names: Vec<Option<String>> = Vec::new();
    let mut values: Vec<Vec<(usize, String)>> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (form_decode(k), form_decode(v));
        let parse_int = |name: &str| {
            v.parse::<i64>()
                .map_err(|_| invalid_param(&format!("{name} must be an integer.")))
        };
        let parts: Vec<&str> = k.split('.').collect();
        match parts.as_slice() {
            ["Offset"] => params.offset = parse_int("Offset")?,
            ["Limit"] => params.limit = parse_int("Limit")?,
            ["Filters", i, rest @ ..] => {
                let i: usize = i.parse().map_err(|_| invalid_param("Bad filter index."))?;
                if i >= 64 {
                    return Err(invalid_param("Bad filter index."));
                }
                if names.len() <= i {
                    names.resize(i + 1, None);
                    values.resize(i + 1, Vec::new());
                }
                match rest {
                    ["Name"] => names[i] = Some(v.clone()),
                    ["Values", j] => {
                        let j: usize = j
                            .parse()
                            .map_err(|_| invalid_param("Bad filter value index."))?;
                        values[i].push((j, v.clone()));
                    }
                    _ => return Err(invalid_param("Bad filter parameter.")),
                }
            }
            _ => {
                return Err(ApiErr::new(
                    "UnknownParameter",
                    &format!("The parameter `{k}` is not recognized."),
                ));
            }
        }
    }
    for (name, mut vals) in names.into_iter().zip(values) {
        let name = name.ok_or_else(|| invalid_param("Each filter needs a Name."))?;
        vals.sort_by_key(|(j, _)| *j);
        params
            .filters
            .push((name, vals.into_iter().map(|(_, v)| v).collect()));
    }
    Ok(params)
}

pub(crate) fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The documented limits of `DescribeImage`, with the service's own error codes.
pub(crate) fn check(p: &Params) -> Result<(), ApiErr> {
    check_paging(p)?;
    for (name, values) in &p.filters {
        if !FILTER_NAMES.contains(&name.as_str()) {
            return Err(ApiErr::new(
                "InvalidParameterValue.InvalidFilter",
                &format!("The filter `{name}` is not supported."),
            ));
        }
        if matches!(name.as_str(), "image-name" | "image-os") && values.len() != 1 {
            return Err(ApiErr::new(
                "InvalidParameterValue.FilterLimitExceeded",
                &format!("The filter `{name}` accepts exactly one value."),
            ));
        }
    }
    Ok(())
}

/// `Offset`, `Limit`, at most [`MAX_FILTERS`] filters and no filter without values: the
/// limits every listing action shares.
pub(crate) fn check_paging(p: &Params) -> Result<(), ApiErr> {
    if p.offset < 0 || p.limit < 0 || p.limit > MAX_LIMIT {
        return Err(ApiErr::new(
            // Sic: the real code is spelled "Invaild".
            "InvalidParameterValue.InvaildPageParam",
            &format!(
                "Invalid paging parameters: Offset must be >= 0 and Limit within 0..={MAX_LIMIT} \
                 (got Offset {}, Limit {}).",
                p.offset, p.limit
            ),
        ));
    }
    if p.filters.len() > MAX_FILTERS {
        return Err(ApiErr::new(
            "InvalidParameterValue.FilterLimitExceeded",
            &format!(
                "At most {MAX_FILTERS} Filters are allowed, got {}.",
                p.filters.len()
            ),
        ));
    }
    for (name, values) in &p.filters {
        if values.is_empty() {
            return Err(ApiErr::new(
                "InvalidParameterValue",
                &format!("The filter `{name}` has no Values."),
            ));
        }
    }
    Ok(())
}

/// Whether an image passes every filter (filters ANDed, values ORed).
pub(crate) fn matches(image: &Value, filters: &[(String, Vec<String>)]) -> bool {
    let field = |k: &str| image.get(k).and_then(Value::as_str);
    filters.iter().all(|(name, values)| match name.as_str() {
        "image-id" => field("ImageId").is_some_and(|v| values.iter().any(|x| x == v)),
        "image-type" => field("ImageType").is_some_and(|v| values.iter().any(|x| x == v)),
        "instance-type" => match image.get(META_KEY).and_then(|m| m.get("InstanceTypes")) {
            Some(Value::Array(types)) => types
                .iter()
                .filter_map(Value::as_str)
                .any(|t| values.iter().any(|x| x == t)),
            _ => true,
        },
        "image-name" => field("ImageName").is_some_and(|v| values.iter().any(|x| v.contains(x))),
        "image-os" => field("ImageOsName").is_some_and(|v| values.iter().any(|x| v.contains(x))),
        _ => false,
    })
}

/// An image as it goes on the wire: without emulator metadata.
pub(crate) fn public_view(image: &Value) -> Value {
    match image {
        Value::Object(map) if map.contains_key(META_KEY) => {
            let mut map = map.clone();
            map.remove(META_KEY);
            Value::Object(map)
        }
        other => other.clone(),
    }
}

/// `n` synthetic images in the documented formats, deterministic: `img-` + 8 base-36 digits
/// of the index, a mix of private and public images, platforms and creation times.
pub fn generate_images(n: usize) -> Vec<Value> {
    (0..n).map(synthetic_image).collect()
}

/// The synthetic image with the given index (also used for inserted images).
pub fn synthetic_image(i: usize) -> Value {
    let id = format!("img-{}", base36(i as u64, 8));
    let platforms = [
        ("CentOS", "CentOS 7.6 64位", "7.6.0"),
        ("Ubuntu", "Ubuntu Server 22.04 LTS 64位", "22.04"),
        ("TencentOS", "TencentOS Server 3.1 64位", "3.1"),
        ("Windows", "Windows Server 2019 数据中心版 64位", "2019"),
    ];
    let (platform, os_name, os_version) = platforms[i % platforms.len()];
    let private = !i.is_multiple_of(3);
    let day = 1 + (i % 28);
    let month = 1 + (i / 28) % 12;
    let year = 2020 + (i / 336) % 6;
    serde_json::json!({
        "ImageId": id,
        "ImageName": format!("{}-{i}", if private { "app" } else { "base" }),
        "ImageState": "NORMAL",
        "ImageType": if private { "PRIVATE_IMAGE" } else { "PUBLIC_IMAGE" },
        "ImageOsName": os_name,
        "ImageDescription": format!("synthetic image {i}"),
        "ImageCreateTime": if private {
            format!("{year:04}-{month:02}-{day:02} 12:00:00")
        } else {
            String::new()
        },
        "Architecture": "x86_64",
        "OsType": if platform == "Windows" { "windows" } else { "linux" },
        "OsVersion": os_version,
        "Platform": platform,
        "ImageOwner": if private { 251006057 } else { 0 },
        "ImageSize": 50,
        "SrcImage": {
            "ImageId": "", "ImageName": "", "ImageOsName": "", "ImageDescription": "",
            "Region": "ap-chongqing-ecm2", "RegionID": 0, "RegionName": "", "InstanceName": "",
            "InstanceId": "", "ImageType": ""
        },
        "ImageSource": if private { "CREATE_IMAGE" } else { "OFFICIAL" },
        "TaskId": "",
        "IsSupportCloudInit": true
    })
}

pub(crate) fn base36(mut n: u64, width: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_params_and_limits() {
        let p = params_from_json(
            br#"{"Offset": 100, "Limit": 100, "Filters": [{"Values": ["a"], "Name": "image-id"}]}"#,
        )
        .unwrap();
        assert_eq!(p.offset, 100);
        assert_eq!(
            p.filters,
            vec![("image-id".to_owned(), vec!["a".to_owned()])]
        );
        assert_eq!(params_from_json(b"{}").unwrap().limit, 20);
        assert_eq!(params_from_json(b"").unwrap().limit, 20);
        let code = |b: &[u8]| params_from_json(b).unwrap_err().code;
        assert_eq!(
            code(br#"{"Limit": 101}"#),
            "InvalidParameterValue.InvaildPageParam"
        );
        assert_eq!(
            code(br#"{"Offset": -1}"#),
            "InvalidParameterValue.InvaildPageParam"
        );
        assert_eq!(code(br#"{"Limit": "x"}"#), "InvalidParameter");
        assert_eq!(code(br#"{"Foo": 1}"#), "UnknownParameter");
        assert_eq!(
            code(br#"{"Filters": [{"Name": "nope", "Values": ["x"]}]}"#),
            "InvalidParameterValue.InvalidFilter"
        );
        assert_eq!(
            code(br#"{"Filters": [{"Name": "image-os", "Values": ["x", "y"]}]}"#),
            "InvalidParameterValue.FilterLimitExceeded"
        );
        let eleven = format!(
            r#"{{"Filters": [{}]}}"#,
            [r#"{"Name": "image-id", "Values": ["x"]}"#; 11].join(",")
        );
        assert_eq!(
            code(eleven.as_bytes()),
            "InvalidParameterValue.FilterLimitExceeded"
        );
    }

    #[test]
    fn query_params() {
        let p = params_from_query(
            "Filters.0.Values.0=Ubuntu+%E9%95%9C%E5%83%8F&Filters.0.Name=image-name&Limit=5",
        )
        .unwrap();
        assert_eq!(p.limit, 5);
        assert_eq!(
            p.filters,
            vec![("image-name".to_owned(), vec!["Ubuntu 镜像".to_owned()])]
        );
    }

    #[test]
    fn filter_matching() {
        let img = serde_json::json!({"ImageId": "img-1", "ImageType": "PRIVATE_IMAGE",
            "ImageName": "web-server", "ImageOsName": "CentOS 7.6",
            "_emulator": {"InstanceTypes": ["S1"]}});
        let f =
            |n: &str, v: &[&str]| vec![(n.to_owned(), v.iter().map(|s| s.to_string()).collect())];
        assert!(matches(&img, &f("image-id", &["img-2", "img-1"])));
        assert!(!matches(&img, &f("image-id", &["img-11"])));
        assert!(matches(&img, &f("image-name", &["server"])));
        assert!(matches(&img, &f("image-os", &["CentOS"])));
        assert!(matches(&img, &f("instance-type", &["S2", "S1"])));
        assert!(!matches(&img, &f("instance-type", &["S2"])));
        assert!(public_view(&img).get(META_KEY).is_none());
    }

    #[test]
    fn generated_ids_are_unique_and_well_formed() {
        let imgs = generate_images(2000);
        let ids: std::collections::HashSet<_> = imgs
            .iter()
            .map(|i| i["ImageId"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 2000);
        assert!(ids.iter().all(|i| i.len() == 12 && i.starts_with("img-")));
    }
}
