//! CSV: parses back with an RFC 4180 reader into one row per finding under
//! the documented header, hostile values intact.

use ecmguard::report::csv::defuse;

use super::support::{json, render};

/// A strict RFC 4180 reader: fields separated by `,`, records by CRLF,
/// quoted fields may hold `,`, CR, LF and doubled quotes.
fn parse(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    quoted = false;
                    if !matches!(chars.peek(), Some(',') | Some('\r') | None) {
                        return Err(format!(
                            "text after a closing quote in record {}",
                            records.len() + 1
                        ));
                    }
                }
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            '"' => return Err(format!("bare quote in record {}", records.len() + 1)),
            ',' => {
                record.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' => {
                if chars.next() != Some('\n') {
                    return Err("CR without LF".into());
                }
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                at_field_start = true;
            }
            '\n' => return Err("bare LF outside quotes".into()),
            c => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    if !field.is_empty() || !record.is_empty() {
        return Err("last record does not end with CRLF".into());
    }
    Ok(records)
}

#[test]
fn the_reader_is_strict() {
    assert_eq!(
        parse("a,\"b,\"\"c\"\"\r\nd\"\r\n"),
        Ok(vec![vec!["a".to_owned(), "b,\"c\"\r\nd".to_owned()]])
    );
    assert!(parse("a\"b\r\n").is_err());
    assert!(parse("a\nb\r\n").is_err());
    assert!(parse("\"a\r\n").is_err());
}

/// A value as docs/reports.md says the CSV report writes it: a field that
/// starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading
/// `'` (spreadsheets run it as a formula otherwise); any other is as it is.
/// Written from the documentation, not with the code's own function.
fn as_documented(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

#[test]
fn one_row_per_finding_under_the_header() {
    let (text, code) = render("csv");
    assert_eq!(code, 1);
    let records = parse(&text).expect("RFC 4180");
    let header: Vec<&str> = records[0].iter().map(String::as_str).collect();
    assert_eq!(
        header,
        [
            "rule",
            "status",
            "severity",
            "failing",
            "image_id",
            "image_name",
            "message",
            "file",
            "line",
            "column",
            "waiver_reason"
        ]
    );
    let report = json();
    let findings = report["findings"].as_array().expect("findings");
    assert_eq!(records.len() - 1, findings.len());
    for (row, finding) in records[1..].iter().zip(findings) {
        assert_eq!(row.len(), 11, "{row:?}");
        assert_eq!(row[0], finding["rule"].as_str().unwrap_or_default());
        assert_eq!(row[1], finding["status"].as_str().unwrap_or_default());
        assert_eq!(row[2], finding["severity"].as_str().unwrap_or_default());
        assert_eq!(row[3], finding["failing"].to_string());
        assert_eq!(
            row[4],
            finding["image"]["ImageId"].as_str().unwrap_or_default()
        );
        assert_eq!(
            row[5],
            as_documented(finding["image"]["ImageName"].as_str().unwrap_or_default())
        );
        assert_eq!(
            row[6],
            as_documented(finding["message"].as_str().unwrap_or_default())
        );
        assert_eq!(
            row[7],
            finding["location"]["file"].as_str().unwrap_or_default()
        );
        assert_eq!(row[8], finding["location"]["line"].to_string());
        assert_eq!(row[9], finding["location"]["column"].to_string());
        assert_eq!(
            row[10],
            finding["waiver"]["reason"].as_str().unwrap_or_default()
        );
    }
    // The hostile name survives the round trip whole.
    assert!(
        records
            .iter()
            .any(|r| r[5] == "pipe|comma,quote\"name\nsecond line")
    );
    assert!(records.iter().any(|r| r[6].contains("视频转码节点镜像")));
    // A formula in a name is defused, not run by a spreadsheet.
    assert!(
        records
            .iter()
            .any(|r| r[5] == "'=SUM(1+1)*cmd|' /C calc'!A0")
    );
}

#[test]
fn formula_cells_are_defused() {
    use ecmguard::report::csv::quote;
    assert_eq!(defuse("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
    assert_eq!(defuse("+1"), "'+1");
    assert_eq!(quote(&defuse("-2,3")), "\"'-2,3\"");
    assert_eq!(defuse("img-1"), "img-1");
}
